"""Runs do not trample each other: a flow shares DVC's repository lock, refuses
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
from emsync.core import env
from emsync.pipeline.runguard import enter_stage
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
            "from emsync.core import env; env.apply_defaults(); from emsync.pipeline.runguard import enter_stage; "
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


def _project(tmp_path, params=None):
    """A copy of this checkout's pipeline (dvc.yaml, params) with an empty DVC folder: what a clone
    holds before its first run. Its own lock, so the checkout's is never touched."""
    proj = tmp_path / "proj"
    (proj / ".dvc" / "tmp").mkdir(parents=True)
    shutil.copy(ROOT / "dvc.yaml", proj / "dvc.yaml")
    shutil.copy(ROOT / "params.yaml", proj / "params.yaml")
    if params:
        (proj / "mine.yaml").write_text(params)
    return proj


def _emsync_run_store(proj, **env):
    env = {k: v for k, v in os.environ.items() if k not in ("DVC_STAGE", "EMSYNC_PARAMS", "EMSYNC_ROOT")} | env
    env["PYTHONPATH"] = str(ROOT)
    return subprocess.run([sys.executable, "-m", "emsync", "run", "store"], cwd=proj, env=env, capture_output=True, text=True, timeout=180)


def test_emsync_run_refuses_while_the_lock_is_held(tmp_path):
    """`emsync run store` in a project while its output is claimed in DVC's lock, as `dvc repro`
    claims it while the store stage runs: refused before any work."""
    from dvc.fs import localfs
    from dvc.rwlock import rwlock

    from emsync.core.config import load_params
    from emsync.pipeline.runguard import stage_outputs

    proj = _project(tmp_path)
    outs = stage_outputs("store", proj, load_params(proj / "params.yaml"))
    assert outs == [str(proj / "data" / "emsync.duckdb")]
    with rwlock(str(proj / ".dvc" / "tmp"), localfs, "dvc repro", [], outs, False):
        r = _emsync_run_store(proj)
    err = r.stderr.strip().splitlines()
    assert r.returncode == 1 and len(err) == 1, r.stderr
    assert "store: another run holds the pipeline lock on data/emsync.duckdb" in err[0] and "dvc repro" in err[0]
    assert not (proj / "data" / "emsync.duckdb").exists()


def test_the_lock_covers_what_the_active_params_write(tmp_path):
    """A run whose params send the store to data2/ claims data2/emsync.duckdb, not dvc.yaml's
    data/emsync.duckdb: it runs while data/ is claimed, and is refused while data2/ is."""
    from dvc.fs import localfs
    from dvc.rwlock import rwlock

    proj = _project(tmp_path, "paths: {data_dir: data2, store: data2/emsync.duckdb}\n")
    with rwlock(str(proj / ".dvc" / "tmp"), localfs, "dvc repro", [], [str(proj / "data" / "emsync.duckdb")], False):
        r = _emsync_run_store(proj, EMSYNC_PARAMS=str(proj / "mine.yaml"))
    assert r.returncode == 0, r.stderr
    assert (proj / "data2" / "emsync.duckdb").is_file() and not (proj / "data").exists()
    with rwlock(str(proj / ".dvc" / "tmp"), localfs, "dvc repro", [], [str(proj / "data2")], False):
        r = _emsync_run_store(proj, EMSYNC_PARAMS=str(proj / "mine.yaml"))
    assert r.returncode == 1 and "another run holds the pipeline lock on data2/emsync.duckdb" in r.stderr


def test_every_stage_claims_its_dvc_yaml_outputs_under_the_projects_own_params():
    """With the checkout's params.yaml the claimed paths are dvc.yaml's (templates filled in)."""
    import yaml

    from emsync.core.config import load_params
    from emsync.pipeline.runguard import stage_outputs

    params = load_params(ROOT / "params.yaml")
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert len(stages) > 20
    for stage in stages:
        literal, active = stage_outputs(stage, ROOT), stage_outputs(stage, ROOT, params)
        assert set(literal) <= set(active), stage
        assert all(Path(p).is_relative_to(ROOT) for p in active), stage
    assert stage_outputs("train_emotion", ROOT, params)[0] == str(ROOT / "data" / "models" / "emotion" / "checkpoint.pt")
    assert stage_outputs("features_clip", ROOT, params)[0] == str(ROOT / "data" / "features" / "clip")
