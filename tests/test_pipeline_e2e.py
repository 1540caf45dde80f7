"""The README's main command on a fresh clone: `dvc repro` over the embedded demo data, offline
(the session's `demo_pipeline`: a clone with the CI params overlay, after a SIGKILLed demo_data run).

  1. the killed-and-resumed stage's output hash equals the committed dvc.lock (an uninterrupted run);
  2. a second `dvc repro` has nothing to do;
  3. the feature store has a view for every Parquet table; `dvc dag`, push and pull work offline;
  4. `emsync generate` makes a multi-instrument MIDI with the demo checkpoint.
"""

import shutil
import sys
from pathlib import Path

import pytest
import yaml

from _pipeline import run
from _root import ROOT

pytestmark = pytest.mark.slow


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
    args = ["generate", "--valence", "0.5", "--arousal", "-0.3", "--duration", "20", "--boundaries", "4,11", "--seed", "1", "-o", str(midi)]
    run([sys.executable, "-m", "emsync", *args], cwd=demo_pipeline.root)
    pm = pretty_midi.PrettyMIDI(str(midi))
    assert len([i for i in pm.instruments if i.notes]) >= 2
    assert 15.0 <= pm.get_end_time() <= 25.0
