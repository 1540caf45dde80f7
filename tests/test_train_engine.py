"""The training engine with a minimal task (the example of docs/training.md): it learns, a killed run
resumes to the same weights, micro-batches give the full-batch step, early stopping keeps the best
weights, and the loss CSV + plot are written."""

import csv

import numpy as np
import pytest
import torch

from emsync.training.engine import EngineConfig, Task, load_state, rank_rows, train

W_TRUE = torch.tensor([[2.0], [-3.0], [0.5]])


class LinearTask(Task):
    """y = x @ W_TRUE + noise; the batch of step k is drawn from a generator seeded by (seed, k)."""

    name = "linear"

    def __init__(self, seed=0, batch_size=8, dropout=0.0):
        self.seed, self.B, self.dropout = seed, batch_size, dropout

    def build_model(self):
        return torch.nn.Sequential(torch.nn.Dropout(self.dropout), torch.nn.Linear(3, 1))

    def batch(self, step):
        g = torch.Generator().manual_seed(self.seed * 100_003 + step)
        x = torch.randn(self.B, 3, generator=g)
        return x, x @ W_TRUE + 0.01 * torch.randn(self.B, 1, generator=g)

    def loss(self, model, batch):
        x, y = batch
        return torch.nn.functional.mse_loss(model(x), y)

    def metrics(self, model):
        x, y = self.batch(10**6)  # a fixed validation batch
        return {"mse": float(torch.nn.functional.mse_loss(model(x), y))}


def test_a_minimal_task_learns():
    res = train(LinearTask(), EngineConfig(steps=150, lr=0.05, device="cpu"), progress=False)
    assert res.steps == 150 and len(res.history) == 150 and res.units_seen == 150 * 8
    w = res.model_state["1.weight"].reshape(-1)
    assert torch.allclose(w, W_TRUE.reshape(-1), atol=0.05)


def test_kill_and_resume_gives_the_same_weights(tmp_path):
    cfg = EngineConfig(steps=12, lr=0.01, seed=4, checkpoint_every=5, log_every=2, eval_every=4, monitor="mse", device="cpu")
    task = LinearTask(dropout=0.2)  # dropout draws from the reseeded RNG too
    full = train(task, cfg, state_path=tmp_path / "a.pt", fingerprint="f", progress=False)

    class Killed(Exception):
        pass

    def kill(step, loss):
        if step == 8:
            raise Killed

    with pytest.raises(Killed):
        train(task, cfg, state_path=tmp_path / "b.pt", fingerprint="f", on_step=kill, progress=False)
    assert load_state(tmp_path / "b.pt")["step"] == 5
    torch.manual_seed(123)  # a "new process" with another global RNG state
    resumed = train(task, cfg, state_path=tmp_path / "b.pt", fingerprint="f", progress=False)
    assert resumed.resumed_from == 5
    assert all(torch.equal(v, resumed.model_state[k]) for k, v in full.model_state.items())
    assert resumed.history == full.history and resumed.evals == full.evals
    assert resumed.best_step == full.best_step
    assert all(torch.equal(v, resumed.best_state[k]) for k, v in full.best_state.items())
    other = train(task, cfg, state_path=tmp_path / "b.pt", fingerprint="g", progress=False)
    assert other.resumed_from == 0  # another run's state is not resumed


def test_micro_batches_give_the_full_batch_step():
    a = train(LinearTask(batch_size=10), EngineConfig(steps=5, lr=0.05, device="cpu"), progress=False)
    b = train(LinearTask(batch_size=10), EngineConfig(steps=5, lr=0.05, micro_batch=3, device="cpu"), progress=False)
    for k, v in a.model_state.items():
        assert torch.allclose(v, b.model_state[k], atol=1e-6), k
    assert [r["loss"] for r in a.history] == pytest.approx([r["loss"] for r in b.history], rel=1e-5)


def test_prefetched_batches_give_the_same_run():
    cfg = dict(steps=6, lr=0.05, device="cpu")
    a = train(LinearTask(), EngineConfig(**cfg), progress=False)
    b = train(LinearTask(), EngineConfig(**cfg, prefetch=True), progress=False)
    assert all(torch.equal(v, b.model_state[k]) for k, v in a.model_state.items()) and a.history == b.history


class Overfit(LinearTask):
    """Validation peaks at the 3rd evaluation: early stopping must stop and keep those weights."""

    def build_model(self):
        self.seen = []  # the weights at each evaluation
        return super().build_model()

    def metrics(self, model):
        self.seen.append({k: v.clone() for k, v in model.state_dict().items()})
        return {"score": -abs(len(self.seen) - 3)}


def test_early_stopping_keeps_the_best_weights(tmp_path):
    task = Overfit()
    cfg = EngineConfig(steps=100, lr=0.01, eval_every=2, monitor="score", mode="max", patience=2, device="cpu")
    res = train(task, cfg, state_path=tmp_path / "s.pt", log_dir=tmp_path / "logs", progress=False)
    assert res.stopped_early and res.steps == 10  # evaluations at 2,4,6 (best), 8, 10 -> stop
    assert res.best_step == 6 and res.best_metrics == {"score": 0.0}
    assert all(torch.equal(v, task.seen[2][k]) for k, v in res.best_state.items())
    again = train(task, cfg, state_path=tmp_path / "s.pt", progress=False)  # a stopped run stays stopped
    assert again.steps == 10 and again.resumed_from == 10 and again.stopped_early
    rows = list(csv.DictReader((tmp_path / "logs" / "loss.csv").read_text().splitlines()))
    assert [r["step"] for r in rows] == [str(s) for s in range(1, 11)]
    assert rows[5]["score"] == "0" and rows[4]["score"] == ""
    assert (tmp_path / "logs" / "loss.png").read_bytes()[:4] == b"\x89PNG"


def test_rank_rows_cover_the_batch_once():
    for n, w in [(8, 2), (7, 3), (5, 5)]:
        got = np.concatenate([np.arange(n)[rank_rows(n, r, w)] for r in range(w)])
        assert got.tolist() == list(range(n))


def test_the_same_run_writes_the_same_state_file(tmp_path):
    """The resumable state is written through a temp file; its bytes do not depend on that file's
    name (a DVC output folder holding states, like the genre models', keeps its hash across runs)."""
    cfg = EngineConfig(steps=6, lr=0.05, device="cpu", checkpoint_every=3)
    for name in ("a.pt", "b.pt"):
        train(LinearTask(), cfg, state_path=tmp_path / name, fingerprint="f", progress=False)
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
