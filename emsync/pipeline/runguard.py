"""Runs that do not trample each other. Every flow's entry point calls
`enter_stage(name)` first:

- it shares DVC's lock: while a stage's command runs, `dvc repro` claims the stage's outputs in
  `.dvc/tmp/rwlock`. Under `dvc repro` (DVC_STAGE set) that claim is ours; run directly
  (`emsync run`, `python -m flows.<stage>`) the flow makes the same claim for its whole run, or
  refuses with one line while another run holds one, since both would write the same outputs
  (and a `dvc repro` started meanwhile refuses in turn);
- it exits when its parent dies: the kernel sends SIGTERM when the parent goes
  (prctl PR_SET_PDEATHSIG, Linux), a watch thread does the same where prctl is missing or an
  intermediate shell was reparented, and SIGTERM unwinds like Ctrl-C so `finally` blocks and
  atomic writes clean up. A `kill -9` of `dvc repro` leaves no orphan flow writing outputs.
"""

import os
import re
import sys
from pathlib import Path

from emsync.core.errors import EmsyncError
from emsync.pipeline.process_tree import dvc_process, exit_with_parent  # noqa: F401  (dvc_process: part of this module's API)

_held = []  # the lock object, kept alive for the life of the process


class LockedError(EmsyncError):
    """Another run holds the pipeline lock."""


def _stage_def(stage: str, root: Path) -> dict:
    import yaml

    try:
        return yaml.safe_load((root / "dvc.yaml").read_text())["stages"].get(stage) or {}
    except (OSError, KeyError, TypeError, AttributeError, yaml.YAMLError):
        return {}


def _param(params, key: str):
    """The value of a dotted params key (None when there is no such key)."""
    value = params
    for part in key.split("."):
        value = getattr(value, part, None)
    return value


def _own_keys(stage_def: dict, params) -> list:
    """The dotted params keys a dvc.yaml stage depends on (`demo_data` = every key of that section)."""
    import dataclasses

    keys = []
    for entry in stage_def.get("params") or []:
        for k in [entry] if isinstance(entry, str) else [x for v in entry.values() for x in (v or [])]:
            section = getattr(params, k, None)
            keys += [f"{k}.{f.name}" for f in dataclasses.fields(section)] if dataclasses.is_dataclass(section) else [k]
    return keys


def _moves(stage_def: dict, params, root: Path) -> list:
    """[(folder or file dvc.yaml names, where the active params put it)], longest first: the
    stage's own path params and paths.* (dvc.yaml is written for their defaults)."""
    from emsync.core.config import Params

    defaults, moves = Params(), []
    for key in ("paths.data_dir", "paths.reports_dir", "paths.store", *_own_keys(stage_def, params)):
        old, new = _param(defaults, key), _param(params, key)
        if isinstance(old, str) and isinstance(new, str) and old and new and not os.path.isabs(old):
            moves.append((old.rstrip("/"), Path(new) if os.path.isabs(new) else root / new))
    return sorted(moves, key=lambda m: -len(m[0]))


def stage_outputs(stage: str, root: Path, params=None) -> list:
    """Absolute paths a dvc.yaml stage writes (its outs, metrics and plots; [] if no such stage).
    With the active `params` these are the paths the flow really writes: `${section.key}` filled
    in, and a path under a folder a param names (paths.data_dir, paths.reports_dir, the stage's
    own out_dir...) moved to where that param points now. Without, dvc.yaml's literal paths."""
    root = Path(root)
    stage_def = _stage_def(stage, root)
    declared = [next(iter(o)) if isinstance(o, dict) else o for kind in ("outs", "metrics", "plots") for o in stage_def.get(kind) or []]
    moves = _moves(stage_def, params, root) if params is not None else []
    out = []
    for path in declared:
        if "${" in path:
            if params is None:
                continue
            path = re.sub(r"\$\{([\w.]+)\}", lambda m: str(_param(params, m.group(1))), path)
        if os.path.isabs(path):
            out.append(os.path.abspath(path))
            continue
        old, new = next(((o, n) for o, n in moves if path == o or path.startswith(o + "/")), (path, root / path))
        out.append(os.path.abspath(new / os.path.relpath(path, old)) if old != path else os.path.abspath(new))
    return out


def active_params(root: Path):
    """The params the running flow reads: its `--params FILE` argument (train, evaluate, features,
    bandwidth take one), else EMSYNC_PARAMS, else <root>/params.yaml; None when they do not load
    (the flow then fails on them itself)."""
    from emsync.core.config import load_params

    argv, path = sys.argv[1:], None
    for i, a in enumerate(argv):
        if a == "--params" and i + 1 < len(argv):
            path = argv[i + 1]
        elif a.startswith("--params="):
            path = a.split("=", 1)[1]
    try:
        return load_params(path or os.environ.get("EMSYNC_PARAMS") or Path(root) / "params.yaml")
    except EmsyncError:
        return None


def _is_under(path: str, root: Path) -> bool:
    real, top = os.path.realpath(path), os.path.realpath(root)
    return real == top or real.startswith(top + os.sep)


def hold_pipeline_lock(stage: str, root=None):
    """Claim the stage's outputs in DVC's own read/write lock (.dvc/tmp/rwlock, the one `dvc repro`
    holds while a stage's command runs) for this process's life; refuse with one line while
    another run (a `dvc repro`, another `emsync run`) writes or reads them. No-op under
    `dvc repro` (DVC claimed them for us) and outside a DVC repository."""
    if os.environ.get("DVC_STAGE"):
        return None
    if int(os.environ.get("RANK", "0")) > 0:  # under torchrun, rank 0 holds it for the whole job
        return None
    from emsync.core.config import project_root

    root = Path(root or project_root())
    if not (root / ".dvc").is_dir():
        return None
    # only what this run writes inside the project: a run whose params send every output
    # elsewhere (a test's temporary folder) shares nothing with the project's runs, so takes no lock
    inside = [o for o in stage_outputs(stage, root, active_params(root)) if _is_under(o, root)]
    if not inside:
        return None
    import atexit

    from dvc.fs import localfs
    from dvc.lock import LockError
    from dvc.rwlock import rwlock

    tmp = root / ".dvc" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    claim = rwlock(str(tmp), localfs, f"emsync run {stage}", [], inside, False)
    try:
        claim.__enter__()
    except LockError as e:
        lines = str(e).splitlines()  # "'<path>' is busy, it is being blocked by:", "  (PID n): <cmd>", ...
        path = lines[0].split("'")[1] if lines[0].count("'") >= 2 else "its outputs"
        who = lines[1].strip().strip("()").replace("): ", ": ", 1) if len(lines) > 1 else "another process"
        raise LockedError(
            f"{stage}: another run holds the pipeline lock on {os.path.relpath(path, root)} ({who}); "
            f"wait for it to finish (DVC's lock: {tmp / 'rwlock'})"
        ) from None
    _held.append(claim)
    atexit.register(claim.__exit__, None, None, None)
    return claim


def enter_stage(stage: str, root=None):
    """Call first in a flow's `__main__`: exit with the parent, take (or share) the lock, and use
    the run's Prefect server (one per `dvc repro`, emsync/pipeline/prefect_server.py)."""
    from emsync.core.redact import quiet_prefect_logs
    from emsync.pipeline.prefect_server import use_run_server

    exit_with_parent()
    quiet_prefect_logs()  # redacted log lines; no Prefect traceback unless EMSYNC_DEBUG
    claim = hold_pipeline_lock(stage, root)
    sweep_stage_temps(stage, root)
    use_run_server()
    return claim


def sweep_stage_temps(stage: str, root=None) -> list:
    """Remove what a killed run of this stage left: emsync temp folders in the system temp folder,
    temp files and folders below the stage's outputs, whose process is gone (emsync.core.io.sweep_stale_temps)."""
    import tempfile

    from emsync.core.config import project_root
    from emsync.core.io import sweep_stale_temps

    root = Path(root or project_root(required=False) or ".")
    outs = stage_outputs(stage, root, active_params(root))
    trees = [o for o in outs if os.path.isdir(o)]
    folders = [tempfile.gettempdir()] + sorted(
        {os.path.dirname(o) for o in outs if not os.path.isdir(o) and os.path.isdir(os.path.dirname(o))}
    )
    return sweep_stale_temps(folders, trees)
