"""A warm start for the stages of one `dvc repro`: the heavy imports are paid once per run.

Every stage is a fresh `python -m flows.<name>` process, and 4-8 s of each is importing torch,
Prefect, great_expectations, scipy and the extractors' libraries (measured over the 37 demo
stages: about 170 s of a 570 s repro, README "Speed"). Here a run has one *warm runner*:

- The second flow stage of a `dvc repro` (DVC_STAGE set) starts it and runs cold itself (a run of
  one stage never starts one). The runner (`python -m emsync.pipeline.warm`, its own session)
  imports PRELOAD, builds Prefect's client models and freezes the collector's view of what it
  imported (`prime()`), then listens on a Unix socket in a private folder
  (<tmp>/emsync-warm-<uid>/, mode 0700), named after the run's `dvc` process like the run's
  Prefect server (emsync/pipeline/prefect_server.py).
- A later stage's `flows/__init__.py` calls `hand_over()` before anything heavy is imported: it
  sends its argv, working folder, environment and standard streams (the file descriptors
  themselves) to the runner, which forks. The child becomes that stage: the stage's folder,
  environment, streams and `python -m` module, and the pipeline's process tree starts from the
  stage process (it still exits with `dvc`, emsync/pipeline/process_tree.py). The stage process
  waits, passes on SIGINT/SIGTERM/SIGHUP, and exits with the child's status; when it is killed,
  the child sees its socket close and stops as if its parent had died.
- The runner stops when the `dvc` process ends (however it ends) and removes its socket.

The child is the same code on the same inputs: only imports are shared, never a project module
or any state of a flow (the runner imports no emsync module beyond this one). Nothing else
changes: a flow run directly (but see EMSYNC_WARM_SOCKET below) or with EMSYNC_WARM=0 starts
cold, and any failure to reach the runner falls back to a cold start.

Outside `dvc repro`, a process that runs many flows itself (the test session, tests/conftest.py)
may own a runner: `spawn_runner(owner, socket, env)`, and EMSYNC_WARM_SOCKET=<socket> in the
environment of the `python -m flows.<x>` (and `python -m emsync`) processes it starts. Under
`dvc repro` that variable is ignored (the run has its own runner); a flow whose import-time
variables differ starts cold.
"""

import atexit
import contextlib
import fcntl
import json
import os
import selectors
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

WARM_ENV = "EMSYNC_WARM"  # "0": every stage starts cold
SOCKET_ENV = "EMSYNC_WARM_SOCKET"  # a runner's socket for flows run outside dvc repro (spawn_runner)
PRELOAD_ENV = "EMSYNC_WARM_PRELOAD"  # comma-separated modules instead of PRELOAD
PRELOAD = (
    "numpy",
    "pandas",
    "pyarrow.parquet",
    "scipy.signal",
    "torch",
    "torch._dynamo",  # torch.optim's first optimizer imports it (1.5 s)
    "prefect",
    "prefect.flows",
    "prefect.tasks",
    "fastapi.encoders",  # a flow run's parameters are serialized with it (imported at each run otherwise)
    "great_expectations",
    "matplotlib",  # not pyplot: the stage picks its backend, as it would cold
    "sklearn",
    "transformers",
    "open_clip",
    "duckdb",
    "av",
    "cv2",
)
# variables the preloaded libraries read when imported (thread pools, paths, backends): a stage
# whose values differ from the runner's starts cold
IMPORT_ENV = (
    "OMP_",
    "MKL_",
    "OPENBLAS_",
    "KMP_",
    "NUMEXPR_",
    "TORCH",
    "CUDA_",
    "PYTHON",
    "LD_",
    "LC_",
    "LANG",
    "MPLBACKEND",
    "HF_",
    "TRANSFORMERS_",
    PRELOAD_ENV,
)
OWNER_POLL_S = 0.5
_HEADER = struct.Struct("!I")
_in_child = False  # set in a forked stage: its own `flows` import must not hand over again


# --- where a run's runner listens ---------------------------------------------------------------


def socket_path(owner: int) -> Path:
    """<tmp>/emsync-warm-<uid>/<owner pid>-<owner start time>.sock"""
    from emsync.pipeline.prefect_server import start_time

    return Path(tempfile.gettempdir()) / f"emsync-warm-{os.getuid()}" / f"{owner}-{start_time(owner)}.sock"


# --- the stage's side ---------------------------------------------------------------------------


def _module_run_by_m():
    """The module of `python -m <module>` while its package is being imported, else None."""
    argv = getattr(sys, "orig_argv", [])
    if sys.argv[:1] != ["-m"] or argv[1:2] != ["-m"] or len(argv) < 3:  # interpreter flags (-u, -X ...): cold
        return None
    return argv[2]


def hand_over(package: str) -> None:
    """Called by `flows/__init__.py`: under `dvc repro`, let the run's warm runner run this
    `python -m flows.<x>` and exit with its status; start the runner when there is none yet.
    Outside `dvc repro`, hand over only to the runner EMSYNC_WARM_SOCKET names (never start one).
    Returns (and the stage starts cold) when it cannot."""
    module = _module_run_by_m()
    if _in_child or not module or not module.startswith(package + ".") or _warm_off():
        return
    if not os.environ.get("DVC_STAGE"):
        chosen = os.environ.get(SOCKET_ENV, "").strip()
        if chosen:
            _hand_over_to(Path(chosen), module)
        return
    from emsync.pipeline.process_tree import dvc_process

    owner = dvc_process()
    if owner is None:
        return
    path = socket_path(owner)
    if not _hand_over_to(path, module):
        _start_once(owner, path)


def hand_over_cli() -> None:
    """Called by `emsync/__main__.py`: outside `dvc repro`, a `python -m emsync ...` hands over to
    the runner EMSYNC_WARM_SOCKET names, as a flow does (the test session's runner); else returns."""
    chosen = os.environ.get(SOCKET_ENV, "").strip()
    if _in_child or not chosen or os.environ.get("DVC_STAGE") or getattr(sys, "orig_argv", [])[1:3] != ["-m", "emsync"] or _warm_off():
        return
    _hand_over_to(Path(chosen), "emsync")


def _warm_off() -> bool:
    return os.environ.get(WARM_ENV, "1").strip() in ("0", "false", "no")


def _hand_over_to(path: Path, module: str) -> bool:
    """Run this stage in the runner at `path` and exit with its status. False when no runner
    listens there; True (and this process runs the stage itself) when the runner refused it."""
    try:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        conn.connect(str(path))
    except OSError:
        return False
    status = _run_remotely(conn, module)
    if status is not None:
        sys.exit(status)
    return True


def _start_once(owner: int, path: Path) -> None:
    """Start the run's runner at its second flow stage (a run of one stage, `dvc repro -s X`,
    never pays for the imports twice), and once per run: its PID file says it was started."""
    from emsync.pipeline.prefect_server import pythonpath_with_this_package

    path.parent.mkdir(mode=0o700, exist_ok=True)
    _sweep(path.parent)
    pidfile = path.with_suffix(".pid")
    with open(pidfile, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        f.seek(0)
        seen = f.read().strip()
        if seen != "first-stage":  # "": this is the first stage; a PID: started (running, or it could not serve)
            if not seen:
                f.write("first-stage")
            return
        env = dict(os.environ, PYTHONPATH=pythonpath_with_this_package(os.environ))
        env.pop("DVC_STAGE", None)
        proc = spawn_runner(owner, path, env, digest=import_env_digest(os.environ))
        f.seek(0)
        f.truncate()
        f.write(str(proc.pid))


def spawn_runner(owner: int, path: Path, env: dict, digest: str | None = None) -> subprocess.Popen:
    """Start a runner (its own session, log at <path>.log) that serves the stages whose import-time
    variables are those of `env` (or whose import_env_digest is `digest`) at the socket `path`,
    until the process `owner` ends. It listens once its imports are done; until then a flow that
    comes starts cold."""
    from emsync.pipeline.prefect_server import start_time

    argv = [sys.executable, "-m", "emsync.pipeline.warm", "--owner", str(owner), "--owner-start", str(start_time(owner))]
    argv += ["--import-env", digest or import_env_digest(env), "--socket", str(path)]
    with open(str(path) + ".log", "w") as log:
        return subprocess.Popen(
            argv, env=env, cwd=os.getcwd(), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )


def _sweep(folder: Path) -> None:
    """Remove the files of runs whose `dvc` process is gone (a run of one stage leaves its
    first-stage mark; a runner removes its own files when it stops)."""
    from emsync.pipeline.prefect_server import alive

    for f in folder.iterdir():
        pid, _, rest = f.name.partition("-")
        started = rest.split(".", 1)[0]
        if pid.isdigit() and started.isdigit() and not alive(int(pid), started):
            with contextlib.suppress(OSError):
                f.unlink()


def _package_dir() -> str:
    return str(Path(__file__).resolve().parents[1])  # the emsync package this process imports


def import_env_digest(env) -> str:
    """A digest of the import-time variables (a digest: HF_TOKEN and the like never leave the process)."""
    import hashlib

    chosen = sorted((k, v) for k, v in env.items() if k.startswith(IMPORT_ENV))
    return hashlib.sha256(json.dumps(chosen).encode()).hexdigest()


def _run_remotely(conn: socket.socket, module: str):
    """Send this stage to the runner; forward signals; return the exit status to exit with, or
    None when the runner refused it (another emsync checkout, or other import-time settings)."""
    job = {
        "module": module,
        "argv": sys.orig_argv[3:],
        "cwd": os.getcwd(),
        "env": dict(os.environ),
        "pid": os.getpid(),
        "package": _package_dir(),
    }
    body = json.dumps(job).encode()
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    socket.send_fds(conn, [_HEADER.pack(len(body))], [0, 1, 2])
    conn.sendall(body)
    child = None

    def forward(signum, frame):
        if child:
            with contextlib.suppress(OSError):
                os.kill(child, signum)

    forwarded = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
    before = {s: signal.signal(s, forward) for s in forwarded}
    reader = conn.makefile("r")
    for line in reader:
        msg = json.loads(line)
        if "refused" in msg:  # this process runs the stage itself: its own signal handling back
            for s, handler in before.items():
                signal.signal(s, handler)
            return None
        if "pid" in msg:
            child = msg["pid"]
        elif "status" in msg:
            st = msg["status"]
            if os.WIFSIGNALED(st):  # end the way the child ended
                sig = os.WTERMSIG(st)
                signal.signal(sig, signal.SIG_DFL)
                os.kill(os.getpid(), sig)
            return os.waitstatus_to_exitcode(st)
    print("emsync: the warm runner stopped while running this stage", file=sys.stderr)
    return 1


# --- the runner ---------------------------------------------------------------------------------


def preload(modules=None) -> list:
    """Import what the stages import (those that fail to import are left to the stages)."""
    import importlib

    if modules is None:
        chosen = os.environ.get(PRELOAD_ENV, "").strip()
        modules = [m.strip() for m in chosen.split(",") if m.strip()] if chosen else PRELOAD

    loaded = []
    for name in modules:
        try:
            importlib.import_module(name)
            loaded.append(name)
        except Exception:  # noqa: BLE001 - an optional library; the stage reports its own error
            pass
    return loaded


def prime() -> int:
    """What each stage would otherwise redo after the fork, done once here (measured on the demo
    features stages, 2 cores: about 1 s of a 4 s warm stage):
    - the Prefect client's pydantic models are built at their first use (a flow run's
      FlowRunCreate...): build them now, as their first use would (a model that cannot be built yet
      is left to it);
    - the collector: a stage's full collection walks every object the imports made (0.8 M: 0.5 s
      each time) and, in a forked child, writes into each one's header, copying the runner's memory
      page by page. gc.freeze() sets those objects aside for good, as Python's docs advise before
      fork(); objects a stage creates are collected as before.
    Returns the number of models built."""
    import gc

    built = 0
    base = getattr(sys.modules.get("pydantic"), "BaseModel", None)
    prefect = [(n, m) for n, m in list(sys.modules.items()) if n.startswith("prefect") and m is not None] if base else []
    for name, module in prefect:
        for obj in list(vars(module).values()):
            if isinstance(obj, type) and issubclass(obj, base) and obj.__module__ == name and not obj.__pydantic_complete__:
                try:
                    obj.model_rebuild()
                    built += 1
                except Exception:  # noqa: BLE001 - a forward reference not importable yet: its first use builds it
                    pass
    gc.collect()
    gc.freeze()
    return built


def _recv_job(conn: socket.socket):
    """A stage's job and its three streams; None (nothing kept open) for anything malformed."""
    fds = []
    try:
        data, fds, _, _ = socket.recv_fds(conn, _HEADER.size, 3)
        (n,) = _HEADER.unpack(data)
        body = b""
        while len(body) < n:
            chunk = conn.recv(n - len(body))
            if not chunk:
                break
            body += chunk
        job = json.loads(body)
        if len(fds) != 3 or not {"module", "argv", "cwd", "env", "pid"} <= set(job):
            raise ValueError("incomplete job")
    except (OSError, ValueError, struct.error):
        for fd in fds:
            os.close(fd)
        return None
    job["fds"] = fds
    return job


def serve(owner: int, owner_start: str, path: Path, env_digest: str):
    """Accept stages until the owner ends. Returns None in the runner; in a forked child, the job
    it is to run. `env_digest`: that of the stage that started the runner (import_env_digest)."""
    from emsync.pipeline.prefect_server import alive

    runner = os.getpid()
    tmp = path.with_name(path.name + f".{os.getpid()}")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(str(tmp))
    listener.listen(16)
    os.replace(tmp, path)  # ready: clients that connect from now on are served
    sel = selectors.DefaultSelector()
    sel.register(listener, selectors.EVENT_READ)
    running = {}  # child pid -> its stage's connection
    try:
        while alive(owner, owner_start):
            for _ in sel.select(timeout=OWNER_POLL_S):
                conn, _ = listener.accept()
                conn.settimeout(10)  # a client that connects and says nothing does not hold the runner
                job = _recv_job(conn)
                conn.settimeout(None)
                if job is not None and (job.get("package") != _package_dir() or import_env_digest(job["env"]) != env_digest):
                    with contextlib.suppress(OSError):
                        conn.sendall(b'{"refused": "another checkout or other import-time settings"}\n')
                    for fd in job["fds"]:
                        os.close(fd)
                    job = None
                if job is None:
                    conn.close()
                    continue
                for stream in (sys.stdout, sys.stderr):
                    stream.flush()
                pid = os.fork()
                if pid == 0:
                    sel.close()
                    listener.close()
                    for c in running.values():
                        c.close()
                    return job | {"conn": conn}
                for fd in job["fds"]:
                    os.close(fd)
                running[pid] = conn
                with contextlib.suppress(OSError):
                    conn.sendall(json.dumps({"pid": pid}).encode() + b"\n")
            _reap(running)
    finally:
        if os.getpid() == runner:  # not in a child leaving through `return job`
            for p in (path, path.with_suffix(".pid"), Path(str(path) + ".log")):
                p.unlink(missing_ok=True)
            with contextlib.suppress(OSError):
                path.parent.rmdir()
    return None


def _reap(running: dict) -> None:
    while running:
        try:
            pid, status = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return
        conn = running.pop(pid, None)
        if conn is not None:
            with contextlib.suppress(OSError):
                conn.sendall(json.dumps({"status": status}).encode() + b"\n")
            conn.close()


def become(job: dict) -> None:
    """In the forked child: take the stage's streams, folder, environment and place in the
    process tree, then run its module as `python -m` would."""
    import random
    import runpy

    global _in_child
    _in_child = True
    for i, fd in enumerate(job["fds"]):
        os.dup2(fd, i)
        os.close(fd)
    sys.stdout.reconfigure(line_buffering=os.isatty(1))  # as a cold start on these streams would
    os.chdir(job["cwd"])
    os.environ.clear()
    os.environ.update(job["env"])
    if "prefect.context" in sys.modules:  # Prefect read its settings when the runner imported it
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()
    signal.signal(signal.SIGINT, signal.default_int_handler)
    for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGCHLD):
        signal.signal(s, signal.SIG_DFL)
    random.seed()  # fresh per process, as a cold start would have (the flows seed what they need)
    if "numpy" in sys.modules:
        sys.modules["numpy"].random.seed()
    from emsync.pipeline import process_tree

    process_tree.stand_in_for(job["pid"])
    conn = job["conn"]

    def watch_stage():  # the stage process is gone (killed): stop as if our parent had died
        with contextlib.suppress(OSError):
            while conn.recv(1):
                pass
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch_stage, name="emsync-stage-watch", daemon=True).start()
    sys.path[0] = job["cwd"]
    sys.argv = [job["module"], *job["argv"]]
    global _exit
    try:
        runpy.run_module(job["module"], run_name="__main__", alter_sys=True)
    except SystemExit as e:
        if e.code is None or isinstance(e.code, int):
            _exit = e.code or 0
        else:
            print(e.code, file=sys.stderr)
            _exit = 1
    except BaseException as e:  # noqa: BLE001 - reported as an uncaught exception would be (the flows' hook)
        sys.excepthook(type(e), e, e.__traceback__)
        _exit = -signal.SIGINT if isinstance(e, KeyboardInterrupt) else 1


_exit = 0  # a forked stage's exit status (negative: the signal it ends by)


def _end_child() -> None:
    """Registered before any preloaded library's handlers, so it runs after all of them (atexit is
    last in, first out; threads are joined before atexit): a stage forked by the runner ends here,
    without tearing down every module the runner imported (4 s on 2 busy cores). Streams are flushed;
    files are closed by the code that wrote them (atomic writes, emsync/core/io.py)."""
    if not _in_child:
        return
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    if _exit < 0:
        signal.signal(-_exit, signal.SIG_DFL)
        os.kill(os.getpid(), -_exit)
    os._exit(_exit)


def main(argv=None) -> None:
    import argparse

    ap = argparse.ArgumentParser(description="the warm runner of one dvc repro (emsync/pipeline/warm.py)")
    ap.add_argument("--owner", type=int, required=True)
    ap.add_argument("--owner-start", required=True)
    ap.add_argument("--socket", required=True)
    ap.add_argument("--import-env", required=True, help="import_env_digest of the stage that started it")
    a = ap.parse_args(argv)
    atexit.register(_end_child)  # first registered: runs last
    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(0))
    t0 = time.monotonic()
    loaded = preload()
    prime()
    if threading.active_count() != 1:  # forking a process with threads is unsafe: stay cold
        print(f"warm runner: {threading.active_count()} threads after the imports; not serving", file=sys.stderr)
        return
    print(f"warm runner: {len(loaded)} modules in {time.monotonic() - t0:.1f} s", file=sys.stderr)
    job = serve(a.owner, a.owner_start, Path(a.socket), a.import_env)
    if job is not None:
        become(job)


if __name__ == "__main__":
    main()
