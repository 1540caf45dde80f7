"""Runs do not trample each other (issue 10 item 7): a flow shares DVC's repository lock, refuses
with one line while a `dvc repro` holds it, and exits when its parent (`dvc repro`) is killed."""

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not shutil.which("dvc"), reason="dvc not installed")

STAGE = """import os, sys, time
from emsync import env
from emsync.runguard import enter_stage
env.apply_defaults()
enter_stage("toy", os.getcwd())  # under dvc repro: DVC holds the lock for us
open("started", "w").write(str(os.getpid()))
time.sleep(float(sys.argv[1]))
open("out.txt", "w").write("done")
"""


def _repo(tmp_path, seconds):
    repo = tmp_path / "repo"
    repo.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1"}
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=repo, check=True, env=env)
    (repo / "stage.py").write_text(STAGE)
    (repo / "dvc.yaml").write_text(
        f"stages:\n  toy:\n    cmd: {sys.executable} stage.py {seconds}\n    deps:\n      - stage.py\n    outs:\n      - out.txt\n"
    )
    return repo, env


def _wait_for(path, timeout=60):
    t0 = time.time()
    while not path.exists():
        assert time.time() - t0 < timeout, f"{path} never appeared"
        time.sleep(0.2)
    time.sleep(0.2)
    return path.read_text()


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie nobody reaps has exited too
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


@pytest.mark.slow
def test_a_direct_run_is_refused_while_dvc_repro_holds_the_lock(tmp_path):
    repo, env = _repo(tmp_path, 30)
    dvc = subprocess.Popen(["dvc", "repro"], cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for(repo / "started")  # the stage itself got past enter_stage under dvc
        code = (
            "from emsync import env; env.apply_defaults(); from emsync.runguard import enter_stage; "
            f"enter_stage('toy', {str(repo)!r}); open('direct.txt', 'w').write('trampled')"
        )
        r = subprocess.run([sys.executable, "-c", code], cwd=repo, env=env, capture_output=True, text=True, timeout=60)
        err = r.stderr.strip().splitlines()
        assert r.returncode == 1 and len(err) == 1, r.stderr
        assert err[0].startswith("emsync: error: toy: another run holds the pipeline lock on out.txt (PID ")
        assert "dvc repro" in err[0] and ".dvc/tmp/rwlock" in err[0]
        assert not (repo / "direct.txt").exists()
    finally:
        dvc.kill()
        dvc.wait()


@pytest.mark.slow
def test_dvc_repro_refuses_while_a_direct_run_holds_the_outputs(tmp_path):
    repo, env = _repo(tmp_path, 30)
    direct = subprocess.Popen([sys.executable, "stage.py", "30"], cwd=repo, env=env, stderr=subprocess.PIPE)
    try:
        _wait_for(repo / "started")
        r = subprocess.run(["dvc", "repro"], cwd=repo, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode != 0 and "is busy" in r.stderr and "emsync run toy" in r.stderr, r.stderr[-2000:]
    finally:
        direct.kill()
        direct.wait()


@pytest.mark.slow
@pytest.mark.parametrize("shell", ["/bin/sh", "/bin/bash"])
def test_kill_9_of_dvc_repro_ends_the_flow(tmp_path, shell):
    """DVC runs the stage through `$SHELL -c`; dash forks (the shell sits between dvc and the
    flow and is reparented, not killed), bash execs. Either way the flow ends."""
    if not Path(shell).exists():
        pytest.skip(f"{shell} missing")
    repo, env = _repo(tmp_path, 120)
    env["SHELL"] = shell
    dvc = subprocess.Popen(["dvc", "repro"], cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    pid = int(_wait_for(repo / "started"))
    assert _alive(pid)
    os.kill(dvc.pid, signal.SIGKILL)
    dvc.wait()
    t0 = time.time()
    while _alive(pid) and time.time() - t0 < 20:
        time.sleep(0.2)
    alive = _alive(pid)
    if alive:
        os.kill(pid, signal.SIGKILL)
    assert not alive, "the flow outlived dvc repro"
    assert not (repo / "out.txt").exists()


def test_emsync_run_refuses_while_the_lock_is_held():
    """`emsync run store` in this checkout while its output is claimed in DVC's lock, as
    `dvc repro` claims it while the store stage runs: refused before any work."""
    from dvc.fs import localfs
    from dvc.rwlock import rwlock

    from emsync.runguard import stage_outputs

    if not (ROOT / ".dvc").is_dir():
        pytest.skip("not a DVC checkout")
    outs = stage_outputs("store", ROOT)
    assert outs == [str(ROOT / "data" / "emsync.duckdb")]
    before = Path(outs[0]).stat().st_mtime_ns if Path(outs[0]).exists() else None
    (ROOT / ".dvc" / "tmp").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k != "DVC_STAGE"}
    with rwlock(str(ROOT / ".dvc" / "tmp"), localfs, "dvc repro", [], outs, False):
        r = subprocess.run([sys.executable, "-m", "emsync", "run", "store"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(err) == 1, r.stderr
    assert "store: another run holds the pipeline lock on data/emsync.duckdb" in err[0] and "dvc repro" in err[0]
    assert (Path(outs[0]).stat().st_mtime_ns if Path(outs[0]).exists() else None) == before
