"""Scheduled Prefect deployments of the pipeline stages, run by a process work pool's worker.

Each deployment runs ONE flow, `dvc-repro`, with the stage name as its parameter: the flow runs
`dvc repro <stage>` in the project folder. So a scheduled run goes through DVC's own bookkeeping
(dvc.lock, the cache, DVC's lock against concurrent runs) exactly like a manual `dvc repro`: a
scheduled re-label and a manual repro never disagree about what is up to date, and a scheduled run
of an up-to-date stage does nothing. Stale upstream stages run first, as `dvc repro` always does.

    emsync deploy --pool emsync          # register the deployments + schedules (needs PREFECT_API_URL)
    prefect worker start --pool emsync   # a process worker runs them (from the repository root)
"""

import subprocess
from pathlib import Path

from prefect import flow, get_run_logger

from emsync.core.config import project_root
from emsync.core.errors import InputError

# stage -> cron (UTC). Labelling and tokens nightly, training weekly after them; every other stage
# in dvc.yaml gets a deployment with no schedule (run it from the UI or `prefect deployment run`).
SCHEDULES = {
    "labeling": "0 2 * * *",
    "lyrics": "30 2 * * *",
    "tokens": "0 3 * * *",
    "features": "0 4 * * *",
    "store": "0 5 * * *",
    "train": "0 6 * * 0",
    "evaluate": "0 12 * * 0",
}
FLOW_NAME = "dvc-repro"


@flow(name=FLOW_NAME, log_prints=False)
def repro_stage(stage: str, project_dir: str = "") -> dict:
    """`dvc repro <stage>` in project_dir (default: this repository). Fails with dvc's last error line."""
    log = get_run_logger()
    cwd = Path(project_dir or project_root())
    r = subprocess.run(["dvc", "repro", stage], cwd=cwd, capture_output=True, text=True)
    for line in r.stdout.splitlines()[-40:]:
        log.info(line)
    if r.returncode != 0:
        lines = [ln for ln in (r.stderr + r.stdout).splitlines() if ln.strip()]
        raise RuntimeError(f"dvc repro {stage} failed (exit {r.returncode}): {lines[-1] if lines else 'no output'}")
    st = subprocess.run(["dvc", "status", stage], cwd=cwd, capture_output=True, text=True)
    return {"stage": stage, "ran": "Running stage" in r.stdout, "status": st.stdout.strip()}


def dvc_stage_names(root=None) -> list:
    import yaml

    return list((yaml.safe_load((Path(root or project_root()) / "dvc.yaml").read_text()) or {}).get("stages", {}))


def ensure_process_pool(pool: str):
    """Create the process work pool `pool` on the server if it is missing."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists

    with get_client(sync_client=True) as client:
        try:
            client.create_work_pool(WorkPoolCreate(name=pool, type="process"))
        except ObjectAlreadyExists:
            pass


def _unreachable(api: str, e: Exception, done: int = 0, total: int = 0) -> InputError:
    e = getattr(e, "reason", e)  # urllib's URLError wraps the socket error
    where = f"; {done} of {total} deployments were registered before it went away" if total else ""
    return InputError(
        f"Prefect server at {api} is not reachable ({type(e).__name__}: {e}){where}; start it (`prefect server start`) "
        "or fix PREFECT_API_URL, then run `emsync deploy` again (registering again updates, never duplicates)"
    )


def check_server(api: str, timeout: float = 5.0):
    """Raise one clear InputError unless the server at `api` answers its health check."""
    import urllib.request

    try:
        with urllib.request.urlopen(f"{api.rstrip('/')}/health", timeout=timeout) as r:
            r.read()
    except OSError as e:  # refused, timed out, HTTP error status
        raise _unreachable(api, e) from None


def deploy(stages=None, pool="emsync", project_dir="", schedules=None) -> dict:
    """Register one `dvc-repro/<stage>` deployment per stage on the server in PREFECT_API_URL;
    return {deployment name: cron or None}. A server that is down, or goes away part-way, is one
    InputError line; the deployments already registered stay, and a rerun registers the rest."""
    import os

    import httpx

    if not os.environ.get("PREFECT_API_URL"):
        raise InputError(
            "PREFECT_API_URL is not set: deployments need a running server (`prefect server start`, "
            "then export PREFECT_API_URL=http://127.0.0.1:4200/api)"
        )
    known = dvc_stage_names(project_dir or None)
    stages = list(stages or known)
    unknown = [s for s in stages if s not in known]
    if unknown:
        raise InputError(f"{', '.join(unknown)}: not a stage of dvc.yaml (stages: {', '.join(known)})")
    schedules = SCHEDULES if schedules is None else schedules
    api = os.environ["PREFECT_API_URL"]
    check_server(api)
    out = {}
    try:
        ensure_process_pool(pool)
        source = repro_stage.from_source(source=str(project_root()), entrypoint="emsync/pipeline/deploy.py:repro_stage")
        for stage in stages:
            cron = schedules.get(stage)
            source.deploy(
                name=stage,
                work_pool_name=pool,
                cron=cron,
                parameters={"stage": stage, "project_dir": project_dir},
                build=False,
                push=False,
                print_next_steps=False,
            )
            out[f"{FLOW_NAME}/{stage}"] = cron
    except (httpx.TransportError, OSError) as e:  # the server stopped part-way
        raise _unreachable(api, e, len(out), len(stages)) from None
    return out
