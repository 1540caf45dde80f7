"""Offline-first environment defaults for the entry points.

Each entry keeps a library from reaching for the network (../shared/FEASIBILITY.md) or keeps
its state inside the project. Values already set by the user win. Importing this module (or any
emsync module) changes nothing: only entry points call `apply_defaults()` -- the CLI's `main`,
each flow's `__main__` block and the tests' conftest.
"""

import os
import sys
import tempfile
from pathlib import Path

from emsync.core.config import project_root
from emsync.core.errors import ParamsError

OFFLINE_DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "YOLO_OFFLINE": "1",
    "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
    "PREFECT_RESULTS_PERSIST_BY_DEFAULT": "true",
    "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "180",  # the 20 s default is tight on 2 busy cores
    "DVC_NO_ANALYTICS": "1",
    "GX_ANALYTICS_ENABLED": "false",
    "PADDLE_PDX_DISABLE_MODEL_SOURCE_CHECK": "True",
    "TOKENIZERS_PARALLELISM": "false",
    "OMP_WAIT_POLICY": "PASSIVE",  # spinning OpenMP threads starve each other on 2 shared cores
}
# the API URL of the run's own Prefect server (a `dvc repro`'s or a test session's,
# emsync.pipeline.prefect_server), exported with PREFECT_API_URL to every process of the run
RUN_SERVER_ENV = "EMSYNC_PREFECT_RUN_API"


def _excepthook(kind, value, tb):
    """A stage that stops on an emsync error (bad input, failed data check) ends with the
    readable message as its last lines and exit status 1, not a Python traceback."""
    from emsync.core.errors import EmsyncError

    if isinstance(value, EmsyncError) and not os.environ.get("EMSYNC_DEBUG"):
        from emsync.core.redact import redact

        print(f"emsync: error: {redact(value)}", file=sys.stderr)
        return
    sys.__excepthook__(kind, value, tb)


def apply_defaults():
    """Set the offline defaults and the error hook. Call it first thing in an entry point; Prefect
    may already be imported (a flow module imports it at the top), so its settings are re-read.
    Hugging Face and Ultralytics read theirs when first imported, which emsync does lazily."""
    sys.excepthook = _excepthook
    for k, v in OFFLINE_DEFAULTS.items():
        os.environ.setdefault(k, v)
    # Prefect task results (the cache) live inside the project's data folder.
    try:
        os.environ.setdefault("PREFECT_LOCAL_STORAGE_PATH", str(project_root() / "data" / "prefect_results"))
    except ParamsError:  # outside a project (e.g. `emsync cuts` on a clip): Prefect's own default
        pass
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    # Ultralytics writes settings and wants Arial.ttf; keep both off the network and out of $HOME.
    yolo_dir = Path(os.environ.setdefault("YOLO_CONFIG_DIR", str(Path(tempfile.gettempdir()) / "emsync-yolo")))
    font = yolo_dir / "Ultralytics" / "Arial.ttf"
    if not font.exists():
        try:
            import matplotlib

            src = Path(matplotlib.get_data_path()) / "fonts" / "ttf" / "DejaVuSans.ttf"
            font.parent.mkdir(parents=True, exist_ok=True)
            font.write_bytes(src.read_bytes())
        except Exception:  # font only matters for ultralytics plots
            pass
    # Prefect reads its settings when imported; a flow module imports it before __main__ runs.
    if "prefect.context" in sys.modules:
        from prefect.context import refresh_global_settings_context
        from prefect.logging.configuration import setup_logging

        refresh_global_settings_context()
        setup_logging()
        skip_heartbeats_on_run_server(import_prefect=False)


def skip_heartbeats_on_run_server(import_prefect: bool = True) -> bool:
    """No flow-run heartbeats while Prefect talks to the run's own server (RUN_SERVER_ENV): they
    let a long-lived server mark crashed runs, nothing on a run's server reads them (the run guard
    ends a run's processes), and Prefect's engine waits up to 1 s for the heartbeat thread at the
    end of every flow. A server of the user's own (PREFECT_API_URL) keeps them. Prefect cannot be
    told "none" through the environment (an int setting), so the loaded settings are changed, and
    again after each re-read (apply_defaults). Returns whether they are off."""
    api = os.environ.get(RUN_SERVER_ENV)
    if not api or api != os.environ.get("PREFECT_API_URL") or not (import_prefect or "prefect.context" in sys.modules):
        return False
    from prefect.settings import get_current_settings

    get_current_settings().flows.heartbeat_frequency = None
    return True
