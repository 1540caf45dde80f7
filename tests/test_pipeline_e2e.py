"""The README's main command on a fresh clone: `dvc repro` over the embedded demo data, offline
(the session's `demo_pipeline`: a clone with the CI params overlay, after a SIGKILLed demo_data run).
Every test that reads it lives in this file, so one xdist worker builds it (tests/conftest.py).

First the stages' outputs, held against what the demo generator planted (the stage tests with their
own small inputs, test_labeling_flow, test_features_flow, test_soundtrack_stage, ..., check the bad
cases; these check the stages as the README's command runs them); then the pipeline itself:
  1. the killed-and-resumed stage's output hash equals the committed dvc.lock (an uninterrupted run);
  2. a second `dvc repro` has nothing to do;
  3. the feature store has a view for every Parquet table; `dvc dag`, push and pull work offline;
  4. `emsync generate` makes a multi-instrument MIDI with the demo checkpoint.
"""

import json
import shutil
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml

from _pipeline import run
from _root import ROOT

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
    """With the CI overlay the stage scores the first demo video under the four §6.3 conditions;
    the full condition is conditioned on the VEMOCLAP that train_emotion just trained."""
    table = pd.read_parquet(demo_pipeline.data / "soundtrack" / "soundtrack.parquet")
    assert sorted(set(table.video_id)) == ["demo00"]
    assert sorted(table.condition) == sorted(["emsync", "no_boundaries", "neutral", "random_emotion"])
    full = table[table.condition == "emsync"]
    assert set(full.emotion_source) == {"classifier"}
    for row in table.itertuples():
        assert (demo_pipeline.data / row.mp4_path).stat().st_size > 0
    assert "| emsync |" in (demo_pipeline.reports / "soundtrack.md").read_text()


def _lock_hash(lock_path, stage, out):
    lock = yaml.safe_load(Path(lock_path).read_text())
    for o in lock["stages"][stage]["outs"]:
        if o["path"] == out:
            return o["md5"]
    raise KeyError(out)


def test_a_killed_stage_resumes_to_the_uninterrupted_output(demo_pipeline):
    assert demo_pipeline.killed_mid_run, "demo_data finished before it could be killed"
    assert not demo_pipeline.killed_left_report
    clone = demo_pipeline.root
    assert _lock_hash(clone / "dvc.lock", "demo_data", "data/demo") == _lock_hash(ROOT / "dvc.lock", "demo_data", "data/demo")
    print(f"\ndvc repro of the demo pipeline (CI overlay): {demo_pipeline.seconds:.0f} s")


def test_a_second_repro_has_nothing_to_do(demo_pipeline):
    r = run(["dvc", "repro"], cwd=demo_pipeline.root)
    assert "Data and pipelines are up to date" in r.stdout + r.stderr


def test_store_dag_push_and_pull(demo_pipeline):
    from emsync.pipeline import store

    clone = demo_pipeline.root
    expected = set(store.discover_tables(clone / "data"))  # view names depend only on the data tree
    out = run([sys.executable, "-m", "emsync", "sql", "SHOW TABLES"], cwd=clone).stdout
    listed = {line.strip() for line in out.splitlines()[1:]}
    assert expected and expected <= listed, f"views missing: {expected - listed}"
    for view in ("labeling_labels", "labeling_rejects", "tokens_index", "features_cuts"):
        assert view in listed

    dag = run(["dvc", "dag"], cwd=clone).stdout
    for stage in ("demo_data", "labeling", "tokens", "train", "store"):
        assert stage in dag
    # push, then pull into a second clone beside it (the remote is a folder beside the clones, so
    # the same relative URL reaches it); the shared clone stays as it is
    run(["dvc", "push"], cwd=clone)
    other = clone.parent / "emsync-pulled"
    try:
        run(["git", "clone", "--quiet", str(clone), str(other)], cwd=clone.parent)
        for f in ("dvc.yaml", "dvc.lock", "params.yaml"):  # the clone's working tree, not only its commit
            shutil.copy(clone / f, other / f)
        run(["dvc", "pull", "data/labeling"], cwd=other)
        labels = "data/labeling/labels.parquet"
        assert (other / labels).read_bytes() == (clone / labels).read_bytes()
    finally:
        shutil.rmtree(other, ignore_errors=True)


def test_the_demo_checkpoint_generates_music(demo_pipeline, tmp_path):
    import pretty_midi

    midi = tmp_path / "out.mid"
    ckpt = demo_pipeline.params["train"]["checkpoint"]  # the one train wrote (generate.checkpoint is the packaged model)
    args = ["generate", "--checkpoint", ckpt, "--valence", "0.5", "--arousal", "-0.3", "--duration", "20", "--boundaries", "4,11"]
    args += ["--seed", "1", "-o", str(midi)]
    run([sys.executable, "-m", "emsync", *args], cwd=demo_pipeline.root)
    pm = pretty_midi.PrettyMIDI(str(midi))
    assert len([i for i in pm.instruments if i.notes]) >= 2
    assert 15.0 <= pm.get_end_time() <= 25.0
