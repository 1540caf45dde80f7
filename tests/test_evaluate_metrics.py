"""Evaluation metrics: test chunking, NLL/top-k, regressor windows, normalized L1, boundary hits."""

import math

import numpy as np
import pytest
import torch

from emsync.music import vocab as V
from emsync.training import metrics as M


def test_test_chunks_cover_every_target_exactly_once():
    ids = np.arange(100, 100 + 23)  # 23 tokens -> 22 targets
    chunks = M.test_chunks(ids, chunk_len=8)
    assert len(chunks) == 3  # ceil(22 / 8)
    targets = np.concatenate([tok[1:] for tok, _ in chunks])
    targets = targets[targets != V.PAD]
    assert targets.tolist() == ids[1:].tolist()
    assert chunks[0][0][0] == 100 and chunks[1][0][0] == 108  # chunk k starts at k*L (its first input)
    assert all(len(tok) == 9 and off is None for tok, off in chunks)
    assert M.test_chunks(ids[:1], chunk_len=8) == []  # a single token has nothing to predict


class _Oracle(torch.nn.Module):
    """Logits that put `confidence` on a fixed next-token rule: next = current + 1."""

    def __init__(self, confidence=20.0):
        super().__init__()
        self.w = torch.nn.Parameter(torch.zeros(1))
        self.c = confidence

    def forward(self, tokens, valence, arousal, offsets=None):
        logits = torch.zeros(*tokens.shape, V.SIZE)
        logits.scatter_(-1, ((tokens + 1) % V.SIZE).unsqueeze(-1), self.c)
        return logits


def test_token_metrics_match_hand_computed_values():
    seq = torch.tensor([[20, 21, 22, 30, 31, V.PAD, V.PAD]])  # targets 21 22 30 31 (PAD ignored)
    batch = [(seq, None, torch.zeros(1), torch.zeros(1))]
    out = M.token_metrics(_Oracle(20.0), batch, device="cpu")
    # the oracle is right on 3 of 4 targets (22 -> 30 breaks the rule)
    p_right = math.exp(20) / (math.exp(20) + V.SIZE - 1)
    p_other = 1 / (math.exp(20) + V.SIZE - 1)
    assert out["n_tokens"] == 4 and out["n_chunks"] == 1
    assert out["nll"] == pytest.approx((-3 * math.log(p_right) - math.log(p_other)) / 4, rel=1e-5)
    assert out["top1"] == pytest.approx(0.75)
    uniform = M.token_metrics(_Oracle(0.0), batch, device="cpu")
    assert uniform["nll"] == pytest.approx(math.log(V.SIZE), rel=1e-6)


def test_window_starts_half_overlap():
    assert M.window_starts(100, 100) == [0]
    assert M.window_starts(50, 100) == [0]
    assert M.window_starts(4096, 1216) == [0, 608, 1216, 1824, 2432, 2880]  # last window ends at 4096
    s = M.window_starts(250, 100, overlap=0.5)
    assert s == [0, 50, 100, 150]
    covered = np.zeros(250, int)
    for a in s:
        covered[a : a + 100] += 1
    assert covered.min() >= 1


def test_plain_l1_and_the_halved_extra_skip_nan():
    assert M.mean_l1([[1.0, -1.0]], [[-1.0, 1.0]]) == 2.0  # opposite corners: plain L1, as Table 4.2
    assert M.normalized_l1([[1.0, -1.0]], [[-1.0, 1.0]]) == 1.0  # the /2 extra: the whole range
    assert M.normalized_l1([[0.2, 0.0]], [[0.0, 0.0]]) == pytest.approx(0.05)
    assert M.normalized_l1([[0.5, 0.4]], [[np.nan, 0.0]]) == pytest.approx(0.2)


def test_condition_grid_is_the_25_bin_midpoints():
    grid = M.condition_grid([-0.8, -0.4, 0.0, 0.4, 0.8])
    assert len(grid) == 25 and len(set(grid)) == 25
    assert grid[0] == (-0.8, -0.8) and grid[-1] == (0.8, 0.8)


def _stream():
    """Scripted: CHORD at 0 s, 1.0 s of shifts, CHORD at 1.0 s, 3.0 s of shifts, CHORD at 4.0 s."""
    s1000 = V.shift_id(1000)
    return [V.START, V.BAR, V.CHORD, V.on_id(V.PIANO, 60), s1000, V.CHORD, s1000, s1000, s1000, V.CHORD, V.off_id(V.PIANO, 60)]


def test_chord_times_follow_the_time_shifts():
    assert M.chord_times(_stream()).tolist() == [0.0, 1.0, 4.0]
    assert M.sequence_duration(_stream()) == 4.0


def test_boundary_hits_use_a_strict_one_second_window():
    # boundaries: 0.5 (hit, 0.5 s from 0 and 1), 2.0 (exactly 1 s from the chord at 1.0: not < 1),
    # 3.2 (hit via 4.0), 9.0 (miss)
    hits = M.boundary_hits(_stream(), [0.5, 2.0, 3.2, 9.0], tolerance_s=1.0)
    assert hits.tolist() == [True, False, True, False]
    r = M.hit_rate([_stream(), [V.BAR]], [[0.5, 2.0, 3.2, 9.0], [1.0]], 1.0)
    # chords at 0, 1 and 4 s: 0 and 1 lie within 1 s of 0.5, 4 within 1 s of 3.2 -> all 3 precise
    assert r == {"hit_rate": 2 / 5, "hits": 2, "boundaries": 5, "chords": 3, "chord_precision": 1.0}
    assert M.hit_rate([_stream()], [[9.0]])["chord_precision"] == 0.0
    assert M.hit_rate([[V.BAR]], [[]])["hit_rate"] is None


def test_random_boundaries_keep_scene_cut_gaps():
    rng = np.random.default_rng(0)
    b = M.random_boundaries(60.0, rng)
    assert len(b) >= 4
    gaps = np.diff([0.0, *b, 60.0])
    assert gaps.min() >= 4.0 and gaps[:-1].max() <= 10.0
