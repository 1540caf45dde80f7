"""The §4.5 valence/arousal regressor: architecture properties, windows, and that it learns."""

import dataclasses
import math

import numpy as np
import pytest
import torch

from _train_corpus import write_corpus
from emsync.core.config import EvaluateParams
from emsync.training import metrics as M
from emsync.training.regressor import masked_l1, predict_sequence
from emsync.core.io import write_bytes
from emsync.models import checkpoint
from emsync.models.emotion_regressor import BidirectionalRelativeAttention, EmotionRegressor, EmotionRegressorConfig, regressor_bytes
from emsync.models.music_transformer import RelativeGlobalAttention, naive_relative_logits


def _load(path):
    """The regressor back from its checkpoint bytes (models/checkpoint.py), as the evaluate stage wrote it."""
    return checkpoint.load(path.read_bytes(), lambda c: EmotionRegressor(EmotionRegressorConfig.from_dict(c)))


SMALL = EmotionRegressorConfig(n_layers=2, n_heads=2, d_model=32, d_ff=64, max_len=48)


def _model(seed=0):
    torch.manual_seed(seed)
    return EmotionRegressor(SMALL).eval()


def test_default_config_is_the_thesis_8_layers_and_reuses_the_generator_attention():
    assert EmotionRegressorConfig().n_layers == 8
    m = _model()
    assert all(isinstance(b.attn, RelativeGlobalAttention) for b in m.blocks)


def test_output_is_two_values_in_tanh_range_and_ignores_trailing_pad():
    m = _model()
    x = torch.randint(16, 1000, (3, 40))
    y = m(x)
    assert y.shape == (3, 2) and bool((y.abs() < 1).all())
    padded = torch.cat([x[:1, :30], torch.zeros(1, 10, dtype=torch.long)], 1)
    assert torch.allclose(m(padded), m(x[:1, :30]), atol=1e-6)
    with pytest.raises(ValueError, match="exceed"):
        m(torch.randint(16, 1000, (1, 49)))


def test_no_causal_mask_the_cls_state_sees_the_last_token():
    m = _model()
    x = torch.randint(16, 1000, (1, 20))
    x2 = x.clone()
    x2[0, -1] = (x[0, -1] + 1) % 1000 + 16
    assert not torch.allclose(m(x), m(x2))  # a causal model's position 0 could never see position 19


def test_bidirectional_attention_equals_a_naive_reference():
    torch.manual_seed(1)
    attn = BidirectionalRelativeAttention(SMALL.body_config()).eval()
    B, T, C = 2, 7, SMALL.d_model
    x = torch.randn(B, T, C)
    pad = torch.zeros(B, T, dtype=torch.bool)
    pad[1, 5:] = True
    H, Dh = attn.n_heads, attn.d_head
    q, k, v = attn.qkv(x).view(B, T, 3, H, Dh).permute(2, 0, 3, 1, 4)
    rel = naive_relative_logits(q, attn.rel_emb, T)  # zeros for j > i: no relative term after the query
    scores = (q @ k.transpose(-1, -2) + rel) / math.sqrt(Dh)
    scores = scores.masked_fill(pad[:, None, None, :], float("-inf"))
    ref = attn.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(B, T, C))
    assert torch.allclose(attn(x, pad), ref, atol=1e-5)


def test_masked_l1_skips_missing_labels():
    pred = torch.tensor([[0.5, 0.5], [0.0, 0.0]])
    target = torch.tensor([[float("nan"), 0.0], [1.0, float("nan")]])
    assert float(masked_l1(pred, target)) == pytest.approx(0.75)
    assert float(masked_l1(pred, torch.full((2, 2), float("nan")))) == 0.0


def test_predict_sequence_averages_half_overlapping_windows():
    class Mean(torch.nn.Module):  # predicts the mean token id of the window (scaled)
        cfg = EmotionRegressorConfig(max_len=4)

        def __init__(self):
            super().__init__()
            self.p = torch.nn.Parameter(torch.zeros(1))

        def forward(self, x):
            m = x.float().mean(1, keepdim=True) / 100
            return torch.cat([m, -m], 1)

    ids = np.arange(1, 11)  # windows [1..4], [3..6], [5..8], [7..10] -> means 2.5, 4.5, 6.5, 8.5
    out = predict_sequence(Mean(), ids, overlap=0.5)
    assert out == pytest.approx([0.055, -0.055])


def test_regressor_learns_arousal_from_the_corpus(tmp_path):
    from emsync.training.evaluation import fit_regressor

    write_corpus(tmp_path, n_songs=24, n_test=6, seed=2)
    ev = dataclasses.asdict(
        EvaluateParams(
            regressor_layers=1,
            regressor_d_model=32,
            regressor_heads=2,
            regressor_d_ff=64,
            regressor_window=48,
            regressor_steps=60,
            regressor_batch_size=8,
            regressor_lr=3e-3,
            device="cpu",
        )
    )
    res = fit_regressor(tmp_path, ev)
    losses = [h["loss"] for h in res["history"]]
    assert np.mean(losses[-10:]) < 0.6 * np.mean(losses[:10])
    from emsync.music.dataset import TokenCorpus

    test = TokenCorpus(tmp_path, split="test")
    labels = test.index[["valence", "arousal"]].to_numpy()
    # the same metric (M.mean_l1, plain L1 since Table 4.2's wording) for a regressor that ignores the music
    always_zero = M.mean_l1(np.zeros_like(labels, dtype=np.float64), labels)
    assert res["test_l1"] < 0.9 * always_zero
    m = EmotionRegressor(EmotionRegressorConfig.from_dict(res["config"]))
    m.load_state_dict(res["state_dict"])
    write_bytes(tmp_path / "r.pt", regressor_bytes(m, extra={"test_l1": res["test_l1"]}))
    again, extra = _load(tmp_path / "r.pt")
    x = torch.randint(16, 1000, (1, 30))
    assert torch.equal(again(x), m.eval()(x)) and extra["test_l1"] == res["test_l1"]


def test_saved_regressor_bytes_are_reproducible_and_round_trip(tmp_path):
    m = _model()
    write_bytes(tmp_path / "a" / "r.pt", regressor_bytes(m, extra={"test_l1": 0.25}))
    write_bytes(tmp_path / "b" / "r.pt", regressor_bytes(m, extra={"test_l1": 0.25}))
    # a cached re-run rewrites the same bytes (no temp-file name inside), so DVC sees no change
    assert (tmp_path / "a" / "r.pt").read_bytes() == (tmp_path / "b" / "r.pt").read_bytes()
    assert sorted(p.name for p in (tmp_path / "a").iterdir()) == ["r.pt"]  # no temp file left behind
    loaded, extra = _load(tmp_path / "a" / "r.pt")
    assert extra == {"test_l1": 0.25} and loaded.cfg == m.cfg
    assert all(torch.equal(v, loaded.state_dict()[k]) for k, v in m.state_dict().items())
