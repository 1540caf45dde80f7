"""Shared fixtures: use these before building your own (each one costs minutes on 2 cores).

Sessions share:
- `prefect_api`: one Prefect server for the whole session. `pytest_configure` starts it
  (emsync/pipeline/prefect_server.py) in the background and exports PREFECT_API_URL, so every flow a test
  runs, in this process or in a subprocess that inherits os.environ, uses it instead of starting
  Prefect's temporary server (10-60 s each on 2 busy cores). Nothing waits for it: its socket
  listens from the start, so a client that comes while it loads waits in the queue (the fixture
  waits explicitly). It stops when the session ends, or when pytest dies. A test of the
  temporary-server path drops PREFECT_API_URL from its subprocess (tests/test_prefect_server.py).
- `warm_flows` (autouse): a warm runner of this test process (emsync/pipeline/warm.py); the
  `python -m flows.<x>` and `python -m emsync` processes tests start outside `dvc repro` are forked
  from it with the heavy libraries imported (EMSYNC_WARM_SOCKET). A test that SIGKILLs a flow runs
  it cold (the variable empty).
- `demo_pipeline`: the README's `dvc repro` of the demo pipeline, once, in a clone of the working
  tree with the CI overlay (tests/ci_params.yaml). Read a stage's real outputs from it
  (`demo_pipeline.data / "labeling" / "labels.parquet"`) instead of rebuilding stages; never
  write into it (copy what you change).
- `classify_videos`, `trained_vemoclap`: 18 short demo videos with their emotion + genre tables,
  and VEMOCLAP trained on 12 of them (seed 0); for anything that needs a trained emotion model.
- `demo_corpus` (40 MIDI files + planted duplicates and broken files), `demo_videos` (4 clips),
  `shared_data` (the real data folder, read in place; skips when absent).

Per test:
- `run_flow(name, params_file, results)`: `python -m flows.<name>` in the params file's folder as
  its own project (tests/_project.py: EMSYNC_ROOT, relative output params, as params require),
  never in the checkout; `demo_labeling_params` writes such params for the labeling stage.
- `prefect_server`: a real `prefect server start` of a test's own (deployments, workers).

Under pytest-xdist (on by default: pyproject's addopts) the controller starts the Prefect server
and the workers inherit its PREFECT_API_URL; a test file runs on one worker (`--dist loadfile`),
and every test that uses `demo_pipeline` (or `classify_videos`) lives in one file
(`SHARED_FIXTURE_FILES`, checked at collection), so each is built once.

Tests never read, write or lock the checkout's pipeline state (data/, reports/, the store,
.dvc/tmp): a subprocess that runs a flow or an `emsync` command that writes gets its own project
folder (tests/_project.py), so a developer's `dvc repro` and `pytest` run side by side.
Real data is read in place from EMSYNC_SHARED_DATA (default ../shared/data).
"""

import os

# Under pytest-xdist (the default: one worker per core, pyproject's addopts) each worker and the
# flows it starts compute on one thread, so two workers do not fight over two cores.
if os.environ.get("PYTEST_XDIST_WORKER"):
    for var in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ.setdefault(var, "1")

import atexit  # noqa: E402
import shutil  # noqa: E402
import tempfile  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from emsync.core import env
from emsync.core.config import shared_data_dir

# Tests keep their Prefect task cache and default reports folder out of the repository, so a
# developer's own pipeline runs never turn a test's "first run" into cache hits (and vice versa).
# Each xdist worker gets its own (a worker inherits the controller's settings: replace those).
_TMP = tempfile.mkdtemp(prefix="emsync-tests-")
atexit.register(shutil.rmtree, _TMP, ignore_errors=True)
_INHERITED = os.environ.get("EMSYNC_TESTS_TMP")
os.environ["EMSYNC_TESTS_TMP"] = _TMP
for _var, _sub in (("PREFECT_LOCAL_STORAGE_PATH", "prefect_results"), ("EMSYNC_REPORTS_DIR", "reports")):
    if _var not in os.environ or (_INHERITED and os.environ[_var].startswith(_INHERITED)):
        os.environ[_var] = os.path.join(_TMP, _sub)
env.apply_defaults()


def pytest_configure(config):
    """Start the session's Prefect server (unless PREFECT_API_URL names one already: the user's,
    or the controller's under pytest-xdist)."""
    from emsync.pipeline import prefect_server

    if os.environ.get("PREFECT_API_URL"):
        env.skip_heartbeats_on_run_server()  # an xdist worker: the controller's server
        return

    config._emsync_prefect_server = prefect_server.start(os.getpid())
    prefect_server.point_prefect_at(config._emsync_prefect_server.api)


# Session fixtures that take minutes: under xdist (`--dist loadfile`) a test file runs on one
# worker, so every test that uses one of these lives in one file and the fixture is built once.
# Those files go first: they are the longest.
SHARED_FIXTURE_FILES = {"demo_pipeline": "test_pipeline_e2e.py", "classify_videos": "test_classify_training.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        for fixture, home in SHARED_FIXTURE_FILES.items():
            if fixture in getattr(item, "fixturenames", ()) and item.path.name != home:
                raise pytest.UsageError(
                    f"{item.nodeid} uses {fixture}: put it in tests/{home}, where one xdist worker builds {fixture} once"
                )
    # Longest first, so no long file is left for the end while the other worker idles: the two
    # shared-fixture files, then the files with end-to-end (slow) tests, then the rest.
    first = list(SHARED_FIXTURE_FILES.values())
    slow_files = {item.path.name for item in items if item.get_closest_marker("slow")}
    items.sort(key=lambda item: first.index(item.path.name) if item.path.name in first else len(first) + (item.path.name not in slow_files))


def pytest_unconfigure(config):
    server = getattr(config, "_emsync_prefect_server", None)
    if server is not None:
        import signal

        from emsync.pipeline import prefect_server

        os.kill(server.pid, signal.SIGTERM)
        deadline = time.monotonic() + 20
        while prefect_server.alive(server.pid) and time.monotonic() < deadline:
            time.sleep(0.1)


@pytest.fixture(scope="session", autouse=True)
def warm_flows():
    """A warm runner (emsync/pipeline/warm.py) of this test process: the `python -m flows.<x>` and
    `python -m emsync` processes the tests start outside `dvc repro` (run_flow, run_module:
    os.environ plus the checkout on PYTHONPATH) are forked from it with torch, Prefect, pandas...
    imported, instead of importing them each (2-5 s of CPU per flow, ~1 s per command). Flows with
    other import-time variables, and the tests that SIGKILL a flow (EMSYNC_WARM_SOCKET="": the flow
    is the process they kill), start cold. It stops with this process."""
    import subprocess

    from _project import flow_env

    from emsync.pipeline import warm

    path = Path(_TMP) / "warm" / "flows.sock"
    path.parent.mkdir(mode=0o700, exist_ok=True)
    env = flow_env(_TMP)
    env.pop("EMSYNC_ROOT")
    proc = warm.spawn_runner(os.getpid(), path, env)
    os.environ[warm.SOCKET_ENV] = str(path)
    yield path
    os.environ.pop(warm.SOCKET_ENV, None)
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:  # a runner that will not stop must not fail the session
        proc.kill()


@pytest.fixture(scope="session")
def prefect_api():
    """The session's Prefect API URL (None when PREFECT_API_URL was unset), once it answers."""
    from emsync.pipeline import prefect_server

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
    """run_flow(name, params_file, results, **env) -> stdout of `python -m flows.<name>`
    run in the params file's folder as its project (`flow_env`): params name outputs relative to
    it (`paths: {data_dir: data, reports_dir: reports}`), as output params must be (tests/_project.py).
    Its own Prefect result store `results`; the session's Prefect server. A non-zero exit fails with
    stderr's tail."""
    from _project import run_module

    def run(name, params_file, results, timeout=None, **extra):
        project = Path(params_file).parent
        kw = {} if timeout is None else {"timeout": timeout}
        return run_module(project, f"flows.{name}", params_file=params_file, results=results, **kw, **extra).stdout

    return run


@pytest.fixture
def prefect_server(tmp_path):
    """A real local Prefect server on a free port with its own PREFECT_HOME, healthy before the test
    starts and stopped (its whole process group) after it. Attributes: api (URL), home, log."""
    import signal
    import subprocess
    import sys
    import time
    import types
    import urllib.request

    from _project import free_port, prefect_home

    port = free_port()
    home, log = Path(prefect_home(tmp_path / "prefect_home")), tmp_path / "server.log"
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


# --- the demo pipeline, once per session -------------------------------------------------------


@pytest.fixture(scope="session")
def demo_pipeline(tmp_path_factory):
    """The README's first command, run once per session: a clone of this working tree (committed
    and uncommitted changes) in a temporary folder, tests/ci_params.yaml merged over its params.yaml
    (2 videos in the soundtrack stage; fewer steps where the number does not matter), then a plain
    `dvc repro` as a user runs it (its own Prefect server, its own task cache and reports). Before
    that repro, one run of the demo_data flow is SIGKILLed mid-run, as a user's Ctrl-C would.

    Read-only for the tests that use it (copy what you would change). Attributes: root (the
    clone), data, reports, params (the merged params dict), seconds (the repro's wall time),
    killed_mid_run (whether the killed run was caught mid-run), killed_left_report, env (the clone's environment).
    Skips where the tests do not run from a git checkout."""
    from _pipeline import build_demo_pipeline

    return build_demo_pipeline(tmp_path_factory.mktemp("demo_pipeline"))


# --- the video classifiers: demo videos with their feature tables, and a trained VEMOCLAP -------


@pytest.fixture(scope="session")
def classify_videos(tmp_path_factory):
    """18 short demo videos (2-3 s, seed 5: three per Ekman emotion, each planting its emotion in
    a colour band and a tone, and that emotion's genres) and their emotion + genre feature tables
    from the tiny local extractor models. Attributes: root (videos/<id>.mp4, features/<name>/<id>.parquet,
    videos.json = ground truth), ground_truth, n_videos."""
    import types

    from emsync.classify.inference import EXTRACTORS, extract_tables
    from emsync.core.config import Params
    from emsync.demo.videos import build_videos
    from emsync.core.io import write_json
    from tests._extractor_models import handle

    root = tmp_path_factory.mktemp("classify_videos")
    gt = build_videos(root / "videos", seed=5, n_videos=18, min_s=2.0, max_s=3.0)
    write_json(root / "videos.json", gt)
    handles = {n: handle(n) for n in sorted(set(EXTRACTORS["emotion"]) | set(EXTRACTORS["genre"]))}
    for vid in gt:
        for task in ("emotion", "genre"):
            tables, _, _ = extract_tables(Params(), root / "videos" / f"{vid}.mp4", task, handles=handles)
            for name, df in tables.items():
                (root / "features" / name).mkdir(parents=True, exist_ok=True)
                df.to_parquet(root / "features" / name / f"{vid}.parquet")
    return types.SimpleNamespace(root=root, ground_truth=gt, n_videos=len(gt))


@pytest.fixture(scope="session")
def trained_vemoclap(classify_videos):
    """VEMOCLAP (d_model 32, 4 heads) trained through the one training engine on the 12 training
    videos of `classify_videos` (a third held out, two per emotion), 200 steps, seed 0, CPU.
    What it reliably learns from the planted band and tone: well above chance (1/6) on the
    training videos, the planted emotion first on most held-out ones. Attributes: labels (the
    demo table with splits), data (the emotion dataset), out (the training result: a checkpoint
    dict for emsync.models.classifiers.from_checkpoint_dict), model (loaded, eval mode)."""
    import dataclasses
    import types

    from emsync.classify.datasets import demo_table
    from emsync.classify.stage import build_dataset, train_classifier
    from emsync.core.config import Params
    from emsync.models.classifiers import from_checkpoint_dict

    root = classify_videos.root
    labels = demo_table(root / "videos.json", test_fraction=1 / 3)
    data, skips = build_dataset("emotion", labels, root / "features", root / "videos", {"faces": 32})
    assert skips.empty and len(data.items) == classify_videos.n_videos
    params = dataclasses.replace(Params().classify, steps=200, lr=3e-3, batch_size=12, seed=0, device="cpu")
    out = train_classifier("vemoclap", data, params, {"d_model": 32, "n_heads": 4, "dropout": 0.0})
    return types.SimpleNamespace(labels=labels, data=data, out=out, model=from_checkpoint_dict(out))
