"""The evaluate stage's steps on a tiny random generator: test-split coverage, the 25-condition
sample grid, with-offset vs "no boundary ahead" generation, scoring and the report."""

import dataclasses
from typing import ClassVar

import numpy as np
import pytest
import torch

from _train_corpus import write_corpus
from emsync.core.config import EvaluateParams, GenerateParams
from emsync.music import vocab as V
from emsync.training import evaluation as E
from emsync.training.report import evaluation_markdown, ordering_check
from emsync.music.generator import save_generator
from emsync.models.music_transformer import MusicTransformer, MusicTransformerConfig

GEN = dataclasses.asdict(GenerateParams(slide_stride=8))


def _ckpt(path, **kw):
    torch.manual_seed(0)
    cfg = MusicTransformerConfig(n_layers=1, n_heads=2, d_model=32, d_ff=64, max_len=24, d_cond_hidden=8, **kw)
    save_generator(path, MusicTransformer(cfg))
    return str(path)


def _ev(**kw):
    base = dict(
        condition_values=[-0.8, 0.8],
        samples_per_condition=2,
        sample_tokens=12,
        batch_size=3,
        hit_samples=3,
        hit_duration_s=14.0,
        device="cpu",
        regressor_layers=1,
        regressor_d_model=16,
        regressor_heads=2,
        regressor_d_ff=32,
        regressor_window=24,
        regressor_steps=2,
    )
    return dataclasses.asdict(EvaluateParams(**{**base, **kw}))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return write_corpus(tmp_path_factory.mktemp("tokens"), n_songs=12, n_test=3)


def test_token_metrics_cover_the_whole_test_split_unless_capped(tmp_path, corpus):
    import pandas as pd

    ck = _ckpt(tmp_path / "g.pt")
    idx = pd.read_parquet(corpus / "index.parquet")
    test_targets = int((idx[idx.split == "test"].n_tokens - 1).sum())
    full = E.generator_token_metrics(ck, corpus, _ev())
    assert full["n_tokens"] == test_targets and full["test_songs"] == 3
    assert full["n_chunks"] == full["test_chunks_total"] == sum(-(-(n - 1) // 24) for n in idx[idx.split == "test"].n_tokens)
    assert full["nll"] == pytest.approx(np.log(V.SIZE), rel=0.05)  # an untrained model is near uniform
    capped = E.generator_token_metrics(ck, corpus, _ev(max_test_chunks=2))
    assert capped["n_chunks"] == 2 and capped["n_tokens"] < full["n_tokens"]


def test_condition_samples_grid(tmp_path):
    ck = _ckpt(tmp_path / "g.pt")
    out = E.generate_condition_samples(ck, _ev(), GEN)
    assert out["conditions"] == [(-0.8, -0.8)] * 2 + [(-0.8, 0.8)] * 2 + [(0.8, -0.8)] * 2 + [(0.8, 0.8)] * 2
    assert [len(s) for s in out["samples"]] == [12] * 8  # exactly sample_tokens, primer stripped
    assert all(not np.isin(s, [V.PAD, V.START]).any() for s in out["samples"])
    again = E.generate_condition_samples(ck, _ev(), GEN)
    assert all(np.array_equal(a, b) for a, b in zip(out["samples"], again["samples"]))  # seeded


class _Recorder(MusicTransformer):
    """A generator that records the boundary offsets of every forward pass."""

    seen: ClassVar[list] = []

    def forward(self, tokens, valence=None, arousal=None, offsets=None, cache=None):
        type(self).seen.append(None if offsets is None else offsets.detach().clone())
        return super().forward(tokens, valence, arousal, offsets, cache=cache)


def _recorder():
    torch.manual_seed(0)
    _Recorder.seen = []
    return _Recorder(MusicTransformerConfig(n_layers=1, n_heads=2, d_model=32, d_ff=64, max_len=24, d_cond_hidden=8)).eval()


def test_the_ablation_baseline_feeds_no_boundary_ahead_not_missing_offsets():
    """The boundary model is trained with offsets only, so the baseline must be an input it saw:
    offset = δ_max at every token, never offsets=None (the repeated positional encoding)."""
    m = _recorder()
    cap = m.cfg.max_offset_s
    v = torch.zeros(2)
    E.generate_samples(m, v, v.clone(), n_tokens=30, boundaries=[(1.0, 3.0), (2.0,)], use_offsets=False, generate=GEN)
    assert _Recorder.seen and all(o is not None and bool((o == cap).all()) for o in _Recorder.seen)
    _Recorder.seen = []
    E.generate_samples(m, v, v.clone(), n_tokens=30, boundaries=[(1.0, 3.0), (2.0,)], use_offsets=True, generate=GEN)
    assert any(bool((o < cap).any()) for o in _Recorder.seen)  # with boundaries the offsets count down


def test_token_metrics_use_training_style_offsets_and_report_the_no_boundary_ablation(tmp_path, corpus, monkeypatch):
    from emsync.music.dataset import TokenCorpus
    from emsync.music.offsets import boundary_offsets

    m = _recorder()
    ck = tmp_path / "r.pt"
    save_generator(ck, m)
    monkeypatch.setattr(E, "load_generator", lambda path, device: (m, {}))
    out = E.generator_token_metrics(str(ck), corpus, _ev(batch_size=1000))
    with_off, no_b = _Recorder.seen  # one batch holds every test chunk: offsets, then the ablation
    test = TokenCorpus(corpus, split="test")
    first = boundary_offsets(test.tokens(0), m.cfg.max_offset_s)[:24]  # the first song's first chunk
    np.testing.assert_allclose(with_off[0].numpy(), first)
    assert bool((with_off < m.cfg.max_offset_s).any()) and bool((no_b == m.cfg.max_offset_s).all())
    assert out["no_boundary"]["nll"] != out["nll"]


def test_boundary_samples_share_boundaries_and_score(tmp_path):
    ck = _ckpt(tmp_path / "g.pt")
    out = E.generate_boundary_samples(ck, _ev(), GEN)
    assert len(out["boundaries"]) == 3 and all(len(b) >= 1 for b in out["boundaries"])
    assert len(out["with_offsets"]) == len(out["without_offsets"]) == 3
    rates = E.boundary_rates(out, 1.0)
    n = sum(len(b) for b in out["boundaries"])
    for key in ("with_offsets", "without_offsets"):
        assert rates[key]["boundaries"] == n and 0 <= rates[key]["hits"] <= n
        assert rates[key]["mean_duration_s"] >= 14.0 - 1.0  # generated up to the requested duration
    flat = _ckpt(tmp_path / "nob.pt", boundaries=False)
    assert E.boundary_rates(E.generate_boundary_samples(flat, _ev(), GEN), 1.0) == {"skipped": "model has no boundary conditioning"}


def test_score_emotion_per_condition(tmp_path, corpus):
    reg = E.fit_regressor(corpus, _ev())
    samples = {"conditions": [(-0.8, 0.8), (-0.8, 0.8), (0.8, 0.8)], "samples": [np.array([V.BAR, V.shift_id(8)] * 5)] * 3}
    out = E.score_emotion(reg, samples, "cpu")
    assert set(out["per_condition"]) == {"-0.8,+0.8", "+0.8,+0.8"} and out["n_samples"] == 3
    # identical samples get identical predictions: plain L1 (Table 4.2's error), the /2 extra beside it
    p = np.array(out["mean_prediction"])
    assert out["l1_valence"] == pytest.approx((2 * abs(p[0] + 0.8) + abs(p[0] - 0.8)) / 3, rel=1e-5)
    assert out["l1_half"] == pytest.approx(out["l1"] / 2)


def test_report_has_the_thesis_table_shapes():
    rows = [
        {"name": n, "conditioning": c, "nll": nll, "top1": 0.5, "top5": 0.9, "n_tokens": 10, "n_chunks": 1, "test_chunks_total": 1}
        for n, c, nll in (("a", "vanilla", 1.2), ("b", "continuous_concat", 1.0))
    ]
    rows[1]["emotion"] = {
        "l1": 0.2,
        "l1_half": 0.1,
        "l1_valence": 0.25,
        "l1_arousal": 0.15,
        "n_samples": 4,
        "per_condition": {"-0.8,-0.8": 0.1, "-0.8,+0.8": 0.2, "+0.8,-0.8": 0.3, "+0.8,+0.8": 0.4},
    }
    rows[1]["boundary"] = {
        "with_offsets": {"hit_rate": 0.75, "hits": 3, "boundaries": 4, "chords": 9, "chord_precision": 0.5},
        "without_offsets": {"hit_rate": 0.25, "hits": 1, "boundaries": 4, "chords": 7, "chord_precision": 0.125},
    }
    m = {
        "settings": {
            "max_test_chunks": 0,
            "condition_values": [-0.8, 0.8],
            "samples_per_condition": 1,
            "sample_tokens": 8,
            "hit_samples": 1,
            "hit_duration_s": 10.0,
            "hit_tolerance_s": 1.0,
            "chunk_len": 24,
            "device": "cpu",
        },
        "regressor": {"n_layers": 8, "steps": 2, "n_train_songs": 9, "test_l1": 0.3},
        "models": rows,
        "skipped": [],
    }
    md = evaluation_markdown(m)
    assert "| a | vanilla | none (no boundary input) | 1.2000 | 0.5000 | 0.9000 | 10 | 1 of 1 | 0.7445 / 0.7784 / 0.9513 |" in md
    # §4.5: Table 4.1 is scored without temporal conditioning: a boundary model's thesis values sit on its δ_max row
    bm = {**rows[1], "name": "c", "boundaries": True, "no_boundary": {"nll": 1.1, "top1": 0.4, "top5": 0.8}}
    md_b = evaluation_markdown({**m, "models": [bm]})
    assert "| c | continuous_concat | song's chords | 1.0000 | 0.5000 | 0.9000 | 10 | 1 of 1 |  |" in md_b
    assert (
        "| c | continuous_concat | no boundary ahead (δ_max) | 1.1000 | 0.4000 | 0.8000 | 10 | 1 of 1 | 0.7075 / 0.7913 / 0.9548 |" in md_b
    )
    assert "| b | 0.2000 | 0.2500 | 0.1500 | 4 | 0.1948 | 0.1000 |" in md  # plain L1 beside the thesis, /2 as an extra
    assert "| -0.8 | 0.100 | 0.200 |" in md and "| +0.8 | 0.300 | 0.400 |" in md
    assert "| b | 0.750 (3) | 0.250 (1) | 4 | 9 / 7 | 0.500 / 0.125 |" in md
    assert "continuous_concat best): holds" in md
    assert "## Boundary hit rate (this project's metric)" in md and "| model | hit rate with offsets | no boundary ahead |" in md
    dev = md.split("## Deviations from the thesis")[1]
    assert "pre-LN" in dev and "2048" in dev and "δ_max" in dev
    assert ordering_check([{**rows[0], "nll": 0.9}, rows[1]]) == "does not hold (best NLL: vanilla)"
