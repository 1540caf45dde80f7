"""Faults in operation: a flow run's processes SIGKILLed under a real Prefect worker, a
Dask worker process dying mid-map, and the Prefect server stopping under `emsync deploy`. In each,
finished work is kept and the next run completes from the task cache."""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from _project import free_port, prefect_api, prefect_home
from _root import ROOT

pytestmark = pytest.mark.slow

# the stage of the tiny DVC project: emsync's flow pattern (cached per-item tasks, outputs written
# atomically from the results); CALLS gets one line per item really computed
STAGE = """import os, sys, time
from pathlib import Path
from prefect import flow
from emsync.core import env
from emsync.pipeline.flowkit import RunReport, cached_task, run_task
from emsync.core.io import write_text

@cached_task
def item(i: int) -> str:
    time.sleep(1.0)
    with open(os.environ["CALLS"], "a") as f:
        f.write(f"{i}\\n")
    return f"item {i}: {i * i}"

@flow(name="items")
def items(n: int):
    report = RunReport("items")
    for i in range(n):
        write_text(Path("out") / f"{i}.txt", run_task(item, report, i) + "\\n")

env.apply_defaults()
items(int(sys.argv[1]))
"""
N_ITEMS = 6


def _start_server(port, env, log):
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env={k: v for k, v in env.items() if k != "PREFECT_API_URL"},
        stdout=open(log, "a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    deadline = time.time() + 150
    while True:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=2) as r:
                if r.status == 200:
                    return server
        except OSError:
            pass
        assert server.poll() is None, Path(log).read_text()[-2000:]
        assert time.time() < deadline, "server did not become healthy"
        time.sleep(0.5)


def _stop(proc):
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=20)
    except ProcessLookupError:
        pass
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()


def _descendants(pid):
    out = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        try:
            kids = [int(k) for k in (task / "children").read_text().split()]
        except OSError:
            continue
        for k in kids:
            out += [k, *_descendants(k)]
    return out


def _wait_state(api, run_id, log, timeout=300):
    deadline = time.time() + timeout
    while True:
        state = prefect_api(f"{api}/flow_runs/{run_id}")["state_type"]
        if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
            return state
        assert time.time() < deadline, f"flow run still {state}: " + Path(log).read_text()[-2000:]
        time.sleep(0.5)


def _calls(path):
    return [int(x) for x in path.read_text().split()] if path.exists() else []


def _run(cmd, env, cwd=ROOT, ok=True):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=240)
    if ok:
        assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    return r


def test_killed_flow_run_crashes_then_a_rerun_completes_from_the_cache_and_a_stopped_server_is_one_line(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    calls = tmp_path / "calls.log"
    base = {**os.environ, "DVC_NO_ANALYTICS": "1"}
    _run(["dvc", "init", "--no-scm", "-q"], base, cwd=proj)
    (proj / "stage.py").write_text(STAGE)
    _run(
        ["dvc", "stage", "add", "-q", "-n", "items", "-d", "stage.py", "-o", "out", f"{sys.executable} stage.py {N_ITEMS}"], base, cwd=proj
    )

    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = dict(
        base,
        PYTHONPATH=str(ROOT),
        CALLS=str(calls),
        PREFECT_HOME=prefect_home(tmp_path / "home"),
        PREFECT_API_URL=api,
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOCAL_STORAGE_PATH=str(tmp_path / "results"),
        PREFECT_WORKER_QUERY_SECONDS="1",
    )
    server_log, worker_log = tmp_path / "server.log", tmp_path / "worker.log"
    server = _start_server(port, env, server_log)
    worker = None
    try:
        _run([sys.executable, "-m", "emsync", "deploy", "--pool", "faults", "--project-dir", str(proj)], env)
        dep = prefect_api(f"{api}/deployments/filter", {})[0]
        worker = subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", "faults"],
            cwd=ROOT,
            env=env,
            stdout=open(worker_log, "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        first = prefect_api(f"{api}/deployments/{dep['id']}/create_flow_run", {})
        deadline = time.time() + 240
        while len(_calls(calls)) < 2:
            assert time.time() < deadline, "the stage never started: " + worker_log.read_text()[-2000:]
            time.sleep(0.2)
        # SIGKILL everything the worker started for this run (flow-run engine, dvc, the stage),
        # as the kernel's OOM killer or a lost node would; the worker itself reports the crash
        victims = _descendants(worker.pid)
        assert victims, "the worker runs no child process"
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        done_before = _calls(calls)
        assert 2 <= len(done_before) < N_ITEMS
        assert _wait_state(api, first["id"], worker_log) in ("CRASHED", "FAILED")
        assert not (proj / "dvc.lock").exists()  # DVC recorded nothing for the killed stage

        second = prefect_api(f"{api}/deployments/{dep['id']}/create_flow_run", {})
        assert _wait_state(api, second["id"], worker_log) == "COMPLETED", worker_log.read_text()[-3000:]
        again = _calls(calls)[len(done_before) :]
        # finished items were cache hits: only the rest (and the one cut off mid-sleep) computed
        assert not set(again) & set(done_before), (done_before, again)
        assert sorted(set(done_before) | set(again)) == list(range(N_ITEMS))
        assert [(proj / "out" / f"{i}.txt").read_text() for i in range(N_ITEMS)] == [f"item {i}: {i * i}\n" for i in range(N_ITEMS)]
        assert "up to date" in _run(["dvc", "status"], base, cwd=proj).stdout

        # the server stops: `emsync deploy` says so in one line, no traceback
        _stop(server)
        r = _run([sys.executable, "-m", "emsync", "deploy", "--pool", "faults", "--project-dir", str(proj)], env, ok=False)
        assert r.returncode == 1
        lines = r.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith(f"emsync: error: Prefect server at {api} is not reachable"), r.stderr
        # a restart recovers: same database, the runs' history is there, deploying works again
        server = _start_server(port, env, server_log)
        states = sorted(fr["state_type"] for fr in prefect_api(f"{api}/flow_runs/filter", {}) if fr["deployment_id"] == dep["id"])
        assert states == sorted(["COMPLETED", prefect_api(f"{api}/flow_runs/{first['id']}")["state_type"]])
        _run([sys.executable, "-m", "emsync", "deploy", "--pool", "faults", "--project-dir", str(proj)], env)
        assert [d["id"] for d in prefect_api(f"{api}/deployments/filter", {})] == [dep["id"]]
    finally:
        if worker is not None:
            _stop(worker)
        _stop(server)


def test_a_dask_worker_dying_mid_map_loses_no_finished_item(tmp_path):
    """One task SIGKILLs its own worker process of a 2-worker LocalCluster: the scheduler reruns
    it on the restarted worker, results the dead worker held come back as cache hits (each item
    is computed exactly once), and the map's output is complete."""
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "EMSYNC_DASK": "2",
        "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "results"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",
    }
    out = tmp_path / "out"
    out.mkdir()
    log = tmp_path / "flow.log"
    # its own session: a worker killed by SIGKILL leaves its ephemeral Prefect API server orphaned
    # (it never gets to shut it down), so the test ends that session's leftovers itself
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "_dask_fault_flow.py"), str(out), "8", "3"],
        cwd=ROOT,
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        rc = proc.wait(timeout=400)
    finally:
        try:
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert rc == 0, log.read_text()[-3000:]
    assert (out / "killed").exists()  # the victim really took its worker down
    lines = [ln.split() for ln in (out / "calls.log").read_text().splitlines()]
    assert sorted(int(i) for i, _ in lines) == list(range(8))  # each item computed exactly once
    assert json.loads((out / "results.json").read_text()) == {str(i): i * i for i in range(8)}
    report = json.loads((out / "runs" / "dask-fault.json").read_text())
    assert report["skipped"] == [] and report["tasks"] == 8
