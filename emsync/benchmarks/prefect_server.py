"""Per-stage Prefect overhead: a trivial flow process (what every stage pays before its own work)
with Prefect's temporary server (one per process: the old way of each `dvc repro` stage) against
the same process pointed at a run's one shared server (emsync/pipeline/prefect_server.py), interleaved so
both see the same machine load; plus the shared server's one-time start.

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


def add_args(p):
    p.add_argument("--runs", type=int, default=5, help="flow processes timed per mode")


def _time_flow(script: Path, api: str | None) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "DVC_STAGE")}
    if api:
        env["PREFECT_API_URL"] = api
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
    }
