"""Runs that do not trample each other (issue 10 item 7). Every flow's entry point calls
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
import signal
import sys
import threading
import time
from pathlib import Path

from emsync.errors import EmsyncError

PR_SET_PDEATHSIG = 1
_held = []  # the lock object, kept alive for the life of the process


class LockedError(EmsyncError):
    """Another run holds the pipeline lock."""


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def exit_with_parent(poll_s: float = 1.0):
    """SIGTERM this process when its parent dies (now, or already before this call)."""
    parent = os.getppid()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm)
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass

    def watch():
        while True:
            if os.getppid() != parent:  # reparented: the parent is gone
                os.kill(os.getpid(), signal.SIGTERM)
                return
            time.sleep(poll_s)

    if os.getppid() != parent or parent == 1:
        return
    threading.Thread(target=watch, name="emsync-parent-watch", daemon=True).start()


def stage_outputs(stage: str, root: Path) -> list:
    """Absolute paths of a dvc.yaml stage's outs, metrics and plots ([] if no such stage)."""
    import yaml

    try:
        stages = yaml.safe_load((root / "dvc.yaml").read_text())["stages"]
    except (OSError, KeyError, TypeError, yaml.YAMLError):
        return []
    out = []
    for kind in ("outs", "metrics", "plots"):
        for o in (stages.get(stage) or {}).get(kind, []):
            path = next(iter(o)) if isinstance(o, dict) else o
            if "${" not in path:
                out.append(os.path.abspath(root / path))
    return out


def hold_pipeline_lock(stage: str, root=None):
    """Claim the stage's outputs in DVC's own read/write lock (.dvc/tmp/rwlock, the one `dvc repro`
    holds while a stage's command runs) for this process's life; refuse with one line while
    another run (a `dvc repro`, another `emsync run`) writes or reads them. No-op under
    `dvc repro` (DVC claimed them for us) and outside a DVC repository."""
    if os.environ.get("DVC_STAGE"):
        return None
    if int(os.environ.get("RANK", "0")) > 0:  # under torchrun, rank 0 holds it for the whole job
        return None
    from emsync.config import project_root

    root = Path(root or project_root())
    outs = stage_outputs(stage, root)
    if not (root / ".dvc").is_dir() or not outs:
        return None
    import atexit

    from dvc.fs import localfs
    from dvc.lock import LockError
    from dvc.rwlock import rwlock

    tmp = root / ".dvc" / "tmp"
    tmp.mkdir(parents=True, exist_ok=True)
    claim = rwlock(str(tmp), localfs, f"emsync run {stage}", [], outs, False)
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
    """Call first in a flow's `__main__`: exit with the parent, then take (or share) the lock."""
    from emsync.redact import quiet_prefect_logs

    exit_with_parent()
    quiet_prefect_logs()  # redacted log lines; no Prefect traceback unless EMSYNC_DEBUG
    return hold_pipeline_lock(stage, root)
