"""The n-gram baseline of the real generator's held-out NLL (emsync/real_music/ngram.py)."""

import numpy as np
import pytest

from emsync.real_music.ngram import NGram


def test_probabilities_sum_to_one_for_seen_and_unseen_histories():
    rng = np.random.default_rng(0)
    m = NGram(3, 12).fit([rng.integers(0, 12, 300) for _ in range(4)])
    for ctx in ([[1, 2]], [[-1, 7]], [[11, 11]]):
        p = np.exp(m.logprob(np.repeat(np.array(ctx), 12, axis=0), np.arange(12)))
        assert p.sum() == pytest.approx(1.0)


def test_a_repeated_pattern_costs_little_and_noise_costs_log_v():
    m = NGram(4, 50).fit([np.tile([5, 6, 7, 8], 100)])
    pattern = (np.tile([5, 6, 7, 8], 20),)
    assert m.chunk_nll([pattern], pad_id=0) < 0.2
    assert NGram(1, 50).fit([np.arange(1, 50)]).chunk_nll([(np.arange(1, 50),)], pad_id=0) == pytest.approx(np.log(49 / 1), rel=0.05)


def test_pad_targets_are_not_counted():
    m = NGram(2, 10).fit([np.array([1, 2, 3, 1, 2, 3])])
    full = m.chunk_nll([(np.array([1, 2, 3]),)])
    padded = m.chunk_nll([(np.array([1, 2, 3, 0, 0]),)])
    assert full == pytest.approx(padded)
