"""The processes above a flow: the `dvc` process a stage runs under, and exiting when the parent
dies (runguard.enter_stage and the per-run Prefect server both ask; neither imports the other
for it).

The kernel sends SIGTERM when the parent goes (prctl PR_SET_PDEATHSIG, Linux), a watch thread
does the same where prctl is missing or an intermediate shell was reparented, and SIGTERM unwinds
like Ctrl-C so `finally` blocks and atomic writes clean up.
"""

import os
import signal
import sys
import threading
import time
from pathlib import Path

PR_SET_PDEATHSIG = 1
_origin = None  # the process that stands for this one in the tree (a warm-started stage: its stage process)


def stand_in_for(pid: int) -> None:
    """Take `pid`'s place in the process tree: its parent is ours and its ancestors are ours, for
    `dvc_process` and `exit_with_parent` (a stage forked by the warm runner, emsync/pipeline/warm.py)."""
    global _origin
    _origin = pid


def _self() -> int:
    return _origin or os.getpid()


def _parent():
    return _ppid_of(_origin) if _origin else os.getppid()


def _sigterm(signum, frame):
    raise KeyboardInterrupt


def _ppid_of(pid: int):
    """Parent PID of `pid` from /proc (None when it is gone or /proc is missing)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("PPid:"):
                return int(line.split()[1])
    except (OSError, ValueError):
        return None
    return None


def _is_dvc(pid: int) -> bool:
    """Whether `pid` runs the dvc CLI (`dvc ...`, `python .../dvc ...`, `python -m dvc ...`)."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace").split("\0")
    except OSError:
        return False
    return any(os.path.basename(a) == "dvc" for a in argv[:3])


def _ancestors(max_depth: int = 4) -> list:
    """(pid, ppid) of the processes between us and the one that started the run: just the parent,
    or, under `dvc repro` (DVC_STAGE set), every ancestor up to the `dvc` process. DVC runs a
    stage through `$SHELL -c`, and a shell that forks instead of exec-ing (dash) stands between
    dvc and the flow; when dvc is killed that shell is reparented, not killed."""
    chain, pid = [], _self()
    for _ in range(max_depth):
        parent = _ppid_of(pid)
        if parent is None or parent <= 1:
            break
        chain.append((parent, _ppid_of(parent)))
        if not os.environ.get("DVC_STAGE") or _is_dvc(parent):
            break
        pid = parent
    return chain


def dvc_process(max_depth: int = 4):
    """PID of the `dvc` process this stage runs under (DVC_STAGE set), else None."""
    if not os.environ.get("DVC_STAGE"):
        return None
    pid = _self()
    for _ in range(max_depth):
        pid = _ppid_of(pid)
        if pid is None or pid <= 1:
            return None
        if _is_dvc(pid):
            return pid
    return None


def exit_with_parent(poll_s: float = 1.0):
    """SIGTERM this process when its parent dies (now, or already before this call); under
    `dvc repro`, also when any process between us and `dvc` is orphaned."""
    parent = _parent()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _sigterm)
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        except (OSError, AttributeError):
            pass
    if parent is None or _parent() != parent or parent == 1:
        return
    chain = _ancestors()

    def broken():
        if _parent() != parent:  # reparented: the parent is gone
            return True
        return any(_ppid_of(pid) != ppid for pid, ppid in chain)  # an ancestor gone or orphaned

    def watch():
        while not broken():
            time.sleep(poll_s)
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, name="emsync-parent-watch", daemon=True).start()
