"""Multi-label metrics of §3.2.3.1: per-label and macro precision / recall / F1 at one decision
cut-off (a prediction >= cut-off is positive), the cut-off searched on validation, and two
baselines a trained model must beat (and the all-positive one it reaches by learning nothing).

Macro = the unweighted mean of the per-label values (GoEmotions' and the thesis's averaging). A
label with no predicted positives has precision 0; with no true positives, recall 0; F1 0 then.
"""

import numpy as np

CUTOFFS = np.round(np.arange(0.05, 0.951, 0.05), 2)  # searched on validation (the thesis found 0.3)


def per_label(probs: np.ndarray, targets: np.ndarray, cutoff: float) -> dict:
    """{"precision"|"recall"|"f1"|"support": (L,) arrays} at `cutoff`."""
    pred = probs >= cutoff  # (N, L)
    true = targets > 0.5
    tp = (pred & true).sum(0).astype(float)
    fp = (pred & ~true).sum(0).astype(float)
    fn = (~pred & true).sum(0).astype(float)
    p = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0)
    r = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=tp + fn > 0)
    f = np.divide(2 * p * r, p + r, out=np.zeros_like(tp), where=p + r > 0)
    return {"precision": p, "recall": r, "f1": f, "support": true.sum(0)}


def macro(probs, targets, cutoff) -> dict:
    m = per_label(probs, targets, cutoff)
    return {k: float(m[k].mean()) for k in ("precision", "recall", "f1")}


def search_cutoff(probs, targets, cutoffs=CUTOFFS) -> tuple[float, float]:
    """(cut-off, macro-F1) with the best macro-F1 on these (validation) outputs; ties -> lower."""
    scores = [macro(probs, targets, c)["f1"] for c in cutoffs]
    i = int(np.argmax(scores))
    return float(cutoffs[i]), float(scores[i])


def majority_baseline(train_targets, targets) -> dict:
    """Every example gets the single most frequent training label (neutral on GoEmotions)."""
    j = int(np.argmax(train_targets.sum(0)))
    probs = np.zeros_like(targets, dtype=float)
    probs[:, j] = 1.0
    return macro(probs, targets, 0.5) | {"label_index": j}


def frequency_baseline(train_targets, targets) -> dict:
    """Each label predicted at random, independently of the text, at its training frequency q:
    expected precision = the label's prevalence, recall = q, F1 = 2*prev*q / (prev + q)."""
    q = train_targets.mean(0).astype(float)
    prev = (targets > 0.5).mean(0).astype(float)
    f = np.divide(2 * prev * q, prev + q, out=np.zeros_like(q), where=prev + q > 0)
    p = np.where(q > 0, prev, 0.0)
    return {"precision": float(p.mean()), "recall": float(q.mean()), "f1": float(f.mean())}


def all_positive_baseline(targets) -> dict:
    """Every label predicted for every example: precision = prevalence, recall 1 (what a model
    that learnt nothing reaches with a low cut-off)."""
    prev = (targets > 0.5).mean(0).astype(float)
    f = 2 * prev / (prev + 1)
    return {"precision": float(prev.mean()), "recall": 1.0, "f1": float(f.mean())}
