"""The session's demo pipeline (the `demo_pipeline` fixture in conftest.py): a clone of the
working tree with the CI params overlay, after a SIGKILLed demo_data run and a `dvc repro`."""

import os
import shutil
import signal
import subprocess
import sys
import time
import types
from pathlib import Path

import pytest
import yaml

from _project import HANG_S
from _root import ROOT

OVERLAY = Path(__file__).with_name("ci_params.yaml")


def clean_env() -> dict:
    """A user's environment: no test settings, no Prefect server (dvc repro starts its run's own)."""
    drop = ("PREFECT_LOCAL_STORAGE_PATH", "EMSYNC_REPORTS_DIR", "EMSYNC_PARAMS", "EMSYNC_ROOT", "PREFECT_API_URL", "EMSYNC_WARM_SOCKET")
    return {k: v for k, v in os.environ.items() if k not in drop}


def run(args, cwd, timeout=HANG_S, env=None):
    r = subprocess.run(args, cwd=cwd, env=env or clean_env(), capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(map(str, args))} failed:\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    return r


def merge(base: dict, over: dict) -> dict:
    out = dict(base)
    for k, v in over.items():
        out[k] = merge(base[k], v) if isinstance(v, dict) and isinstance(base.get(k), dict) else v
    return out


def clone_working_tree(dest: Path) -> Path:
    """`git clone` of this checkout plus its uncommitted edits and untracked (not ignored) files."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("needs the git checkout")
    if subprocess.run(["git", "-C", str(ROOT), "rev-parse", "HEAD"], capture_output=True).returncode != 0:
        pytest.skip("no commit to clone")
    run(["git", "clone", "--quiet", str(ROOT), str(dest)], cwd=dest.parent)
    diff = subprocess.run(["git", "-C", str(ROOT), "diff", "HEAD", "--binary"], capture_output=True, check=True).stdout
    if diff:
        subprocess.run(["git", "-C", str(dest), "apply", "--binary", "-"], input=diff, check=True, capture_output=True)
    untracked = subprocess.run(["git", "-C", str(ROOT), "ls-files", "-o", "--exclude-standard", "-z"], capture_output=True, check=True)
    for rel in filter(None, untracked.stdout.decode().split("\0")):
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / rel, dest / rel)
    return dest


def kill_demo_data_mid_run(clone: Path) -> tuple:
    """Start the demo_data flow and SIGKILL it (and its process group) once tasks have finished;
    (whether it was still running, whether it left a run report as if it had finished)."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.demo_data"],
        cwd=clone,
        env=dict(clean_env(), **{k: v for k, v in os.environ.items() if k == "PREFECT_API_URL"}),  # the session's server: quicker
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    results = clone / "data" / "prefect_results"
    deadline = time.time() + HANG_S
    while time.time() < deadline and proc.poll() is None and len(list(results.glob("*"))) < 40:
        time.sleep(0.2)
    mid_run = proc.poll() is None
    if mid_run:
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    return mid_run, (clone / "reports" / "runs" / "demo_data.json").exists()


def build_demo_pipeline(tmp: Path):
    clone = clone_working_tree(tmp / "emsync")
    params = merge(yaml.safe_load((clone / "params.yaml").read_text()), yaml.safe_load(OVERLAY.read_text()))
    (clone / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    killed, killed_left_report = kill_demo_data_mid_run(clone)
    t0 = time.time()
    repro = run(["dvc", "repro"], cwd=clone, timeout=4 * HANG_S)
    return types.SimpleNamespace(
        root=clone,
        data=clone / "data",
        reports=clone / "reports",
        params=params,
        seconds=time.time() - t0,
        killed_mid_run=killed,
        killed_left_report=killed_left_report,
        repro=repro,
        env=clean_env(),
    )
