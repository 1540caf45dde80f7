"""Pilot runs: held-out NLL against the process CPU time a training run has spent, to choose a
model size for a fixed CPU budget (the shipped real generator: 7,200 CPU-seconds, i.e. 60 min on
2 cores; docs/real_music.md).

CPU time is `time.process_time()` of the training process (every thread, the batch prefetch
included) minus the time spent in the probe's own evaluations, so a loaded machine slows the wall
clock but not the measure. The held-out NLL is nats per token over every non-PAD target of a fixed
set of test chunks (training-style boundary offsets, the works' labels), as in Table 4.1.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np
import torch


class BudgetSpent(Exception):
    """Raised from the step hook when the run has used its CPU budget (ends a pilot)."""


def heldout_chunks(tokens_dir, chunk_len: int, max_offset_s: float, max_chunks: int = 0) -> list:
    """[(tokens (L+1,), offsets (L+1,), valence, arousal)] over the test split, non-overlapping
    (every target once); with `max_chunks`, that many spread evenly over the list."""
    from emsync.music.dataset import TokenCorpus
    from emsync.music.offsets import boundary_offsets
    from emsync.training.metrics import test_chunks

    corpus = TokenCorpus(tokens_dir, split="test")
    chunks = []
    for i in range(len(corpus)):
        ids = corpus.tokens(i)
        v, a = corpus.labels(i)
        chunks += [(t, o, v, a) for t, o in test_chunks(ids, chunk_len, boundary_offsets(ids, max_offset_s))]
    if max_chunks and len(chunks) > max_chunks:
        keep = np.linspace(0, len(chunks) - 1, max_chunks).round().astype(int)
        chunks = [chunks[k] for k in keep]
    return chunks


def chunk_batches(chunks, batch_size: int, offsets: bool = True, no_boundary_cap: float | None = None):
    """Batches of held-out chunks for metrics.token_metrics; `no_boundary_cap` sets every offset to
    the cap ("no boundary ahead", the ablation input)."""
    for s in range(0, len(chunks), batch_size):
        part = chunks[s : s + batch_size]
        off = None
        if offsets:
            off = torch.from_numpy(np.stack([c[1] for c in part]))  # (B, L+1)
            if no_boundary_cap is not None:
                off = torch.full_like(off, no_boundary_cap)
        yield (
            torch.from_numpy(np.stack([c[0] for c in part])),
            off,
            torch.tensor([c[2] for c in part], dtype=torch.float32),
            torch.tensor([c[3] for c in part], dtype=torch.float32),
        )


def heldout_nll(model, chunks, batch_size: int = 16) -> float:
    """Mean NLL (nats/token) of `model` over the chunks; leaves the model in the mode it found."""
    from emsync.training.metrics import token_metrics

    was_training = model.training
    try:
        return float(token_metrics(model, chunk_batches(chunks, batch_size, offsets=model.cfg.boundaries))["nll"])
    finally:
        model.train(was_training)


@dataclass
class CpuProbe:
    """Step hook: every `every_s` CPU-seconds of training, the held-out NLL; BudgetSpent once
    `budget_s` is spent, at the next step that is a multiple of `stop_every` (the engine has just
    saved its state there, so the run can go on from exactly that step)."""

    model: torch.nn.Module
    chunks: list
    budget_s: float
    every_s: float
    stop_every: int = 1
    points: list = field(default_factory=list)  # [{"step", "cpu_s", "nll", "loss"}]
    _t0: float = field(default_factory=time.process_time)
    _eval_s: float = 0.0
    _next: float = 0.0

    def train_cpu_s(self) -> float:
        return time.process_time() - self._t0 - self._eval_s

    def __call__(self, step: int, loss: float) -> None:
        spent = self.train_cpu_s()
        stop = spent >= self.budget_s and step % self.stop_every == 0
        if spent >= self._next or stop:
            t = time.process_time()
            nll = heldout_nll(self.model, self.chunks)
            self._eval_s += time.process_time() - t
            self.points.append({"step": int(step), "cpu_s": round(spent, 1), "nll": round(nll, 4), "loss": round(float(loss), 4)})
            self._next = spent + self.every_s
        if stop:
            raise BudgetSpent(f"{spent:.0f} CPU-seconds spent at step {step}")
