"""One Prefect server per run (emsync/pipeline/prefect_server.py): every stage of a `dvc repro` talks to the
same server, which stops when its owner ends and leaves no process, port or file; a flow run with
no server at all still gets Prefect's temporary one."""

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from _project import prefect_api
from _root import ROOT
from emsync.pipeline import prefect_server

# a stage: a trivial flow run the way every flow's __main__ runs (env defaults, then enter_stage);
# it writes the API its flow run used and the run's server record
STAGE = """import json, os, sys
from prefect import flow
from prefect.client.orchestration import get_client
from emsync.core import env
from emsync.pipeline import prefect_server
from emsync.pipeline.runguard import dvc_process, enter_stage

@flow(name="hello")
def hello():
    with get_client(sync_client=True) as c:
        return str(c.api_url).rstrip("/")

env.apply_defaults()
enter_stage(sys.argv[1])
rec = prefect_server.record_path(dvc_process())
from prefect.settings import get_current_settings
json.dump({"api": hello(), "record": str(rec), "server": json.loads(rec.read_text()),
           "heartbeat": get_current_settings().flows.heartbeat_frequency}, open(sys.argv[1] + ".json", "w"))
"""

# a flow that reports the heartbeat setting it ran under and the threads alive inside it (Prefect's
# heartbeat thread runs `Context.run`, so its name ends in "(run)"); run once on the run's own server,
# then with the same URL as a user's own server (the run's server variable gone, settings re-read)
HEARTBEATS = """import json, os, threading
from prefect import flow, task
from prefect.runtime import flow_run
from prefect.settings import get_current_settings
from emsync.core import env
from emsync.pipeline.prefect_server import use_run_server

@task
def square(i):
    return i * i

@flow(name="beat")
def beat():
    return {"frequency": get_current_settings().flows.heartbeat_frequency,
            "heartbeat_threads": [t.name for t in threading.enumerate() if t.name.endswith("(run)")],
            "squares": [square(i) for i in range(3)], "flow_run": str(flow_run.id)}

env.apply_defaults()
use_run_server()  # what enter_stage does about the server
ours = beat()
del os.environ[env.RUN_SERVER_ENV]
env.apply_defaults()
print(json.dumps({"ours": ours, "users": beat()}))
"""


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "DVC_STAGE")}
    return dict(env, PYTHONPATH=str(ROOT), DVC_NO_ANALYTICS="1", **extra)


def _gone(server: dict, timeout=30.0) -> bool:
    """The server process ended, its port answers nothing, its home and log are removed."""
    deadline = time.monotonic() + timeout
    while prefect_server.alive(server["pid"]) and time.monotonic() < deadline:
        time.sleep(0.2)
    return not prefect_server.alive(server["pid"]) and not prefect_server.healthy(server["api"]) and not Path(server["home"]).exists()


@pytest.mark.slow
def test_every_stage_of_a_dvc_repro_uses_one_server_that_stops_with_it(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    run = lambda *a: subprocess.run(a, cwd=proj, env=_env(), capture_output=True, text=True, timeout=600)  # noqa: E731
    assert run("dvc", "init", "--no-scm", "-q").returncode == 0
    (proj / "stage.py").write_text(STAGE)
    for i, name in enumerate(("one", "two", "three")):
        dep = ["-d", f"{('one', 'two')[i - 1]}.json"] if i else []
        r = run("dvc", "stage", "add", "-q", "-n", name, "-d", "stage.py", *dep, "-o", f"{name}.json", f"{sys.executable} stage.py {name}")
        assert r.returncode == 0, r.stderr
    r = run("dvc", "repro")
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    seen = [json.loads((proj / f"{n}.json").read_text()) for n in ("one", "two", "three")]
    server = seen[0]["server"]
    assert {s["api"] for s in seen} == {server["api"]}  # every flow run went to the one server
    assert {s["server"]["pid"] for s in seen} == {server["pid"]}  # started once
    assert server["api"] != os.environ.get("PREFECT_API_URL")  # the run's own, not the session's
    assert {s["heartbeat"] for s in seen} == {None}  # no flow-run heartbeats to the run's own server
    assert _gone(server)
    assert not Path(seen[0]["record"]).exists()


@pytest.mark.slow
def test_servers_start_from_an_empty_migrated_copy_and_stop_with_their_owner(tmp_path, monkeypatch):
    """The first server migrates its database and keeps an empty copy (a broken one is replaced);
    the next starts from that copy and shows none of the first one's runs. Both stop when their
    owner is killed and leave no process, port, home, log or half-written copy."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))  # the servers' template folder, not the machine's
    tpl = tmp_path / prefect_server.template_path().relative_to(tempfile.gettempdir())
    tpl.parent.mkdir(mode=0o700)
    tpl.write_bytes(b"not a database")
    owner = subprocess.Popen(["sleep", "600"])
    try:
        first = prefect_server.start(owner.pid)
        prefect_server.wait_healthy(first)
        assert prefect_server.is_migrated(tpl)
        made = tpl.stat()
        flow = prefect_api(first.api + "/flows/", {"name": "seen-by-the-first-only"})
        prefect_api(first.api + "/flow_runs/", {"flow_id": flow["id"]})
        assert len(prefect_api(first.api + "/flow_runs/filter", {})) == 1

        second = prefect_server.start(owner.pid)
        prefect_server.wait_healthy(second)
        assert (tpl.stat().st_ino, tpl.stat().st_mtime_ns) == (made.st_ino, made.st_mtime_ns)  # copied, not remade
        assert prefect_api(second.api + "/flow_runs/filter", {}) == []
        assert prefect_api(second.api + "/flows/filter", {}) == []
        assert prefect_api(second.api + "/flows/", {"name": "x"})["name"] == "x"
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    for server in (first, second):
        assert _gone(server.__dict__)
        assert not Path(server.home + ".log").exists()
    assert [p.name for p in tpl.parent.iterdir()] == [tpl.name]


def _catches(pid: int, signum: int) -> bool:
    """Whether process `pid` has its own handler for `signum` (the SigCgt mask of proc(5))."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signum - 1) & 1)
    return False


def test_a_server_stopped_while_it_starts_leaves_no_home_and_no_log(tmp_path, monkeypatch):
    """SIGTERM before uvicorn has started (a run that ends at once, a test session that stops) is
    a stop like any other: the server's home and its start-up log go with it."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    owner = subprocess.Popen(["sleep", "600"])
    try:
        server = prefect_server.start(owner.pid)
        deadline = time.monotonic() + 30
        while not _catches(server.pid, signal.SIGTERM):  # main() has installed its handler
            assert time.monotonic() < deadline and prefect_server.alive(server.pid)
            time.sleep(0.01)
        assert not prefect_server.healthy(server.api)  # still starting (importing, seeding)
        os.kill(server.pid, signal.SIGTERM)
        assert _gone(server.__dict__)
        assert not Path(server.home + ".log").exists()
    finally:
        owner.kill()
        owner.wait()


def _session_of(sid: int) -> list:
    """PIDs of the processes still in session `sid`."""
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == sid:
            out.append(int(stat.parent.name))
    return out


TEMPORARY = """from prefect import flow
from prefect.client.orchestration import get_client
from emsync.core import env

@flow(name="hello")
def hello():
    with get_client(sync_client=True) as c:
        return str(c.api_url).rstrip("/")

env.apply_defaults()
print(hello())
"""


def test_flows_on_the_runs_own_server_send_no_heartbeats_and_a_users_server_still_gets_them(tmp_path):
    """Prefect's engine waits up to 1 s for its heartbeat thread at every flow's end (a trivial flow:
    ~0.15 s without, ~1.1 s with); nothing on a run's own server reads heartbeats, a user's may.
    The run's server records flow runs and their states, not task runs (prefect_server.SERVER_ENV)."""
    from emsync.core.env import RUN_SERVER_ENV

    api = os.environ["PREFECT_API_URL"]  # the session's server (tests/conftest.py)
    (tmp_path / "beat.py").write_text(HEARTBEATS)
    env = dict(_env(), PREFECT_API_URL=api, **{RUN_SERVER_ENV: api})
    r = subprocess.run([sys.executable, "beat.py"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    ours, users = out["ours"], out["users"]
    assert (ours["frequency"], ours["heartbeat_threads"], ours["squares"]) == (None, [], [0, 1, 4])
    # the same server, named by the user rather than by the run: heartbeats as Prefect sends them
    assert users["frequency"] == 180 and len(users["heartbeat_threads"]) == 1
    for run in (ours["flow_run"], users["flow_run"]):
        assert prefect_api(f"{api}/flow_runs/{run}")["state_type"] == "COMPLETED"
        assert prefect_api(f"{api}/task_runs/filter", {"flow_runs": {"id": {"any_": [run]}}}) == []


@pytest.mark.slow
def test_a_flow_without_a_server_runs_on_a_temporary_one_that_goes_with_it(tmp_path):
    """No PREFECT_API_URL and not under dvc: Prefect's own temporary server, gone when the flow is."""
    (tmp_path / "flow.py").write_text(TEMPORARY)
    p = subprocess.Popen(
        [sys.executable, "flow.py"],
        cwd=tmp_path,
        env=_env(PREFECT_HOME=str(tmp_path / "home")),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    out, err = p.communicate(timeout=400)
    assert p.returncode == 0, err[-3000:]
    api = out.strip().splitlines()[-1]
    assert api.startswith("http://127.0.0.1:") and api != os.environ.get("PREFECT_API_URL")
    deadline = time.monotonic() + 15
    while _session_of(p.pid) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _session_of(p.pid) == [] and not prefect_server.healthy(api)
