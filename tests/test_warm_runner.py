"""The warm runner (emsync/pipeline/warm.py) under a real `dvc repro`: the second flow stage starts
it and runs cold, later stages are forked from it with their own argv, folder, environment,
streams and exit status; killing a stage process ends the stage; the runner ends with `dvc`.

A toy project whose `flows` package has the same hook as ours (flows/__init__.py); the runner
preloads one small module (EMSYNC_WARM_PRELOAD) whose presence tells a warm stage from a cold one."""

import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not shutil.which("dvc"), reason="dvc not installed")]

HOOK = "from emsync.pipeline.warm import hand_over\n\nhand_over(__name__)\n"
PROBE = """import gc, json, os, sys, time
warm = "colorsys" in sys.modules  # imported before this module ran: by the runner (EMSYNC_WARM_PRELOAD)
from emsync.pipeline import process_tree, warm as w
from emsync.pipeline.runguard import enter_stage
name, code = sys.argv[1], int(sys.argv[2])
if name == "starter":  # the second flow stage starts the runner: wait until it serves
    path = w.socket_path(process_tree.dvc_process())
    for _ in range(600):
        if path.exists():
            break
        time.sleep(0.2)
enter_stage(name, os.getcwd())
print(f"probe {name} says hello")
json.dump({"warm": warm, "pid": os.getpid(), "ppid": os.getppid(), "dvc": process_tree.dvc_process(),
           "origin": process_tree._origin, "socket": str(w.socket_path(process_tree.dvc_process())), "argv": sys.argv, "cwd": os.getcwd(), "stage": os.environ.get("DVC_STAGE"), "marker": os.environ.get("WARM_TEST_MARKER"), "frozen": gc.get_freeze_count()},
          open(f"{name}.json", "w"))
if name == "sleeper":
    time.sleep(120)
if code:
    sys.exit(f"probe {name} fails with {code}" if code == 7 else code)
"""


def _repo(tmp_path, stages, **env_extra):
    """A git+dvc repo with a `flows` package (the hook + flows/probe.py) and these stages:
    [(name, exit code)] or [(name, exit code, variables set for its command)], run in this order."""
    repo = tmp_path / "repo"
    (repo / "flows").mkdir(parents=True)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DVC_NO_ANALYTICS": "1",
        "WARM_TEST_MARKER": "m-42",
        "EMSYNC_WARM_PRELOAD": "colorsys",
        **env_extra,
    }
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=repo, check=True, env=env)
    (repo / "flows" / "__init__.py").write_text(HOOK)
    (repo / "flows" / "probe.py").write_text(PROBE)
    lines, prev = ["stages:"], None
    for name, code, *before in stages:
        lines += [
            f"  {name}:",
            f"    cmd: {' '.join(before)} python -m flows.probe {name} {code}".replace(":  ", ": "),
            "    outs:",
            f"      - {name}.json",
        ]
        if prev:
            lines += ["    deps:", f"      - {prev}.json"]
        prev = name
    (repo / "dvc.yaml").write_text("\n".join(lines) + "\n")
    return repo, env


def _runner_gone(probe, timeout=15):
    """The run's runner process has ended and its socket is gone."""
    t0 = time.time()
    while time.time() - t0 < timeout:
        found = subprocess.run(["pgrep", "-f", f"--socket {probe['socket']}"], capture_output=True, text=True).stdout.split()
        if not found and not Path(probe["socket"]).exists():
            return True
        time.sleep(0.3)
    return False


def test_later_stages_run_warm_with_their_own_argv_env_and_streams(tmp_path):
    repo, env = _repo(tmp_path, [("first", 0), ("starter", 0), ("second", 0), ("third", 0), ("fourth", 0, "OMP_NUM_THREADS=3")])
    r = subprocess.run(["dvc", "repro"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    first, starter, second, third = (json.loads((repo / f"{n}.json").read_text()) for n in ("first", "starter", "second", "third"))
    assert not first["warm"] and not starter["warm"] and second["warm"] and third["warm"]
    for name, p in (("second", second), ("third", third)):
        assert p["argv"][1:] == [name, "0"] and p["cwd"] == str(repo) and p["stage"] == name and p["marker"] == "m-42"
        assert p["dvc"] == first["dvc"]  # the same `dvc` process stands above the forked stage
        assert f"probe {name} says hello" in r.stdout  # its stdout is the stage's
    assert second["pid"] != third["pid"] and second["origin"] != third["origin"]
    # the runner's objects are out of the forked stages' collections (warm.prime); a cold stage's are not
    assert first["frozen"] == starter["frozen"] == 0 and second["frozen"] > 1000 and third["frozen"] > 1000
    # a stage whose import-time settings differ from the runner's (a thread count) starts cold
    assert not json.loads((repo / "fourth.json").read_text())["warm"]
    assert _runner_gone(second), "the warm runner outlived dvc repro"


def test_a_failing_warm_stage_fails_the_repro_with_its_message(tmp_path):
    repo, env = _repo(tmp_path, [("first", 0), ("starter", 0), ("second", 7)])
    r = subprocess.run(["dvc", "repro"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode != 0
    assert json.loads((repo / "second.json").read_text())["warm"]
    assert "probe second fails with 7" in r.stdout + r.stderr
    assert "failed to reproduce 'second'" in r.stdout + r.stderr


def test_warm_off_runs_every_stage_cold(tmp_path):
    repo, env = _repo(tmp_path, [("first", 0), ("second", 0), ("third", 0)], EMSYNC_WARM="0")
    r = subprocess.run(["dvc", "repro"], cwd=repo, env=env, capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert not json.loads((repo / "third.json").read_text())["warm"]


def _alive(pid):
    try:
        return "\nState:\tZ" not in Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False


def test_killing_the_stage_process_ends_the_warm_stage(tmp_path):
    repo, env = _repo(tmp_path, [("first", 0), ("starter", 0), ("sleeper", 0)])
    proc = subprocess.Popen(
        ["dvc", "repro"], cwd=repo, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
    )
    try:
        out = repo / "sleeper.json"
        t0 = time.time()
        while not out.exists() or not out.read_text().endswith("}"):
            assert time.time() - t0 < 300, "the sleeper stage never started"
            time.sleep(0.2)
        probe = json.loads(out.read_text())
        assert probe["warm"] and _alive(probe["origin"]), "the stage process that handed over is not running"
        os.kill(probe["origin"], signal.SIGKILL)
        t0 = time.time()
        while _alive(probe["pid"]):
            assert time.time() - t0 < 15, "the forked stage outlived its stage process"
            time.sleep(0.2)
        assert proc.wait(timeout=60) != 0
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert _runner_gone(probe)


DIRECT = """import json, os, sys
warm = "colorsys" in sys.modules
print("direct says hello", flush=True)
print(json.dumps({"warm": warm, "argv": sys.argv, "cwd": os.getcwd(), "marker": os.environ.get("WARM_TEST_MARKER")}))
sys.exit(3)
"""


def _serving_runner(tmp_path, env):
    """A runner of this test process (warm.spawn_runner) once it serves: (process, socket)."""
    from emsync.pipeline import warm

    sock = tmp_path / "runner" / "r.sock"
    sock.parent.mkdir(mode=0o700)
    runner = warm.spawn_runner(os.getpid(), sock, env)
    t0 = time.time()
    while not sock.exists():
        if runner.poll() is not None or time.time() - t0 > 120:
            runner.terminate()
            pytest.fail("the runner did not serve: " + Path(str(sock) + ".log").read_text())
        time.sleep(0.1)
    return runner, sock


def test_a_flow_run_outside_dvc_is_forked_from_the_runner_its_environment_names(tmp_path):
    """EMSYNC_WARM_SOCKET (the test session's own runner, tests/conftest.py): `python -m flows.<x>`
    run directly is forked from that runner with its own argv, folder, environment, streams and
    exit status; with other import-time variables, or the variable empty, it starts cold."""
    from emsync.pipeline import warm

    proj = tmp_path / "proj"
    (proj / "flows").mkdir(parents=True)
    (proj / "flows" / "__init__.py").write_text(HOOK)
    (proj / "flows" / "direct.py").write_text(DIRECT)
    env = {k: v for k, v in os.environ.items() if k not in ("DVC_STAGE", warm.SOCKET_ENV)}
    env.update(PYTHONPATH=str(ROOT), EMSYNC_WARM_PRELOAD="colorsys", WARM_TEST_MARKER="m-7")
    runner, sock = _serving_runner(tmp_path, env)
    try:

        def run(**extra):
            r = subprocess.run(
                [sys.executable, "-m", "flows.direct", "x", "--y"],
                cwd=proj,
                env={**env, warm.SOCKET_ENV: str(sock), **extra},
                capture_output=True,
                text=True,
                timeout=300,
            )
            assert r.returncode == 3 and r.stdout.startswith("direct says hello\n"), r.stdout + r.stderr
            return json.loads(r.stdout.splitlines()[-1])

        p = run()
        assert p == {"warm": True, "argv": [str(proj / "flows" / "direct.py"), "x", "--y"], "cwd": str(proj), "marker": "m-7"}
        assert not run(OMP_NUM_THREADS="5")["warm"]  # other import-time settings: cold
        assert not run(**{warm.SOCKET_ENV: ""})["warm"]
    finally:
        runner.terminate()
        runner.wait(timeout=30)
    assert not sock.exists()


def test_python_m_emsync_outside_dvc_is_forked_from_the_runner_its_environment_names(tmp_path):
    """`python -m emsync <command>` (emsync/__main__.py) hands over as a flow does: with
    EMSYNC_WARM_SOCKET set, the command runs in a fork of that runner, with its own argv, folder,
    streams and exit status; with the variable empty it runs in its own process."""
    from emsync.pipeline import warm

    probe = tmp_path / "probe"
    probe.mkdir()
    # preloaded by the runner only: at exit, a forked command records where it ran
    (probe / "warmprobe.py").write_text(
        "import atexit, json, os, sys\n"
        "atexit.register(lambda: open(os.environ['WARM_PROBE_OUT'], 'a').write(json.dumps({'pid': os.getpid(), 'argv': sys.argv, 'cwd': os.getcwd()}) + '\\n'))\n"
    )
    out = tmp_path / "probe.jsonl"
    env = {k: v for k, v in os.environ.items() if k not in ("DVC_STAGE", warm.SOCKET_ENV)}
    env.update(PYTHONPATH=f"{ROOT}{os.pathsep}{probe}", EMSYNC_WARM_PRELOAD="warmprobe", WARM_PROBE_OUT=str(out))
    good, bad = tmp_path / "good.yaml", tmp_path / "bad.yaml"
    shutil.copy(ROOT / "params.yaml", good)
    bad.write_text((ROOT / "params.yaml").read_text().replace("\n  steps: 300", "\n  steps: 0", 1))
    runner, sock = _serving_runner(tmp_path, env)
    try:

        def run(params, **extra):
            r = subprocess.run(
                [sys.executable, "-m", "emsync", "params", "check", str(params)],
                cwd=tmp_path,
                env={**env, warm.SOCKET_ENV: str(sock), **extra},
                capture_output=True,
                text=True,
                timeout=300,
            )
            seen = [json.loads(line) for line in out.read_text().splitlines()] if out.exists() else []
            out.unlink(missing_ok=True)
            return r, seen

        r, seen = run(good)
        assert (r.returncode, r.stdout) == (0, f"{good}: ok\n"), r.stderr
        assert [(s["argv"], s["cwd"]) for s in seen] == [(["emsync", "params", "check", str(good)], str(tmp_path))]
        assert seen[0]["pid"] != runner.pid
        r, seen = run(bad)
        assert r.returncode == 1 and "train.steps: 0 is out of range" in r.stderr and len(seen) == 1
        r, seen = run(good, **{warm.SOCKET_ENV: ""})
        assert (r.returncode, r.stdout, seen) == (0, f"{good}: ok\n", [])  # its own process: the probe never loaded
    finally:
        runner.terminate()
        runner.wait(timeout=30)


def test_prime_builds_the_prefect_client_models_and_freezes_the_imports():
    """What a warm stage no longer redoes after the fork (about 1 s of a 4 s demo features stage):
    building the Prefect client's models at a flow run's first request, and full collections that
    walk (and copy, page by page) every object the runner imported."""
    code = (
        "import gc, prefect.flows\n"
        "from prefect.client.schemas.actions import FlowRunCreate\n"
        "from emsync.pipeline.warm import prime\n"
        "before = FlowRunCreate.__pydantic_complete__\n"
        "built = prime()\n"
        "print(before, FlowRunCreate.__pydantic_complete__, built, gc.get_freeze_count(), len(gc.get_objects()))\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert r.returncode == 0, r.stderr[-2000:]
    before, after, built, frozen, tracked = r.stdout.split()
    assert (before, after) == ("False", "True") and int(built) > 50
    assert int(frozen) > 100_000 and int(tracked) < 1_000  # the collector now tracks only what comes next
