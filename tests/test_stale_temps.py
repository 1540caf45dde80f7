"""What a `kill -9` leaves behind is cleaned on the next run: emsync's temp folders and files carry
their process id, and a stage's start removes those whose process is gone (below its outputs and in
the system temp folder), never a live run's nor anything else."""

import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

from emsync.pipeline.runguard import sweep_stage_temps

ROOT = Path(__file__).resolve().parents[1]

CHILD = """
import os, sys, time
from pathlib import Path
from emsync.core.io import atomic_path, temp_dir
out, tmp = Path(sys.argv[1]), Path(sys.argv[2])
(out / "v1").mkdir(parents=True, exist_ok=True)
keep = [temp_dir(".tmp-", dir=out / "v1"), temp_dir("emsync-render-", dir=tmp)]  # as the soundtrack stage and render make them
with atomic_path(out / "v1" / "emsync.mp4") as part:
    part.write_bytes(b"half a video")
    print("ready", flush=True)
    time.sleep(600)
"""


def _killed_run(out: Path, tmp: Path):
    """A process that made the stage's temp folders and a half-written output, then got kill -9."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    p = subprocess.Popen([sys.executable, "-c", CHILD, str(out), str(tmp)], stdout=subprocess.PIPE, text=True, env=env)
    assert p.stdout.readline().strip() == "ready"
    os.kill(p.pid, signal.SIGKILL)
    p.wait()
    return p.pid


def test_a_stage_start_removes_a_killed_runs_temps_only(tmp_path, monkeypatch):
    (tmp_path / "dvc.yaml").write_text("stages:\n  soundtrack:\n    cmd: x\n    outs:\n      - data/soundtrack\n")
    out, tmp = tmp_path / "data" / "soundtrack", tmp_path / "systmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    monkeypatch.setenv("EMSYNC_ROOT", str(tmp_path))
    monkeypatch.setenv("EMSYNC_PARAMS", str(tmp_path / "none.yaml"))  # dvc.yaml's literal paths
    pid = _killed_run(out, tmp)
    left = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if str(pid) in p.name)
    assert len(left) == 3, left  # .tmp-<pid>-*, emsync-render-<pid>-*, .emsync.mp4.<pid>-*.mp4
    (out / "v1" / "emsync.json").write_text("{}")  # a finished output
    (out / "v1" / ".tmp-notes").mkdir()  # no process id: not ours to judge
    live = tempfile.TemporaryDirectory(prefix=f".tmp-{os.getpid()}-", dir=out / "v1")  # a running stage's
    removed = sweep_stage_temps("soundtrack", tmp_path)
    assert sorted(str(p.relative_to(tmp_path)) for p in removed) == left
    assert not any(str(pid) in p.name for p in tmp_path.rglob("*"))
    assert (out / "v1" / "emsync.json").exists() and (out / "v1" / ".tmp-notes").exists() and Path(live.name).exists()
    live.cleanup()
