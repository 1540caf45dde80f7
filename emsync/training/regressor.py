"""Training and applying the §4.5 valence/arousal regressor (models/emotion_regressor.py).

Trained on chunks of the train split with an L1 loss against the song's (valence, arousal);
a NaN label (missing, §4.3) contributes nothing. Applied to a generated sample with windows of
the regressor's length at 50 % overlap, the window outputs averaged (§4.5, Fig. 4.4).
"""
from __future__ import annotations

import time
from typing import Callable

import numpy as np
import torch

from emsync.training.loop import resolve_device, seed_everything, step_seed
from emsync.training.metrics import window_starts


def masked_l1(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """Mean |pred - target| over the non-NaN targets; pred, target (B, 2). Zero when all NaN."""
    ok = ~torch.isnan(target)
    if not bool(ok.any()):
        return pred.sum() * 0.0
    return (pred - torch.nan_to_num(target)).abs()[ok].mean()


def train_regressor(model, make_batch: Callable[[int], tuple], steps: int, lr: float = 1e-4, seed: int = 0,
                    grad_clip: float = 1.0, device: str = "auto", progress: bool = True) -> dict:
    """Adam + L1 for `steps` steps; `make_batch(step)` -> (tokens (B, T) long, labels (B, 2) float
    with NaN for missing). Returns {"history": [{"step", "loss"}], "seconds", "device"}."""
    from tqdm.auto import tqdm

    dev = resolve_device(device)
    model.to(dev).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history, t0 = [], time.time()
    for step in tqdm(range(steps), desc="regressor", unit="step", disable=not progress):
        seed_everything(step_seed(seed, step))
        tokens, labels = make_batch(step)
        with torch.autocast(dev.type, dtype=torch.bfloat16, enabled=dev.type == "cuda"):
            pred = model(tokens.to(dev))  # (B, 2)
        loss = masked_l1(pred.float(), labels.to(dev).float())
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        history.append({"step": step + 1, "loss": float(loss.detach())})
    model.eval()
    return {"history": history, "seconds": round(time.time() - t0, 3), "device": str(dev)}


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
