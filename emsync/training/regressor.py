"""Training and applying the §4.5 valence/arousal regressor (models/emotion_regressor.py).

Trained on chunks of the train split with an L1 loss against the song's (valence, arousal);
a NaN label (missing, §4.3) contributes nothing. Applied to a generated sample with windows of
the regressor's length at 50 % overlap, the window outputs averaged (§4.5, Fig. 4.4).
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from emsync.training import engine
from emsync.training.metrics import window_starts


def masked_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |pred - target| over the non-NaN targets; pred, target (B, 2). Zero when all NaN."""
    ok = ~torch.isnan(target)
    if not bool(ok.any()):
        return pred.sum() * 0.0
    return (pred - torch.nan_to_num(target)).abs()[ok].mean()


class RegressorTask(engine.Task):
    """The engine task of the regressor: `make_batch(step)` -> (tokens (B, T) long, labels (B, 2)
    float, NaN = missing); the L1 is a mean over the known labels, which is what the engine
    weights micro-batches and ranks by."""

    name = "regressor"

    def __init__(self, model, make_batch: Callable[[int], tuple]):
        self.model, self.make_batch = model, make_batch

    def build_model(self):
        return self.model

    def batch(self, step: int):
        return self.make_batch(step)

    def batch_weight(self, batch) -> float:
        return float((~torch.isnan(batch[1])).sum())

    def loss(self, model, batch) -> torch.Tensor:
        tokens, labels = batch
        return masked_l1(model(tokens).float(), labels.float())  # pred (B, 2)


def train_regressor(
    model,
    make_batch: Callable[[int], tuple],
    steps: int,
    lr: float = 1e-4,
    seed: int = 0,
    grad_clip: float = 1.0,
    device: str = "auto",
    progress: bool = True,
    state_path=None,
) -> dict:
    """Adam + L1 for `steps` steps through the engine; `make_batch(step)` -> (tokens (B, T) long,
    labels (B, 2) float with NaN for missing). Returns {"history": [{"step", "loss", "lr"}],
    "seconds", "device"}; with `state_path` the run is resumable."""
    cfg = engine.EngineConfig(steps=steps, lr=lr, seed=seed, grad_clip=grad_clip, device=device)
    res = engine.train(
        RegressorTask(model, make_batch),
        cfg,
        state_path=state_path,
        progress=progress,
        fingerprint=engine.fingerprint("regressor", lr, seed, grad_clip),
    )
    return {"history": res.history, "seconds": res.seconds, "device": res.device}


@torch.no_grad()
def predict_sequence(model, ids, overlap: float = 0.5, batch_size: int = 16) -> np.ndarray:
    """(valence, arousal) of one token sequence: the mean over windows of the model's length
    with `overlap` (§4.5: 50 %)."""
    ids = np.asarray(ids, dtype=np.int64)
    window = model.cfg.max_len
    dev = next(model.parameters()).device
    chunks = [ids[s : s + window] for s in window_starts(len(ids), window, overlap)]
    outs = []
    for i in range(0, len(chunks), batch_size):
        part = chunks[i : i + batch_size]
        width = max(len(c) for c in part)
        x = np.zeros((len(part), width), dtype=np.int64)  # PAD = 0, ignored by the regressor
        for r, c in enumerate(part):
            x[r, : len(c)] = c
        outs.append(model(torch.from_numpy(x).to(dev)).float().cpu().numpy())  # (b, 2)
    return np.concatenate(outs).mean(axis=0)  # (2,)
