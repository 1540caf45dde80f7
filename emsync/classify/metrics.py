"""Classifier metrics: emotion accuracy and the confusion matrix normalised over true labels
(thesis Table 5.1, Fig. 5.2); genre precision and recall at a 0.5 threshold and average precision,
macro-averaged over genres and per genre (Tables 5.2, 5.3)."""

import numpy as np


def accuracy(labels, pred) -> float:
    labels, pred = np.asarray(labels), np.asarray(pred)
    return float((labels == pred).mean()) if labels.size else float("nan")


def confusion(labels, pred, n_classes: int) -> np.ndarray:
    """(n_classes, n_classes): row = true class, column = predicted, each row sums to 1 (or 0 when
    the class has no sample)."""
    m = np.zeros((n_classes, n_classes))
    for t, p in zip(labels, pred):
        m[int(t), int(p)] += 1
    rows = m.sum(1, keepdims=True)
    return np.divide(m, rows, out=np.zeros_like(m), where=rows > 0)


def average_precision(y, score) -> float:
    """Area under the precision-recall step curve, sum over thresholds of (R_k - R_{k-1}) P_k, with
    tied scores forming one threshold (the usual definition, e.g. scikit-learn's). NaN without positives."""
    y, score = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    n_pos = y.sum()
    if n_pos == 0:
        return float("nan")
    order = np.argsort(-score, kind="mergesort")
    y, score = y[order], score[order]
    last = np.r_[np.nonzero(np.diff(score))[0], len(score) - 1]  # last index of each distinct score
    tp = np.cumsum(y)[last]
    precision = tp / (last + 1)
    recall = tp / n_pos
    return float(np.sum(np.diff(np.r_[0.0, recall]) * precision))


def genre_metrics(y, probs, labels, threshold: float = 0.5) -> dict:
    """y, probs (N, C). Per genre: precision / recall at `threshold` (0 when nothing is predicted /
    present) and AP; macro averages over the genres that have a positive in y (the others are
    listed under `no_positives`)."""
    y, probs = np.asarray(y, dtype=float), np.asarray(probs, dtype=float)
    pred = probs >= threshold
    per = {}
    for c, name in enumerate(labels):
        tp = float((pred[:, c] & (y[:, c] > 0)).sum())
        n_pred, n_pos = float(pred[:, c].sum()), float(y[:, c].sum())
        per[name] = {
            "precision": tp / n_pred if n_pred else 0.0,
            "recall": tp / n_pos if n_pos else 0.0,
            "ap": average_precision(y[:, c], probs[:, c]),
            "positives": int(n_pos),
        }
    scored = [g for g in labels if per[g]["positives"] > 0]
    macro = {k: float(np.mean([per[g][k] for g in scored])) if scored else float("nan") for k in ("precision", "recall", "ap")}
    return {
        "precision": macro["precision"],
        "recall": macro["recall"],
        "map": macro["ap"],
        "per_genre": per,
        "no_positives": [g for g in labels if g not in scored],
        "n": int(len(y)),
    }
