"""The demo_data flow end to end: the data/demo layout, a re-run that is all cache hits and
byte-identical outputs. Runs `python -m flows.demo_data` exactly as the DVC stage does."""

import hashlib
import json

import pytest
import yaml


pytestmark = pytest.mark.slow


def _hashes(root):
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest() for p in sorted(root.rglob("*")) if p.is_file()}


def test_flow_builds_layout_and_reruns_from_cache(tmp_path, run_flow):
    out, reports = tmp_path / "demo", tmp_path / "reports"
    params = tmp_path / "params.yaml"
    params.write_text(
        yaml.safe_dump(
            {
                "paths": {"reports_dir": "reports"},
                "demo_data": {
                    "out_dir": "demo",
                    "seed": 5,
                    "n_midi": 12,
                    "n_duplicates": 2,
                    "n_corrupt": 1,
                    "n_truncated": 1,
                    "n_zero_notes": 1,
                    "n_videos": 3,
                    "video_min_s": 4.0,
                    "video_max_s": 6.0,
                    "n_audio": 1,
                    "n_text": 40,
                },
            }
        )
    )
    run_flow("demo_data", params, tmp_path / "results")
    first = json.loads((reports / "runs" / "demo_data.json").read_text())
    n_midi_files = 12 + 2 + 1 + 1 + 1 + 1  # ok, duplicates, corrupt, truncated, zero-note, empty
    assert first["tasks"] == n_midi_files + 1 + 3 + 1 + 1 and first["cache_hits"] == 0  # + tables, videos, audio, text
    assert not first["skipped"]
    for rel in [
        "lmd/msd_metadata.parquet",
        "lmd/match_scores.json",
        "lmd/echonest_to_spotify.csv",
        "lmd/spotify_features.csv",
        "lmd/spotify_catalog.json",
        "goemotions/train.tsv",
        "goemotions/dev.tsv",
        "goemotions/test.tsv",
        "goemotions/emotions.txt",
        "ground_truth/midi.json",
        "ground_truth/lmd.json",
        "ground_truth/videos.json",
        "ground_truth/audio.json",
        "videos/demo00.mp4",
        "videos/demo02.mp4",
    ]:
        assert (out / rel).is_file(), rel
    midi_gt = json.loads((out / "ground_truth" / "midi.json").read_text())
    assert sorted(p.stem for p in (out / "midi").glob("*.mid")) == sorted(midi_gt["files"])
    audio_gt = json.loads((out / "ground_truth" / "audio.json").read_text())
    assert [p.stem for p in (out / "audio").glob("*.wav")] == list(audio_gt)
    before = _hashes(out)

    run_flow("demo_data", params, tmp_path / "results")
    second = json.loads((reports / "runs" / "demo_data.json").read_text())
    assert second["all_cached"] and second["cache_hits"] == first["tasks"]
    assert _hashes(out) == before
