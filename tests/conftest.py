"""Shared fixtures. Real data is read in place from EMSYNC_SHARED_DATA (default ../shared/data)
and tests that need it skip cleanly when it is absent.

One Prefect server for the whole session: `pytest_configure` starts it (emsync/prefect_server.py)
in the background and exports PREFECT_API_URL, so every flow a test runs, in this process or in a
subprocess that inherits os.environ, uses it instead of starting Prefect's temporary server (10-15 s
each on 2 cores). Nothing waits for it: its socket listens from the start, so a client that comes
while it loads waits in the queue (the `prefect_api` fixture waits explicitly). It stops when the
session ends (or when pytest dies). A test that needs the temporary-server path removes
PREFECT_API_URL from its subprocess's environment (tests/test_prefect_server.py keeps one).
"""

import os
import tempfile
import time
from pathlib import Path

import pytest

from emsync import env
from emsync.config import shared_data_dir

# Tests keep their Prefect task cache and default reports folder out of the repository, so a
# developer's own pipeline runs never turn a test's "first run" into cache hits (and vice versa).
_TMP = tempfile.mkdtemp(prefix="emsync-tests-")
os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", os.path.join(_TMP, "prefect_results"))
os.environ.setdefault("EMSYNC_REPORTS_DIR", os.path.join(_TMP, "reports"))
env.apply_defaults()


def pytest_configure(config):
    """Start the session's Prefect server (unless PREFECT_API_URL names one already: the user's,
    or the controller's under pytest-xdist)."""
    if os.environ.get("PREFECT_API_URL"):
        return
    from emsync import prefect_server

    config._emsync_prefect_server = prefect_server.start(os.getpid())
    prefect_server.point_prefect_at(config._emsync_prefect_server.api)


def pytest_unconfigure(config):
    server = getattr(config, "_emsync_prefect_server", None)
    if server is not None:
        import signal
        import time

        from emsync import prefect_server

        os.kill(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while prefect_server.alive(server.pid) and time.monotonic() < deadline:
            time.sleep(0.1)


@pytest.fixture(scope="session")
def prefect_api():
    """The session's Prefect API URL (None when PREFECT_API_URL was unset), once it answers."""
    from emsync import prefect_server

    api = os.environ.get("PREFECT_API_URL")
    deadline = time.monotonic() + prefect_server.STARTUP_TIMEOUT_S
    while api and not prefect_server.healthy(api):
        assert time.monotonic() < deadline, f"the session's Prefect server at {api} did not start"
        time.sleep(0.2)
    return api


@pytest.fixture(scope="session")
def shared_data():
    d = shared_data_dir()
    if not (d / "MANIFEST.md").exists():
        pytest.skip(f"real data folder not found at {d} (set EMSYNC_SHARED_DATA)")
    return d


# --- demo data fixtures (emsync/demo): small seeded trees in the data/demo layout -------------


@pytest.fixture(scope="session")
def demo_corpus(tmp_path_factory):
    """40 LMD-like MIDI files + 4 planted duplicates + corrupt/truncated/empty/zero-note files,
    ground_truth/midi.json and the lmd/ tables. Attributes: root, midi_dir, ground_truth, seed."""
    from emsync.demo.build import build_demo_corpus

    return build_demo_corpus(tmp_path_factory.mktemp("demo_corpus"), seed=7, n_midi=40, n_duplicates=4)


@pytest.fixture(scope="session")
def demo_videos(tmp_path_factory):
    """4 short clips (6-12 s) with ground_truth/videos.json: demo00 speech + caption, demo01 music,
    demo02 no audio stream + caption, demo03 silence. Attributes: root, videos_dir, ground_truth, seed."""
    from emsync.demo.build import build_demo_videos

    return build_demo_videos(tmp_path_factory.mktemp("demo_videos"), seed=7, n_videos=4, min_s=6.0, max_s=10.0)


# --- running flows and a Prefect server (shared by the flow and operations tests) --------------


@pytest.fixture
def run_flow(prefect_api):
    """run_flow(name, params_file, results, timeout=400, **env) -> stdout of `python -m flows.<name>`
    run in the params file's folder as its project (`flow_env`): params name outputs relative to
    it (`paths: {data_dir: data, reports_dir: reports}`), as output params must be (tests/_project.py).
    Its own Prefect result store `results`; the session's Prefect server. A non-zero exit fails with
    stderr's tail."""
    from _project import run_module

    def run(name, params_file, results, timeout=400, **extra):
        project = Path(params_file).parent
        return run_module(project, f"flows.{name}", params_file=params_file, results=results, timeout=timeout, **extra).stdout

    return run


@pytest.fixture
def prefect_server(tmp_path):
    """A real local Prefect server on a free port with its own PREFECT_HOME, healthy before the test
    starts and stopped (its whole process group) after it. Attributes: api (URL), home, log."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import types
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    home, log = tmp_path / "prefect_home", tmp_path / "server.log"
    env = dict(os.environ, PREFECT_HOME=str(home), PREFECT_UI_ENABLED="false", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.pop("PREFECT_API_URL", None)
    server = subprocess.Popen(
        [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=open(log, "w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.time() + 150
        while True:
            try:
                with urllib.request.urlopen(f"{api}/health", timeout=2) as r:
                    if r.status == 200:
                        break
            except OSError:
                pass
            assert server.poll() is None, log.read_text()[-2000:]
            assert time.time() < deadline, "server did not become healthy"
            time.sleep(0.5)
        yield types.SimpleNamespace(api=api, home=home, log=log)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


@pytest.fixture
def demo_labeling_params(demo_corpus):
    """demo_labeling_params(root, lmd=None, **labeling) -> a params dict running the labeling stage
    on the demo corpus (its lmd/ tables, or a copy at `lmd`), data and reports under the project
    `root` (write the dict to root/params.yaml and run it with `run_flow`)."""

    def make(root, lmd=None, **labeling):
        lmd = lmd or demo_corpus.root / "lmd"
        return {
            "paths": {"data_dir": "data", "reports_dir": "reports", "store": "data/emsync.duckdb"},
            "labeling": {
                "midi_dir": str(demo_corpus.midi_dir),
                "match_scores": str(lmd / "match_scores.json"),
                "msd_metadata": str(lmd / "msd_metadata.parquet"),
                "spotify_map": str(lmd / "echonest_to_spotify.csv"),
                "audio_features_archive": str(lmd / "spotify_features.csv"),
                **labeling,
            },
        }

    return make
