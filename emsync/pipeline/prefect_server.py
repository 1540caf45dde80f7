"""One local Prefect server per run, shared by every flow process of that run.

A flow process without PREFECT_API_URL starts Prefect's temporary server (uvicorn + SQLite) for
itself: 10-15 s of a 2-core machine per process, paid again by every stage of a `dvc repro` and by
every flow a test runs in a subprocess. Here a *run* (one `dvc repro`, one pytest session) has one:

- `start(owner)` binds a free port on 127.0.0.1 and starts the server detached, in a process of
  its own (`python -m emsync.pipeline.prefect_server`, below) with a private PREFECT_HOME in a temporary
  folder. The socket listens before the server has loaded, so a client that comes early waits in
  the queue instead of being refused.
- Its SQLite database starts as a copy of an empty, already migrated one (`seed_database`): Prefect's
  migrations cost ~6 of the ~11 CPU-seconds a new server takes to start on a 2-core machine. The
  first server of a Prefect version migrates as usual and keeps an empty copy for the next ones.
- The server watches its owner (a PID and that process's start time, so a reused PID is not
  mistaken for it) and stops when the owner ends, however it ends (`kill -9` included): it
  removes its PREFECT_HOME and its record and exits; no process, port or file is left.
- `use_run_server()` (called by `runguard.enter_stage` in every flow's `__main__`): under `dvc repro`
  (DVC_STAGE set) the owner is the `dvc` process the stage runs under, so the first stage starts
  the server and the later ones find it through its record (`record_path(owner)`); this process
  then talks to it through PREFECT_API_URL. A PREFECT_API_URL already set (the user's own server,
  or the one a pytest session exported, tests/conftest.py) is used as it is; a flow run directly
  (`python -m flows.x`) keeps Prefect's temporary server. When the run's server cannot start, the
  flow says so in one line and falls back to the temporary server.

`emsync bench prefect_server` measures the per-stage overhead both ways (numbers in the README).
"""

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

STARTUP_TIMEOUT_S = 180.0  # Prefect's own ephemeral start-up allowance on a busy 2-core box
OWNER_POLL_S = 0.5
# what the server process runs with: a private home (its SQLite database), no UI, no telemetry,
# Prefect's ephemeral-server profile (no scheduling services: a run's flows don't need them), and
# none of the event consumers that profile keeps. Task runs reach a server only as events, and this
# database goes with the run, unread: recording them (task-run recorder), storing the events
# (persister) and evaluating automations on them (triggers, actions) cost the server 34.7 CPU-ms per
# task run on the 2-core box, 2.8 without (`emsync bench prefect_server`, README "One Prefect server
# per run"). Flow runs, their states and deployments are API calls and are all still recorded.
SERVER_ENV = {
    "PREFECT_UI_ENABLED": "false",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT__SERVER_EPHEMERAL": "1",
    "PREFECT__SERVER_FINAL": "1",
    "PREFECT_LOGGING_LEVEL": "WARNING",
    "PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED": "false",
    "PREFECT_SERVER_SERVICES_ACTIONS_ENABLED": "false",
}
# how often the server's background-task worker (docket) looks for work; Prefect's 0.25 s is a Lua
# script on the in-memory Redis 4 times a second (with the event services: 2.8% of a core while the
# server idles; without them and polling every 2 s: 1.4%, the same benchmark)
BACKGROUND_POLL_S = 2.0
POLL_ENV = "EMSYNC_PREFECT_POLL_S"  # the server process's poll interval instead (the benchmark's 0.25: Prefect's)
SERVER_ENV_DROP = ("PREFECT_API_URL", "PREFECT_API_DATABASE_CONNECTION_URL", "PREFECT_PROFILES_PATH")


@dataclass(frozen=True)
class RunServer:
    api: str  # http://127.0.0.1:<port>/api
    pid: int  # the server process
    owner: int  # the process whose life it shares
    home: str  # its private PREFECT_HOME (removed when it stops)


# --- processes ----------------------------------------------------------------------------------


def _stat(pid: int):
    """The fields of /proc/<pid>/stat after the command name (None when the process is gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()  # the name may hold spaces
    except (OSError, IndexError):
        return None


def start_time(pid: int):
    """The kernel's start time of `pid` (clock ticks since boot; None when it is gone)."""
    fields = _stat(pid)
    return fields[19] if fields else None  # field 22 of proc(5)


def alive(pid: int, started=None) -> bool:
    """Whether `pid` runs (and, given `started`, is still the process that started then)."""
    fields = _stat(pid)
    return bool(fields) and fields[0] != "Z" and (started is None or fields[19] == started)


def healthy(api: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{api}/health", timeout=timeout) as r:
            return r.status == 200
    except OSError:
        return False


def wait_healthy(server: RunServer, timeout: float = STARTUP_TIMEOUT_S) -> None:
    """Block until the server answers /health; RuntimeError when it exits or the time runs out."""
    deadline = time.monotonic() + timeout
    while not healthy(server.api):
        if not alive(server.pid):
            log = Path(server.home + ".log")
            tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
            raise RuntimeError(f"the run's Prefect server (PID {server.pid}) exited while starting: {' '.join(tail)} ({log})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"the run's Prefect server at {server.api} did not answer within {timeout:.0f} s")
        time.sleep(0.2)


# --- records: how the processes of one run find its server -------------------------------------


def record_path(owner: int) -> Path:
    """<tmp>/emsync-prefect-<uid>/<owner pid>-<owner start time>.json"""
    return Path(tempfile.gettempdir()) / f"emsync-prefect-{os.getuid()}" / f"{owner}-{start_time(owner)}.json"


def _read(rec: Path):
    try:
        d = json.loads(rec.read_text() or "null")
        return RunServer(**d) if d else None
    except (OSError, ValueError, TypeError):
        return None


@contextlib.contextmanager
def _locked(rec: Path):
    """An exclusive lock on the record file (created empty if needed) while the server is chosen."""
    rec.parent.mkdir(mode=0o700, exist_ok=True)
    with open(rec, "a+") as f:
        fcntl.flock(f, fcntl.LOCK_EX)
        yield


# --- starting one -------------------------------------------------------------------------------


def pythonpath_with_this_package(env) -> str:
    """`env`'s PYTHONPATH with the folder holding this emsync package first, for a helper process
    started by `python -m emsync.pipeline.<x>` from anywhere (the run's server, the warm runner)."""
    package_parent = str(Path(__file__).resolve().parents[2])
    return os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))


def start(owner: int, record: Path | None = None, env_overrides: dict | None = None) -> RunServer:
    """Start a server that lives as long as `owner`; return at once (see `wait_healthy`).
    `env_overrides`: variables over SERVER_ENV (the benchmark's server with Prefect's own services)."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    sock.listen(256)  # early clients queue until uvicorn accepts
    port = sock.getsockname()[1]
    home = tempfile.mkdtemp(prefix="emsync-prefect-home-")
    env = {k: v for k, v in os.environ.items() if k not in SERVER_ENV_DROP}
    env.update(SERVER_ENV, **(env_overrides or {}), PREFECT_HOME=home, PYTHONPATH=pythonpath_with_this_package(env))
    argv = [sys.executable, "-m", "emsync.pipeline.prefect_server", "--owner", str(owner), "--owner-start", str(start_time(owner))]
    argv += ["--fd", str(sock.fileno()), "--home", home] + (["--record", str(record)] if record else [])
    with open(home + ".log", "w") as log:  # kept only when the server fails
        proc = subprocess.Popen(
            argv,
            env=env,
            cwd=home,
            pass_fds=[sock.fileno()],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    sock.close()
    return RunServer(api=f"http://127.0.0.1:{port}/api", pid=proc.pid, owner=owner, home=home)


def find_or_start(owner: int) -> RunServer:
    """The server of `owner`'s run: the one its record names if that one is up, else a new one."""
    rec = record_path(owner)
    with _locked(rec):
        server = _read(rec)
        if server is None or not alive(server.pid):
            server = start(owner, record=rec)
            rec.write_text(json.dumps(server.__dict__))
    return server


def point_prefect_at(api: str) -> None:
    """This process's Prefect client (and every process it starts) talks to `api`, the run's own
    server (so no flow-run heartbeats: emsync.core.env.skip_heartbeats_on_run_server)."""
    from emsync.core.env import RUN_SERVER_ENV, skip_heartbeats_on_run_server

    os.environ["PREFECT_API_URL"] = os.environ[RUN_SERVER_ENV] = api
    if "prefect.context" in sys.modules:  # Prefect read its settings when imported: re-read them
        from prefect.context import refresh_global_settings_context

        refresh_global_settings_context()
    skip_heartbeats_on_run_server()


def use_run_server():
    """Under `dvc repro`: point this flow process at the run's server (start it if this is the
    first stage). Returns its URL, or None where Prefect keeps its own way (PREFECT_API_URL set,
    or not under dvc: the temporary server)."""
    if os.environ.get("PREFECT_API_URL"):
        from emsync.core.env import skip_heartbeats_on_run_server

        skip_heartbeats_on_run_server()  # the run's server, inherited from the process that started it
        return None
    if not os.environ.get("DVC_STAGE"):
        return None
    from emsync.pipeline.process_tree import dvc_process

    owner = dvc_process()
    if owner is None:
        return None
    try:
        server = find_or_start(owner)
        wait_healthy(server)
    except (OSError, RuntimeError) as e:
        print(f"emsync: the run's Prefect server is not available ({e}); this stage uses a temporary one", file=sys.stderr)
        return None
    point_prefect_at(server.api)
    return server.api


# --- the server process -------------------------------------------------------------------------


def _watch_owner(server, owner: int, owner_start: str) -> None:
    while not server.should_exit:
        if not alive(owner, owner_start):
            server.should_exit = True
            break
        time.sleep(OWNER_POLL_S)
    time.sleep(30)  # a shutdown that hangs (a stuck request): leave anyway
    os.kill(os.getpid(), signal.SIGKILL)


def template_path() -> Path:
    """<tmp>/emsync-prefect-db-<uid>/prefect-<version>-<digest of its SQLite migrations>.db"""
    import prefect

    migrations = Path(prefect.__file__).parent / "server" / "database" / "_migrations" / "versions" / "sqlite"
    names = sorted(p.name for p in migrations.glob("*.py"))  # found, not imported (prefect.server.database: 0.7 s)
    if not names:  # another layout: no template rather than one shared across schemas
        raise RuntimeError(f"no SQLite migrations under {migrations}")
    digest = hashlib.sha256("\n".join(names).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"emsync-prefect-db-{os.getuid()}" / f"prefect-{prefect.__version__}-{digest}.db"


def is_migrated(db: Path) -> bool:
    """Whether `db` is a readable SQLite file that Prefect's migrations have run on."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
            return c.execute("SELECT count(*) FROM alembic_version").fetchone()[0] == 1
    except sqlite3.Error:
        return False


def _ours(folder: Path) -> bool:
    """Whether `folder` exists and only this user can write to it (never read a database from anyone else's)."""
    try:
        st = folder.stat()
    except OSError:
        return False
    return st.st_uid == os.getuid() and not st.st_mode & 0o077


def copy_template(db: Path) -> bool:
    """Copy the empty, migrated template database to `db`; False where there is none (yet)."""
    tpl = template_path()
    if not (_ours(tpl.parent) and is_migrated(tpl)):
        return False
    shutil.copyfile(tpl, db)
    return True


def seed_database(home: str) -> None:
    """Give the server in `home` a migrated, empty database before it starts: a copy of the
    template (then Prefect finds nothing to migrate), or, where there is none yet, migrate a new one
    here and keep a copy of it as the template. Nothing where another database is configured or
    the template folder is not ours."""
    from prefect.settings import get_current_settings

    db = Path(home) / "prefect.db"
    if get_current_settings().server.database.connection_url.get_secret_value() != f"sqlite+aiosqlite:///{db}" or copy_template(db):
        return
    tpl = template_path()
    tpl.parent.mkdir(mode=0o700, exist_ok=True)
    if not _ours(tpl.parent):
        return
    import asyncio

    from prefect.server.database import provide_database_interface

    asyncio.run(provide_database_interface().create_db())  # Prefect's own start-up migration, run early
    tmp = tpl.with_name(f".{tpl.name}.{os.getpid()}")
    with contextlib.closing(sqlite3.connect(db)) as src, contextlib.closing(sqlite3.connect(tmp)) as dst:
        src.backup(dst)  # a consistent copy, whatever is still in the write-ahead log
        dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file (Prefect's is in WAL mode)
    os.replace(tmp, tpl)


def _poll_background_work_less() -> None:
    """The server's docket worker polls every BACKGROUND_POLL_S instead of 0.25 s (Prefect builds it
    with docket's defaults and offers no setting). Its work in a run's server: marking work pools
    and deployments ready, deleting a deleted run's logs; none of it is waited on by a flow."""
    import datetime
    import functools

    import docket

    init = docket.Worker.__init__
    if getattr(init, "_emsync_poll", False):
        return
    every = datetime.timedelta(seconds=float(os.environ.get(POLL_ENV) or BACKGROUND_POLL_S))

    @functools.wraps(init)
    def patched(self, *args, **kwargs):
        kwargs.setdefault("minimum_check_interval", every)
        kwargs.setdefault("scheduling_resolution", every)
        init(self, *args, **kwargs)

    patched._emsync_poll = True
    docket.Worker.__init__ = patched


def serve(owner: int, owner_start: str, fd: int, home: str, record: str | None) -> None:
    """Serve Prefect's API on the inherited socket until `owner` ends; then remove every trace."""
    clean = False
    try:
        import uvicorn

        try:
            seed_database(home)
        except Exception as e:  # noqa: BLE001 -- Prefect migrates at start-up as usual
            print(f"emsync: no seeded Prefect database ({e})", file=sys.stderr)

        _poll_background_work_less()
        sock = socket.socket(fileno=fd)
        config = uvicorn.Config(
            "prefect.server.api.server:create_app", factory=True, log_level="error", lifespan="on", timeout_graceful_shutdown=5
        )
        server = uvicorn.Server(config)
        threading.Thread(target=_watch_owner, args=(server, owner, owner_start), daemon=True).start()
        if alive(owner, owner_start):
            server.run(sockets=[sock])
        clean = True
    except SystemExit as e:  # _stop: SIGTERM before uvicorn took the signal over is a stop, not a failure
        clean = e.code in (0, None)
        raise
    finally:
        if record:
            _remove_record(Path(record))
        shutil.rmtree(home, ignore_errors=True)
        if clean:
            Path(home + ".log").unlink(missing_ok=True)


def _remove_record(rec: Path) -> None:
    """Remove the record (and its folder once empty); a record naming another server stays."""
    server = _read(rec)
    if server is None or server.pid == os.getpid():
        rec.unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        rec.parent.rmdir()


def _stop(signum, frame):
    raise SystemExit(0)  # unwinds through serve()'s clean-up (uvicorn takes SIGTERM over once it runs)


def main(argv=None) -> None:
    import argparse

    signal.signal(signal.SIGTERM, _stop)
    ap = argparse.ArgumentParser(description="a Prefect server that stops when its owner process ends")
    ap.add_argument("--owner", type=int, required=True)
    ap.add_argument("--owner-start", required=True)
    ap.add_argument("--fd", type=int, required=True, help="a listening socket to serve on")
    ap.add_argument("--home", required=True, help="its PREFECT_HOME, removed when it stops")
    ap.add_argument("--record", default=None, help="the record the run's processes find it by, removed when it stops")
    a = ap.parse_args(argv)
    serve(a.owner, a.owner_start, a.fd, a.home, a.record)


if __name__ == "__main__":
    main()
