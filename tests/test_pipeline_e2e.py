"""The README's main command on a fresh clone: `dvc repro` over the embedded demo data, offline.

One test, in stages, because every step needs the previous one's outputs:
  1. SIGKILL the demo_data flow mid-run (a real stage), then `dvc repro` the whole DAG;
  2. the killed-and-resumed stage's output hash equals the committed dvc.lock (an uninterrupted run);
  3. a second `dvc repro` has nothing to do;
  4. the feature store has a view for every Parquet table; `dvc dag`, push and pull work offline;
  5. `emsync generate` makes a multi-instrument MIDI with the demo checkpoint.
"""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

from _root import ROOT

pytestmark = pytest.mark.slow


def _env():
    env = dict(os.environ)
    for k in ("PREFECT_LOCAL_STORAGE_PATH", "EMSYNC_REPORTS_DIR", "EMSYNC_PARAMS", "PREFECT_API_URL"):
        env.pop(k, None)  # the clone keeps its own cache and reports, as a user's would
    return env


def _run(args, cwd, timeout=1800):
    r = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, args))} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def _lock_hash(lock_path, stage, out):
    lock = yaml.safe_load(Path(lock_path).read_text())
    for o in lock["stages"][stage]["outs"]:
        if o["path"] == out:
            return o["md5"]
    raise KeyError(out)


@pytest.fixture(scope="module")
def clone(tmp_path_factory):
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout")
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("no commit to clone")
    dest = tmp_path_factory.mktemp("e2e") / "emsync"
    _run(["git", "clone", "--quiet", str(ROOT), str(dest)], cwd=dest.parent)
    return dest


def test_dvc_repro_on_a_fresh_clone(clone):
    # 1. a real stage killed mid-run
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.demo_data"],
        cwd=clone,
        env=_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    results = clone / "data" / "prefect_results"
    deadline = time.time() + 600
    while time.time() < deadline and proc.poll() is None and len(list(results.glob("*"))) < 40:
        time.sleep(0.2)
    killed_mid_run = proc.poll() is None
    if killed_mid_run:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert killed_mid_run, "demo_data finished before it could be killed"
    assert not (clone / "reports" / "runs" / "demo_data.json").exists()

    t0 = time.time()
    _run(["dvc", "repro"], cwd=clone, timeout=3600)
    first = time.time() - t0

    # 2. resumed output == uninterrupted output (the committed lock was made by a clean run)
    assert _lock_hash(clone / "dvc.lock", "demo_data", "data/demo") == _lock_hash(ROOT / "dvc.lock", "demo_data", "data/demo")

    # 3. nothing left to do
    t0 = time.time()
    r = _run(["dvc", "repro"], cwd=clone)
    second = time.time() - t0
    assert "Data and pipelines are up to date" in r.stdout + r.stderr
    print(f"\nfirst dvc repro {first:.0f} s, second {second:.1f} s")

    # 4. the feature store lists every Parquet table; DVC's dag, push and pull work offline
    from emsync import store

    expected = set(store.discover_tables(clone / "data"))  # view names depend only on the data tree
    out = _run([sys.executable, "-m", "emsync", "sql", "SHOW TABLES"], cwd=clone).stdout
    listed = {line.strip() for line in out.splitlines()[1:]}
    assert expected and expected <= listed, f"views missing: {expected - listed}"
    for view in ("labeling_labels", "labeling_rejects", "tokens_index", "features_cuts"):
        assert view in listed

    dag = _run(["dvc", "dag"], cwd=clone).stdout
    for stage in ("demo_data", "labeling", "tokens", "train", "store"):
        assert stage in dag
    _run(["dvc", "push"], cwd=clone)
    labels = clone / "data" / "labeling" / "labels.parquet"
    before = labels.read_bytes()
    shutil.rmtree(clone / "data" / "labeling")
    shutil.rmtree(clone / ".dvc" / "cache")
    _run(["dvc", "pull"], cwd=clone)
    assert labels.read_bytes() == before

    # 5. the demo checkpoint generates music on CPU
    midi = clone / "out.mid"
    _run(
        [
            sys.executable,
            "-m",
            "emsync",
            "generate",
            "--valence",
            "0.5",
            "--arousal",
            "-0.3",
            "--duration",
            "20",
            "--boundaries",
            "4,11",
            "--seed",
            "1",
            "-o",
            str(midi),
        ],
        cwd=clone,
    )
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(midi))
    assert len([i for i in pm.instruments if i.notes]) >= 2
    assert 15.0 <= pm.get_end_time() <= 25.0
