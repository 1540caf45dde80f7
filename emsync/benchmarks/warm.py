"""Per-stage start-up with and without the warm runner (emsync/pipeline/warm.py): a toy `dvc repro`
of N stages, each a `python -m flows.<x>` process that imports what a real stage imports (torch
with an optimizer, Prefect, great_expectations, pandas, scipy.signal) and runs a one-task flow,
timed cold (EMSYNC_WARM=0) and warm, interleaved so both see the same machine load.

    emsync bench warm                 # 8 stages, 2 repros of each kind
    emsync bench warm --stages 12 --runs 3
"""

import os
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

STAGE = """import great_expectations, pandas, scipy.signal, torch
from prefect import flow, task
from emsync.core import env
from emsync.pipeline.runguard import enter_stage


@task
def one(x):
    return x + 1


@flow(name="bench-stage")
def stage():
    torch.optim.Adam(torch.nn.Linear(2, 2).parameters())
    return one(1)


env.apply_defaults()
enter_stage("bench")
assert stage() == 2
"""


def add_args(p):
    p.add_argument("--stages", type=int, default=8, help="stages in the toy pipeline")
    p.add_argument("--runs", type=int, default=2, help="repros of each kind")


def _project(root: Path, n: int) -> None:
    (root / "flows").mkdir(parents=True)
    (root / "flows" / "__init__.py").write_text("from emsync.pipeline.warm import hand_over\n\nhand_over(__name__)\n")
    (root / "flows" / "stage.py").write_text(STAGE)
    lines = ["stages:"]
    for i in range(n):
        lines += [f"  s{i}:", f"    cmd: python -m flows.stage && echo {i} > s{i}.txt", "    outs:", f"      - s{i}.txt"]
        if i:
            lines += ["    deps:", f"      - s{i - 1}.txt"]
    (root / "dvc.yaml").write_text("\n".join(lines) + "\n")
    for cmd in (["git", "init", "-q"], ["dvc", "init", "-q"]):
        subprocess.run(cmd, cwd=root, check=True, capture_output=True)


def _repro(root: Path, warm: bool) -> float:
    env = {k: v for k, v in os.environ.items() if k not in ("PREFECT_API_URL", "DVC_STAGE")}
    env.update(EMSYNC_WARM="1" if warm else "0", DVC_NO_ANALYTICS="1", PYTHONPATH=str(Path(__file__).resolve().parents[2]))
    t = time.perf_counter()
    r = subprocess.run(["dvc", "repro", "--force"], cwd=root, env=env, capture_output=True, text=True, timeout=1800)
    dt = time.perf_counter() - t
    if r.returncode != 0:
        raise RuntimeError(f"toy dvc repro failed: {(r.stdout + r.stderr)[-2000:]}")
    return dt


def run(args) -> dict:
    cold, warm = [], []
    with tempfile.TemporaryDirectory(prefix="emsync-bench-warm-") as d:
        root = Path(d) / "project"
        _project(root, args.stages)
        for _ in range(args.runs):
            cold.append(_repro(root, warm=False) / args.stages)
            warm.append(_repro(root, warm=True) / args.stages)
    c, w = statistics.median(cold), statistics.median(warm)
    return {
        "stages": args.stages,
        "runs": args.runs,
        "load_1min": round(os.getloadavg()[0], 2),
        "cold_s_per_stage": [round(x, 2) for x in cold],
        "warm_s_per_stage": [round(x, 2) for x in warm],
        "median_cold_s_per_stage": round(c, 2),
        "median_warm_s_per_stage": round(w, 2),
        "saved_per_stage_s": round(c - w, 2),
        "ratio_cold_to_warm": round(c / w, 2),
        "note": "warm includes the two cold stages that start the runner (the first two of each repro)",
    }
