"""Evaluation metrics of the music generator (thesis §4.5, Tables 4.1/4.2; §6.4 boundaries).

- `test_chunks` + `token_metrics`: NLL, top-1 and top-5 accuracy of the next token over
  non-overlapping chunks covering the whole test split, every target token counted (§4.5).
- `window_starts`: the regressor's sliding windows with 50 % overlap over a generated sample.
- `mean_l1`: mean |prediction - condition|, the value compared with Table 4.2 (the thesis says
  "normalized L1" and gives no divisor; valence and arousal are already in [-1, 1]).
  `normalized_l1` = mean_l1 / 2 (the fraction of the range width) is reported as a labelled extra.
- `chord_times` / `boundary_hits`: which input boundaries got a generated CHORD within the
  tolerance (1 s, the sensitivity ξ of Algorithm 1). This hit rate is this project's metric: §6.4
  evaluates the temporal conditioning with a user study, not with a hit rate.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from emsync.music import vocab

# --------------------------------------------------------------------------------------------
# Table 4.1: NLL / top-1 / top-5


def test_chunks(ids: np.ndarray, chunk_len: int, offsets: np.ndarray | None = None, pad_id: int = vocab.PAD):
    """Cut one song into non-overlapping chunks so that every token after the first is a target
    exactly once: chunk k holds ids[k*L : (k+1)*L + 1] (L inputs, L targets), the last one
    PAD-filled. Returns [(tokens (L+1,), offsets (L+1,) or None)]."""
    ids = np.asarray(ids, dtype=np.int64)
    out = []
    n_targets = len(ids) - 1
    for k in range(max(0, math.ceil(n_targets / chunk_len))):
        lo, hi = k * chunk_len, min(len(ids), (k + 1) * chunk_len + 1)
        tok = np.full(chunk_len + 1, pad_id, dtype=np.int64)
        tok[: hi - lo] = ids[lo:hi]
        off = None
        if offsets is not None:
            off = np.zeros(chunk_len + 1, dtype=np.float32)
            off[: hi - lo] = offsets[lo:hi]
        out.append((tok, off))
    return out


@torch.no_grad()
def token_metrics(model, batches, pad_id: int = vocab.PAD, device=None) -> dict:
    """Mean NLL (nats/token) and top-1/top-5 accuracy over every non-PAD target token.

    `batches` yields (tokens (B, L+1), offsets (B, L+1) or None, valence (B,), arousal (B,))."""
    from emsync.training.loop import model_logits

    device = device or next(model.parameters()).device
    model.eval()
    nll = top1 = top5 = n = 0.0
    n_chunks = 0
    for tokens, offsets, valence, arousal in batches:
        tokens = tokens.to(device)
        offsets = offsets.to(device) if offsets is not None else None
        logits = model_logits(model, tokens, offsets, valence.to(device), arousal.to(device)).float()  # (B, L, V)
        tgt = tokens[:, 1:]  # (B, L)
        keep = tgt != pad_id  # (B, L)
        ce = F.cross_entropy(logits.transpose(1, 2), tgt, reduction="none")  # (B, L)
        top = logits.topk(5, dim=-1).indices  # (B, L, 5)
        hit = top == tgt.unsqueeze(-1)  # (B, L, 5)
        nll += float(ce[keep].sum())
        top1 += float(hit[..., 0][keep].sum())
        top5 += float(hit.any(-1)[keep].sum())
        n += float(keep.sum())
        n_chunks += tokens.shape[0]
    if n == 0:
        return {"nll": None, "top1": None, "top5": None, "n_tokens": 0, "n_chunks": n_chunks}
    return {"nll": nll / n, "top1": top1 / n, "top5": top5 / n, "n_tokens": int(n), "n_chunks": n_chunks}


# --------------------------------------------------------------------------------------------
# Table 4.2: regressor windows and normalized L1


def window_starts(n: int, window: int, overlap: float = 0.5) -> list[int]:
    """Start indices of windows of `window` tokens over a sequence of `n` with the given overlap;
    the last window ends at the sequence's end (a short sequence is one window)."""
    if n <= window:
        return [0]
    hop = max(1, int(round(window * (1.0 - overlap))))
    starts = list(range(0, n - window + 1, hop))
    if starts[-1] != n - window:
        starts.append(n - window)
    return starts


def mean_l1(pred, cond) -> float:
    """Mean absolute error between predictions and conditions over every sample and both
    dimensions (NaN conditions skipped): the number printed beside Table 4.2's "normalized L1"."""
    pred, cond = np.asarray(pred, dtype=np.float64), np.asarray(cond, dtype=np.float64)
    ok = ~np.isnan(cond)
    if not ok.any():
        return float("nan")
    return float(np.abs(pred - cond)[ok].mean())


def normalized_l1(pred, cond) -> float:
    """mean_l1 / 2: the error as a fraction of the [-1, 1] range width (a labelled extra; the thesis
    gives no divisor, so this is not the number to compare with Table 4.2)."""
    return mean_l1(pred, cond) / 2.0


def condition_grid(values) -> list[tuple[float, float]]:
    """§4.5: every (valence, arousal) pair of the bin midpoints (5 x 5 = 25 conditions)."""
    return [(float(v), float(a)) for v in values for a in values]


# --------------------------------------------------------------------------------------------
# §6.4: boundary hit rate


def chord_times(ids) -> np.ndarray:
    """Times (s) of the CHORD tokens of a token sequence: the sum of TIME-SHIFTs before each."""
    ids = np.asarray(ids, dtype=np.int64)
    t_ms = np.cumsum(vocab.TIMESHIFT_MS[ids])  # time after each token
    return t_ms[ids == vocab.CHORD] / 1000.0


def sequence_duration(ids) -> float:
    return float(vocab.TIMESHIFT_MS[np.asarray(ids, dtype=np.int64)].sum()) / 1000.0


def boundary_hits(ids, boundaries, tolerance_s: float = 1.0) -> np.ndarray:
    """Per input boundary: True when a generated CHORD lies strictly within `tolerance_s` of it
    (the |c - b| < ξ test of Algorithm 1)."""
    b = np.asarray(boundaries, dtype=np.float64)
    c = chord_times(ids)
    if len(b) == 0:
        return np.zeros(0, dtype=bool)
    if len(c) == 0:
        return np.zeros(len(b), dtype=bool)
    return (np.abs(b[:, None] - c[None, :]) < tolerance_s).any(axis=1)


def hit_rate(samples, boundaries_per_sample, tolerance_s: float = 1.0) -> dict:
    """Fraction of all input boundaries (pooled over samples) that got a CHORD within tolerance,
    and its counterpart `chord_precision`: the fraction of generated CHORDs within tolerance of
    some boundary (many chords everywhere would hit every boundary and score a low precision)."""
    hits = [boundary_hits(ids, b, tolerance_s) for ids, b in zip(samples, boundaries_per_sample)]
    n = int(sum(len(h) for h in hits))
    k = int(sum(int(h.sum()) for h in hits))
    chords = near = 0
    for ids, b in zip(samples, boundaries_per_sample):
        c = chord_times(ids)
        chords += len(c)
        if len(c) and len(b):
            near += int((np.abs(c[:, None] - np.asarray(b, np.float64)[None, :]) < tolerance_s).any(axis=1).sum())
    return {
        "hit_rate": (k / n) if n else None,
        "hits": k,
        "boundaries": n,
        "chords": chords,
        "chord_precision": (near / chords) if chords else None,
    }


def random_boundaries(duration_s: float, rng: np.random.Generator, min_gap_s: float = 4.0, max_gap_s: float = 10.0):
    """Scene-cut-like boundaries: gaps drawn uniformly in [min_gap_s, max_gap_s] (§6.2 keeps cuts
    at least 4 s apart), the last one at least `min_gap_s` before the end."""
    out, t = [], 0.0
    while True:
        t += float(rng.uniform(min_gap_s, max_gap_s))
        if t > duration_s - min_gap_s:
            return out
        out.append(round(t, 3))
