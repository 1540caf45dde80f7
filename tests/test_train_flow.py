"""End to end: the train flow SIGKILLed mid-run and resumed ends with the weights of an
uninterrupted run; the evaluate flow then writes the Table 4.1/4.2-shaped reports."""

import dataclasses
import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from _model_helpers import one_thread  # noqa: F401 (autouse fixture: the in-process reference run on one thread)
from _project import HANG_S, flow_env, run_module
from _train_corpus import write_corpus
from emsync.core.config import load_params

pytestmark = pytest.mark.slow

PARAMS = """
paths: {reports_dir: reports}
tokens: {out_dir: tokens}
train: {steps: 60, batch_size: 4, seq_len: 48, lr: 0.002, checkpoint_every: 5, log_every: 4, device: cpu,
         checkpoint: models/music/checkpoint.pt}
evaluate: {regressor_layers: 1, regressor_d_model: 32, regressor_heads: 2, regressor_d_ff: 64, regressor_window: 48,
            regressor_steps: 10, samples_per_condition: 1, sample_tokens: 48, condition_values: [-0.8, 0.8],
            hit_samples: 2, hit_duration_s: 16.0, device: cpu, regressor_checkpoint: models/regressor/checkpoint.pt}
"""


def _flow(root, name):
    return run_module(root, f"flows.{name}", "--params", root / "params.yaml", results=root / "prefect_results")


def test_killed_training_resumes_to_the_uninterrupted_weights_then_evaluates(tmp_path, monkeypatch):
    from emsync.training.generator import state_path_for, train_generator
    from emsync.training.loop import load_state
    from emsync.models.music_transformer import load_checkpoint

    write_corpus(tmp_path / "tokens", n_songs=20, n_test=3)
    (tmp_path / "params.yaml").write_text(PARAMS)
    monkeypatch.setenv("EMSYNC_ROOT", str(tmp_path))  # the params' relative paths resolve in the test's project
    monkeypatch.setenv("OMP_NUM_THREADS", "1")  # the flows' threads too: bit-equal weights need the same thread count
    p = load_params(tmp_path / "params.yaml")
    ckpt = tmp_path / "models" / "music" / "checkpoint.pt"
    state = state_path_for(ckpt)

    proc = subprocess.Popen(
        [sys.executable, "-m", "flows.train", "--params", str(tmp_path / "params.yaml")],
        cwd=tmp_path,
        env=flow_env(tmp_path, results=tmp_path / "prefect_results", EMSYNC_WARM_SOCKET=""),  # cold: this process is the flow
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + HANG_S
    while time.time() < deadline and not state.exists() and proc.poll() is None:
        time.sleep(0.05)
    os.killpg(proc.pid, signal.SIGKILL)  # the flow and its temporary Prefect server
    proc.wait()
    killed_at = load_state(state)["step"]
    assert 5 <= killed_at < 60 and not ckpt.exists(), "the kill should land mid-run"

    _flow(tmp_path, "train")
    resumed, extra = load_checkpoint(ckpt)
    assert load_state(state)["step"] == 60

    ref = train_generator(tmp_path / "tokens", "ref", dataclasses.asdict(p.train), dataclasses.asdict(p.tokens), progress=False)
    for k, v in ref["state_dict"].items():
        assert torch.equal(v, resumed.state_dict()[k]), k
    metrics = json.loads((tmp_path / "reports" / "train_metrics.json").read_text())
    assert metrics["steps"] == 60 and metrics["final_loss"] < 0.5 * metrics["first_loss"]
    csv = (tmp_path / "reports" / "train_loss.csv").read_text().splitlines()
    assert csv[0] == "step,loss,lr" and len(csv) == 1 + 60 // 4  # the whole curve, across the kill
    assert extra["metrics"]["final_loss"] == metrics["final_loss"]

    # the cached task result holds the checkpoint's path and md5, not the weights
    results = [f for f in (tmp_path / "prefect_results").rglob("*") if f.is_file()]
    assert results and max(f.stat().st_size for f in results) < ckpt.stat().st_size / 4
    # a cache hit whose checkpoint is gone trains again (resuming the finished state) instead of skipping
    first = ckpt.read_bytes()
    ckpt.unlink()
    r = _flow(tmp_path, "train")
    assert "missing or changed; training again" in r.stdout
    assert ckpt.read_bytes() == first  # the same weights, the same file: no wall time inside
    again, _ = load_checkpoint(ckpt)
    for k, v in resumed.state_dict().items():
        assert torch.equal(v, again.state_dict()[k]), k

    _flow(tmp_path, "evaluate")
    ev = json.loads((tmp_path / "reports" / "evaluation_metrics.json").read_text())
    (row,) = ev["models"]
    assert ev["summary"]["music"]["nll"] == row["nll"] and ev["summary"]["music"]["hit_rate_with_offsets"] is not None
    assert row["conditioning"] == "continuous_token" and 0 < row["nll"] < 7 and 0 <= row["top1"] <= row["top5"] <= 1
    assert row["emotion"]["n_samples"] == 4 and 0 <= row["emotion"]["l1"] <= 2
    assert set(row["boundary"]) == {"with_offsets", "without_offsets"}
    assert row["boundary"]["with_offsets"]["boundaries"] == row["boundary"]["without_offsets"]["boundaries"] > 0
    md = (tmp_path / "reports" / "evaluation.md").read_text()
    assert "Table 4.1 shape" in md and "| music | continuous_token |" in md
    assert (tmp_path / "reports" / "runs" / "evaluate.json").exists()
    assert (tmp_path / "models" / "regressor" / "checkpoint.pt").exists()
