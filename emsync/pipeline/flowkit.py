"""Prefect conventions shared by every flow.

- `cached_task`: a Prefect task whose cache key is its inputs + its source code, with results
  persisted under data/prefect_results, so re-running an unchanged flow is all cache hits and a
  killed run resumes with only the unfinished items recomputed. Pass *content digests* of input
  files as arguments (a path alone says nothing about the bytes behind it) and return the data
  itself (DataFrames, arrays, dicts): output files are written from returned values, so a cache
  hit can always rebuild them.
- `map_items`: submit one task per item with a progress bar; a failing item becomes a recorded
  skip instead of stopping the flow.
- `RunReport`: per-flow counts (tasks, cache hits, skips) written to reports/runs/<flow>.json.
"""

import dataclasses
import time
from pathlib import Path

from prefect import task
from prefect.cache_policies import INPUTS, TASK_SOURCE
from tqdm.auto import tqdm

from emsync.core.config import default_reports_dir
from emsync.core.io import disk_full_error, is_disk_full, write_json

CACHE_POLICY = INPUTS + TASK_SOURCE


def cached_task(fn=None, **kwargs):
    """@cached_task or @cached_task(name=..., retries=...)."""
    opts = dict(cache_policy=CACHE_POLICY, persist_result=True, result_serializer="pickle")
    opts.update(kwargs)
    if fn is None:
        return lambda f: task(f, **opts)
    return task(fn, **opts)


@dataclasses.dataclass
class RunReport:
    flow: str
    tasks: int = 0
    cache_hits: int = 0
    skipped: list = dataclasses.field(default_factory=list)  # [{"item": ..., "reason": ...}]
    started: float = dataclasses.field(default_factory=time.time)

    def add_state(self, state):
        self.tasks += 1
        if state.name == "Cached":
            self.cache_hits += 1

    def skip(self, item, reason):
        self.skipped.append({"item": str(item), "reason": str(reason)})

    def write(self, reports_dir=None):
        out = Path(reports_dir or default_reports_dir()) / "runs" / f"{self.flow}.json"
        d = dataclasses.asdict(self)
        d["seconds"] = round(time.time() - d.pop("started"), 2)
        d["all_cached"] = self.tasks > 0 and self.cache_hits == self.tasks
        write_json(out, d)
        return out


def cpu_task_runner():
    """A thread pool with one worker per CPU this process may use. Prefect's default pool has no
    bound: a flow that submits 16 CPU-bound tasks at once runs all 16 on a 2-core machine, each
    loading its own models and all fighting over the cores and the GIL (the soundtrack stage's 16
    (video, condition) items: 83 s that way, 74 s two at a time)."""
    import os

    from prefect.task_runners import ThreadPoolTaskRunner

    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()  # no affinity call on macOS
    return ThreadPoolTaskRunner(max_workers=max(1, cpus or 1))


def map_items(task_fn, items, report: RunReport, desc=None, key=str, **shared):
    """Run `task_fn(item, **shared)` for every item; return {key(item): result} of those that
    finished. Failures are recorded in `report.skipped` and never stop the flow."""
    futures = [(item, task_fn.submit(item, **shared)) for item in items]
    return collect(futures, report, key=key, desc=desc or task_fn.name)


def collect(futures, report: RunReport, key=str, desc="tasks") -> dict:
    """Wait for [(item, future), ...] with a progress bar; return {key(item): result} of those
    that finished. Failures become recorded skips (for tasks submitted with per-item arguments)."""
    results = {}
    for item, fut in tqdm(futures, desc=desc, unit="task", leave=False):
        fut.wait()
        report.add_state(fut.state)
        if fut.state.is_completed():
            results[key(item)] = fut.result()
        else:
            try:
                fut.result(raise_on_failure=True)
            except Exception as e:  # the item's own error message, recorded as a skip
                if is_disk_full(e):  # not the item's fault: every later item would fail too
                    raise disk_full_error(key(item), e) from e
                report.skip(key(item), f"{type(e).__name__}: {e}")
    return results


def run_task(task_fn, report: RunReport, *args, **kwargs):
    """Run one task (no progress bar), counting its cache state in the report."""
    state = task_fn(*args, return_state=True, **kwargs)
    report.add_state(state)
    return state.result()


# --- scale-out switch: EMSYNC_DASK -------------------------------------------------------------
DASK_ENV = "EMSYNC_DASK"
DASK_DEFAULT_WORKERS = 4


def dask_runner(setting=None):
    """Prefect-dask's DaskTaskRunner chosen by EMSYNC_DASK (or `setting`), or None when it is off.

    unset, "" or "0": off (each flow's own runner); "1" or "local": a distributed.LocalCluster of
    4 single-threaded worker processes; an integer N > 1: N such processes; "tcp://host:8786" (any
    scheme://): the existing scheduler at that address (dask-jobqueue, Kubernetes, `dask scheduler`).
    Tasks' results still go to the Prefect result store (PREFECT_LOCAL_STORAGE_PATH), so on a real
    cluster that path must be shared storage the workers can all reach."""
    import os

    from emsync.core.errors import InputError

    v = (os.environ.get(DASK_ENV, "") if setting is None else str(setting)).strip()
    if v in ("", "0"):
        return None
    import logging

    import dask
    from prefect_dask import DaskTaskRunner

    logging.getLogger("distributed").setLevel(logging.WARNING)  # no per-worker INFO lines
    if "://" in v:
        return DaskTaskRunner(address=v)
    if v in ("1", "local"):
        n = DASK_DEFAULT_WORKERS
    elif v.isdigit():
        n = int(v)
    else:
        raise InputError(f"{DASK_ENV}={v!r}: expected 0, 1, local, a worker count or a scheduler address like tcp://host:8786")
    # non-daemon workers: tasks that start their own process pools (labeling's scan) may do so
    dask.config.set({"distributed.worker.daemon": False})
    return DaskTaskRunner(cluster_kwargs={"n_workers": n, "threads_per_worker": 1, "processes": True, "dashboard_address": None})


def with_dask(flow_fn, setting=None):
    """The flow on a Dask task runner when the EMSYNC_DASK switch is on, else the flow unchanged."""
    import sys

    runner = dask_runner(setting)
    if runner is None:
        return flow_fn
    where = runner.address or f"a local cluster of {runner.cluster_kwargs['n_workers']} processes"
    print(f"{flow_fn.name}: tasks on Dask ({where})", file=sys.stderr)
    return flow_fn.with_options(task_runner=runner)


# --- the entry point of every flow ------------------------------------------------------------
def main(stage: str, flow=None, *, run=None, add_args=None, stages=None, summary=None, dask=False, argv=None, description=None):
    """The `__main__` of every flow (`python -m flows.<name>`, what `dvc repro` runs): offline
    defaults and the one-line error hook (emsync.core.env), the arguments (`--params` and the flow's
    own, `add_args(parser)`), the stage entered (DVC's lock, exit with the parent, the run's Prefect
    server: emsync.pipeline.runguard.enter_stage; `stages(args)` names several), the params loaded, then
    `flow(params)` (on Dask when `dask` and EMSYNC_DASK is set) or `run(params, args)`, and
    `summary(result, params)` printed. Returns the result."""
    import argparse

    from emsync.core import env
    from emsync.core.config import load_params
    from emsync.pipeline.runguard import enter_stage
    from emsync.pipeline.stages import stage as declared

    if (flow is None) == (run is None):
        raise TypeError("give flow or run")
    env.apply_defaults()
    ap = argparse.ArgumentParser(prog=f"python -m flows.{stage}", description=description)
    ap.add_argument("--params", default=None, help="params file (default: EMSYNC_PARAMS or params.yaml)")
    if add_args is not None:
        add_args(ap)
    args = ap.parse_args(argv)
    for name in stages(args) if stages is not None else [stage]:
        declared(name)  # a stage of emsync.pipeline.stages.STAGES (dvc.yaml is written from them)
        enter_stage(name)  # share DVC's lock; exit with the parent; the run's Prefect server
    p = load_params(args.params)
    result = run(p, args) if run is not None else (with_dask(flow) if dask else flow)(p)
    if summary is not None and result is not None:
        print(summary(result, p))
    return result
