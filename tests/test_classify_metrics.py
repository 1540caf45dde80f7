"""Classifier metrics against hand-computed values (Tables 5.1-5.3, Fig. 5.2)."""

import numpy as np

from emsync.classify.metrics import accuracy, average_precision, confusion, genre_metrics


def test_accuracy_and_row_normalised_confusion():
    labels, pred = [0, 0, 1, 1, 1, 2], [0, 1, 1, 1, 0, 2]
    assert accuracy(labels, pred) == 4 / 6
    m = confusion(labels, pred, 4)
    assert np.allclose(m[0], [0.5, 0.5, 0, 0]) and np.allclose(m[1], [1 / 3, 2 / 3, 0, 0])
    assert np.allclose(m[2], [0, 0, 1, 0]) and np.allclose(m[3], 0)  # class 3 has no sample


def test_average_precision_hand_values():
    # ranking: + - + -  -> AP = (1/1 + 2/3) / 2
    assert np.isclose(average_precision([1, 0, 1, 0], [0.9, 0.8, 0.7, 0.1]), (1 + 2 / 3) / 2)
    assert average_precision([1, 1, 0], [0.9, 0.8, 0.1]) == 1.0
    # a tie between a positive and a negative counts as one threshold: precision 1/2 at recall 1
    assert average_precision([1, 0], [0.5, 0.5]) == 0.5
    assert np.isnan(average_precision([0, 0], [0.2, 0.3]))


def test_average_precision_equals_mean_precision_at_each_positive_without_ties():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y = rng.integers(0, 2, 15)
        if y.sum() == 0:
            continue
        s = rng.permutation(15) / 15.0
        ranked = y[np.argsort(-s)]
        hits = np.cumsum(ranked)
        expected = np.mean([hits[k] / (k + 1) for k in range(15) if ranked[k]])
        assert np.isclose(average_precision(y, s), expected)


def test_genre_metrics_macro_and_missing_genre():
    y = np.array([[1, 0, 0], [0, 1, 0], [1, 1, 0]])
    p = np.array([[0.9, 0.2, 0.1], [0.6, 0.7, 0.3], [0.4, 0.8, 0.2]])
    m = genre_metrics(y, p, ["a", "b", "c"])
    a, b = m["per_genre"]["a"], m["per_genre"]["b"]
    assert (a["precision"], a["recall"]) == (0.5, 0.5)  # predicted rows 0, 1; true rows 0, 2
    assert (b["precision"], b["recall"], b["ap"]) == (1.0, 1.0, 1.0)
    assert m["no_positives"] == ["c"]
    assert np.isclose(m["map"], (a["ap"] + 1.0) / 2) and np.isclose(m["precision"], 0.75)
