"""The real stages' outputs on the demo data, read from the session's `demo_pipeline` (one `dvc
repro` for the whole session) and held against what the demo generator planted: the stage tests
with their own small inputs (test_labeling_flow, test_features_flow, test_soundtrack_stage, ...)
check the bad cases; these check the stages as the README's command runs them."""

import json

import pandas as pd
import pytest

pytestmark = pytest.mark.slow


def test_labeling_rejects_the_planted_broken_files_and_collapses_the_duplicates(demo_pipeline):
    gt = json.loads((demo_pipeline.data / "demo" / "ground_truth" / "midi.json").read_text())
    out = demo_pipeline.data / "labeling"
    files, rejects, labels = (pd.read_parquet(out / f"{t}.parquet") for t in ("files", "rejects", "labels"))
    assert set(rejects["midi_id"]) == {m for m, e in gt["files"].items() if e["kind"] not in ("ok", "duplicate")}
    n_dups = sum(len(g) - 1 for g in gt["duplicate_groups"])
    assert int(files["is_unique"].sum()) == len(files) - n_dups == len(labels)
    assert labels["valence"].dropna().between(-1, 1).all()


def test_scene_cuts_are_the_planted_cuts(demo_pipeline):
    """features_cuts (§5.1, FFmpeg's scene score) on the 12 demo videos: every planted hard cut
    found within one frame, and nothing else."""
    gt = json.loads((demo_pipeline.data / "demo" / "ground_truth" / "videos.json").read_text())
    cuts = pd.read_parquet(demo_pipeline.data / "features" / "cuts.parquet").set_index("video_id")
    assert sorted(cuts.index) == sorted(gt)
    for vid, e in gt.items():
        assert list(cuts.loc[vid, "cuts"]) == pytest.approx(e["cuts"], abs=1 / e["fps"] + 1e-3), vid


def test_the_soundtrack_stage_uses_the_pipelines_emotion_classifier(demo_pipeline):
    """With the CI overlay the stage scores the first 2 demo videos under the four §6.3 conditions;
    the full condition is conditioned on the VEMOCLAP that train_emotion just trained."""
    table = pd.read_parquet(demo_pipeline.data / "soundtrack" / "soundtrack.parquet")
    assert sorted(set(table.video_id)) == ["demo00", "demo01"]
    assert sorted(table.condition) == sorted(["emsync", "no_boundaries", "neutral", "random_emotion"] * 2)
    full = table[table.condition == "emsync"]
    assert set(full.emotion_source) == {"classifier"}
    for row in table.itertuples():
        assert (demo_pipeline.data / row.mp4_path).stat().st_size > 0
    assert "| emsync |" in (demo_pipeline.reports / "soundtrack.md").read_text()
