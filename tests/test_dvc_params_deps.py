"""dvc.yaml data deps follow the active parameter set (DVC params templating, `${labeling.midi_dir}`):
switching sets changes the paths `dvc status` tracks."""

import json
import shutil
import subprocess

import pytest

from _root import ROOT


def _changed_deps(workdir) -> dict:
    r = subprocess.run(["dvc", "status", "--json"], cwd=workdir, capture_output=True, text=True, timeout=120, check=False)
    assert r.returncode == 0, r.stderr
    out = {}
    for stage, entries in json.loads(r.stdout).items():
        for e in entries:
            if isinstance(e, dict) and "changed deps" in e:
                out[stage] = set(e["changed deps"])
    return out


@pytest.mark.skipif(shutil.which("dvc") is None, reason="dvc not installed")
def test_switching_parameter_sets_switches_the_tracked_data_paths(tmp_path):
    subprocess.run(["dvc", "init", "--no-scm", "-q"], cwd=tmp_path, check=True, timeout=60)
    shutil.copy(ROOT / "dvc.yaml", tmp_path / "dvc.yaml")
    shutil.copy(ROOT / "params" / "demo.yaml", tmp_path / "params.yaml")
    demo = _changed_deps(tmp_path)
    shutil.copy(ROOT / "params" / "thesis.yaml", tmp_path / "params.yaml")
    thesis = _changed_deps(tmp_path)

    assert {"data/demo/midi", "data/demo/lmd/match_scores.json", "data/demo/lmd/spotify_features.csv"} <= demo["labeling"]
    assert {
        "data/lmd_full",
        "data/lmd_matched/match_scores.json",
        "data/lmd_matched/msd_metadata.parquet",
        "data/lmd_matched/echonest_to_spotify.csv",
    } <= thesis["labeling"]
    assert any(d.endswith("lakh_spotify/cleansed_features.csv") for d in thesis["labeling"])
    assert not any(d.startswith("data/demo") for d in thesis["labeling"] | thesis["tokens"] | thesis["features_clip"])
    assert "data/demo/midi" in demo["tokens"] and "data/lpd_5/lpd_5_full" in thesis["tokens"]
    assert "data/labeling/labels.parquet" in thesis["tokens"]  # the §3.1 unique list
    for stage in ("features_clip", "features_tokens"):  # every extractor stage
        assert {"data/demo/videos", "data/demo_models"} <= demo[stage]
        assert {"data/videos", "data/pretrained"} <= thesis[stage]
    assert "data/demo/videos" in demo["features_cuts"] and "data/videos" in thesis["features_cuts"]
    for stage in ("train", "evaluate"):
        assert "data/tokens" in thesis[stage]
    assert "data/models/music/checkpoint.pt" in thesis["evaluate"]
