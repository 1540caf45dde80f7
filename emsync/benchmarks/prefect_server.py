"""Per-stage Prefect overhead: a trivial flow process (what every stage pays before its own work)
with Prefect's temporary server (one per process: the old way of each `dvc repro` stage) against
the same process pointed at a run's one shared server (emsync/pipeline/prefect_server.py), interleaved so
both see the same machine load; plus the shared server's one-time start. Then the server's own CPU:
per task run of a flow and per second idle, for the run's server as emsync starts it against the
same server with the event services and background poll of Prefect's ephemeral profile.

    emsync bench prefect_server                 # 5 runs of each
    emsync bench prefect_server --runs 10
"""

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FLOW = """from prefect import flow
from emsync.core import env

@flow(name="trivial")
def trivial():
    return 1

env.apply_defaults()
assert trivial() == 1
"""


# a flow of `n` tasks, one after another, against PREFECT_API_URL
TASKS = """import sys
from prefect import flow, task
from emsync.core import env

@task
def square(i):
    return i * i

@flow(name="tasks")
def tasks(n):
    return [square(i) for i in range(n)]

env.apply_defaults()
assert len(tasks(int(sys.argv[1]))) == int(sys.argv[1])
"""
# the services and poll interval Prefect's ephemeral profile keeps (emsync turns them off, SERVER_ENV)
PREFECT_OWN = {
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "true",
    "PREFECT_SERVER_SERVICES_ACTIONS_ENABLED": "true",
    "EMSYNC_PREFECT_POLL_S": "0.25",
}


def add_args(p):
    p.add_argument("--runs", type=int, default=5, help="flow processes timed per mode")
    p.add_argument("--tasks", type=int, default=200, help="task runs in the flow whose server CPU is measured")
    p.add_argument("--idle-s", type=float, default=10.0, help="seconds of idle server CPU measured")


def _flow_env(api: str | None) -> dict:
    """This process's environment for a flow process against `api` (None: Prefect's temporary server)."""
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "DVC_STAGE")}
    return dict(env, PREFECT_API_URL=api) if api else env


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of process `pid` (proc(5) stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _server_cpu(d: Path, overrides: dict, n_tasks: int, idle_s: float) -> dict:
    """CPU-ms per task run and CPU-% idle of one server started with `overrides`."""
    from emsync.pipeline import prefect_server

    script = d / "tasks_flow.py"
    script.write_text(TASKS)
    server = prefect_server.start(os.getpid(), env_overrides=overrides)
    try:
        prefect_server.wait_healthy(server)
        env = _flow_env(server.api)
        argv = [sys.executable, str(script)]
        subprocess.run([*argv, "1"], env=env, capture_output=True, timeout=600, check=True)  # the server's lazy first-run work
        time.sleep(2)
        c0 = _cpu_s(server.pid)
        time.sleep(idle_s)
        c1 = _cpu_s(server.pid)
        subprocess.run([*argv, str(n_tasks)], env=env, capture_output=True, timeout=600, check=True)
        time.sleep(2)  # the last events reach the server
        c2 = _cpu_s(server.pid)
    finally:
        os.kill(server.pid, 15)
    return {"cpu_ms_per_task": round(1000 * (c2 - c1) / n_tasks, 1), "idle_cpu_percent": round(100 * (c1 - c0) / idle_s, 2)}


def _time_flow(script: Path, api: str | None) -> float:
    env = _flow_env(api)
    t = time.perf_counter()
    r = subprocess.run([sys.executable, str(script)], cwd=script.parent, env=env, capture_output=True, text=True, timeout=600)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"trivial flow failed: {r.stderr[-2000:]}")
    return dt


def run(args) -> dict:
    from emsync.pipeline import prefect_server

    with tempfile.TemporaryDirectory(prefix="emsync-bench-prefect-") as d:
        script = Path(d) / "trivial_flow.py"
        script.write_text(FLOW)
        os.environ["PREFECT_HOME"] = str(Path(d) / "home")  # the client side's files stay in here
        t = time.perf_counter()
        server = prefect_server.start(os.getpid())
        prefect_server.wait_healthy(server)
        start_s = time.perf_counter() - t
        temporary, shared = [], []
        try:
            for _ in range(args.runs):
                temporary.append(_time_flow(script, None))
                shared.append(_time_flow(script, server.api))
        finally:
            os.kill(server.pid, 15)
        prefect_own = _server_cpu(Path(d), PREFECT_OWN, args.tasks, args.idle_s)
        emsync_run = _server_cpu(Path(d), {}, args.tasks, args.idle_s)
    t_med, s_med = statistics.median(temporary), statistics.median(shared)
    return {
        "runs": args.runs,
        "load_1min": round(os.getloadavg()[0], 2),
        "temporary_server_s": [round(x, 2) for x in temporary],
        "shared_server_s": [round(x, 2) for x in shared],
        "median_temporary_s": round(t_med, 2),
        "median_shared_s": round(s_med, 2),
        "saved_per_stage_s": round(t_med - s_med, 2),
        "ratio_temporary_to_shared": round(t_med / s_med, 2),
        "shared_server_start_s": round(start_s, 2),
        "server_cpu_prefect_services": prefect_own,
        "server_cpu_run_server": emsync_run,
        "server_cpu_per_task_ratio": round(prefect_own["cpu_ms_per_task"] / max(emsync_run["cpu_ms_per_task"], 0.1), 2),
    }
