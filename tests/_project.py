"""A test's own project folder: flows and `emsync` commands run with EMSYNC_ROOT set to it, so every
relative params path (output params must be relative: `paths: {data_dir: data}`) resolves there and
never in the checkout the tests run from; the checkout's code comes from PYTHONPATH."""

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

from _root import ROOT

# a guard against a hung subprocess, not a speed limit: a 2-core box shared by several runs is
# ten times slower than an idle one, and a test must not fail for that
HANG_S = 1800


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now (for a server or a process group a test starts)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def prefect_home(path) -> str:
    """A new PREFECT_HOME for a Prefect server a test starts itself (`prefect server start`, or a
    flow's temporary one) that holds a copy of the empty, migrated database the session's server
    keeps (emsync/pipeline/prefect_server.py): like a user's ~/.prefect after a first run, Prefect
    finds nothing to migrate (~6 CPU-s). Where there is no such copy it starts empty, as before."""
    from emsync.pipeline import prefect_server

    path = Path(path)
    path.mkdir(parents=True, exist_ok=True)
    prefect_server.copy_template(path / "prefect.db")
    return str(path)


def prefect_api(url, body=None, patience_s=120):
    """GET (or POST `body` to) the Prefect API at `url`. A busy SQLite-backed server answers 503 (database
    locked) or 429/502 now and then; like Prefect's own client, retry those with a back-off."""
    data = None if body is None else json.dumps(body).encode()
    deadline, wait = time.time() + patience_s, 0.5
    while True:
        req = urllib.request.Request(url, data=data, headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                return json.loads(r.read())
        except urllib.error.HTTPError as e:
            if e.code not in (429, 502, 503) or time.time() > deadline:
                raise
        time.sleep(wait)
        wait = min(wait * 2, 8)


def flow_env(project, params_file=None, results=None, **extra) -> dict:
    """os.environ (so the session's Prefect server) + EMSYNC_ROOT=project, the checkout's code on
    PYTHONPATH, and optionally EMSYNC_PARAMS and a Prefect result store of the test's own."""
    env = dict(os.environ, EMSYNC_ROOT=str(project), **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
    if params_file is not None:
        env["EMSYNC_PARAMS"] = str(params_file)
    if results is not None:
        env["PREFECT_LOCAL_STORAGE_PATH"] = str(results)
    return env


def run_module(project, module, *args, params_file=None, results=None, timeout=HANG_S, check=True, **extra):
    """`python -m <module> <args>` in `project` (see flow_env); with `check`, a non-zero exit fails
    the test with stderr's tail."""
    env = flow_env(project, params_file, results, **extra)
    r = subprocess.run(
        [sys.executable, "-m", module, *map(str, args)], cwd=Path(project), env=env, capture_output=True, text=True, timeout=timeout
    )
    if check:
        assert r.returncode == 0, r.stderr[-3000:]
    return r
