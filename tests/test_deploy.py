"""Scheduled deployments: a real Prefect server and a real process worker run `dvc repro <stage>`;
afterwards DVC itself says the stage is up to date, and a manual `dvc repro` has nothing to do."""

import os
import signal
import subprocess
import sys
import time

import pytest

from _project import prefect_api
from _root import ROOT

pytestmark = pytest.mark.slow


def _run(cmd, env, cwd=ROOT, timeout=240):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    return r.stdout


def _kill(proc):
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def test_deployment_run_by_a_worker_goes_through_dvc(tmp_path, prefect_server):
    # a tiny DVC project: one stage whose command counts its own runs
    proj = tmp_path / "proj"
    proj.mkdir()
    _run(["dvc", "init", "--no-scm", "-q"], os.environ, cwd=proj)
    (proj / "in.txt").write_text("hello\n")
    _run(
        ["dvc", "stage", "add", "-q", "-n", "copy", "-d", "in.txt", "-o", "out.txt", "cp in.txt out.txt && echo run >> runs.log"],
        os.environ,
        cwd=proj,
    )

    api = prefect_server.api
    env = dict(
        os.environ,
        PREFECT_HOME=str(prefect_server.home),
        PREFECT_API_URL=api,
        PREFECT_UI_ENABLED="false",
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_LOCAL_STORAGE_PATH=str(tmp_path / "results"),
    )
    worker = None
    try:
        out = _run([sys.executable, "-m", "emsync", "deploy", "--pool", "testpool", "--project-dir", str(proj)], env, cwd=ROOT)
        assert "dvc-repro/copy\tno schedule" in out
        deps = prefect_api(api + "/deployments/filter", {})
        assert [d["name"] for d in deps] == ["copy"] and deps[0]["work_pool_name"] == "testpool"

        # the stock schedules reach the server: labeling's deployment carries its cron
        from emsync.pipeline.deploy import SCHEDULES

        _run([sys.executable, "-m", "emsync", "deploy", "--pool", "testpool", "--stage", "labeling"], env, cwd=ROOT)
        lab = [d for d in prefect_api(api + "/deployments/filter", {}) if d["name"] == "labeling"][0]
        assert [s["schedule"]["cron"] for s in lab["schedules"]] == [SCHEDULES["labeling"]]

        run = prefect_api(f"{api}/deployments/{deps[0]['id']}/create_flow_run", {})
        worker = subprocess.Popen(
            [sys.executable, "-m", "prefect", "worker", "start", "--pool", "testpool"],
            cwd=ROOT,
            env=env,
            stdout=open(tmp_path / "worker.log", "w"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        deadline = time.time() + 300
        while True:
            state = prefect_api(f"{api}/flow_runs/{run['id']}")["state_type"]
            if state in ("COMPLETED", "FAILED", "CRASHED", "CANCELLED"):
                break
            assert time.time() < deadline, f"flow run still {state}: " + (tmp_path / "worker.log").read_text()[-2000:]
            time.sleep(1)
        assert state == "COMPLETED", (tmp_path / "worker.log").read_text()[-3000:]
    finally:
        if worker is not None:
            _kill(worker)

    assert (proj / "out.txt").read_text() == "hello\n"
    assert (proj / "runs.log").read_text() == "run\n"
    # DVC's bookkeeping agrees: up to date, and a manual repro runs nothing
    assert "up to date" in _run(["dvc", "status"], os.environ, cwd=proj)
    _run(["dvc", "repro"], os.environ, cwd=proj)
    assert (proj / "runs.log").read_text() == "run\n"
