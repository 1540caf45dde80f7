"""Generation engine (§4.1 Algorithm 1, §4.4): boundary consumption on a scripted token stream,
nucleus sampling and temperature, window handling, determinism, cache vs full recompute."""

import math

import numpy as np
import pytest
import torch

from emsync.music.generator import make_primer, token_ids
from emsync.music import vocab as V
from emsync.models.generation import (
    BoundaryTracker,
    Condition,
    SamplingConfig,
    generate,
    nucleus_sample,
)
from emsync.models.music_transformer import KVCache, MusicTransformerConfig

from _model_helpers import one_thread, tiny_model  # noqa: F401 (autouse fixture)

TOK = token_ids()  # the vocabulary's ids, passed into the engine


TS = {ms: V.shift_id(ms) for ms in (8, 200, 504, 1000)}


class ScriptedModel(torch.nn.Module):
    """Stands in for the transformer: emits `script` token by token (one forward = one token)
    and records every input window and its offsets."""

    def __init__(self, script, max_len=64, boundaries=True):
        super().__init__()
        self.cfg = MusicTransformerConfig(max_len=max_len, boundaries=boundaries, conditioning="continuous_token")
        self.head = torch.nn.Linear(1, 1)
        self.script, self.calls = list(script), []

    def new_cache(self, batch, device=None, dtype=None):
        shape = (1, batch, 1, self.cfg.n_pos, 1)
        return KVCache(torch.zeros(shape), torch.zeros(shape))

    def forward(self, tokens, valence=None, arousal=None, offsets=None, cache=None):
        self.calls.append((tokens.clone(), None if offsets is None else offsets.clone()))
        k = len(self.calls) - 1
        logits = torch.zeros(tokens.shape[0], tokens.shape[1], V.SIZE)
        logits[:, -1, self.script[min(k, len(self.script) - 1)]] = 100.0  # a one-token nucleus
        if cache is None:
            return logits
        cache.pos += tokens.shape[1] + (self.cfg.n_prefix if cache.pos == 0 else 0)
        return logits, cache


def test_algorithm_1_consumes_boundaries_and_computes_offsets_exactly():
    # boundaries 2.5, 3.2, 6.0, 30.0 s; ξ = 1 s, δ_max = 10 s
    script = [
        TS[1000],
        TS[1000],
        V.CHORD,
        TS[504],
        V.CHORD,
        TS[1000],
        TS[1000],
        TS[1000],
        TS[1000],
        V.CHORD,
        TS[1000],
        TS[1000],
        TS[1000],
        TS[1000],
        TS[1000],
    ]
    model = ScriptedModel(script)
    cond = Condition(0.1, 0.2, boundaries=(6.0, 2.5, 3.2, 30.0))  # unsorted on purpose
    res = generate(model, [cond], make_primer("start_bar", "more"), duration_s=10.0, cfg=SamplingConfig(tokens=TOK))
    want_tokens = [V.MORE, V.START, V.BAR] + script[:14]  # the cursor passes 10 s at the 14th token
    assert res.tokens[0].tolist() == want_tokens
    want = [
        2.5,
        2.5,
        2.5,  # primer at c = 0
        1.5,
        0.5,  # c = 1, 2
        1.2,  # CHORD at 2.0 eats 2.5 (|2.0 - 2.5| < 1) but not 3.2 (1.2 away): next is 3.2
        0.696,  # c = 2.504
        3.496,  # CHORD at 2.504 eats 3.2: next is 6.0
        2.496,
        1.496,
        0.496,  # c = 3.504 .. 5.504
        10.0,  # c = 6.504: 6.0 is past, 30.0 is more than δ_max away
        10.0,  # CHORD at 6.504 eats the past-but-near 6.0
        10.0,
        10.0,
        10.0,
        10.0,
    ]  # c = 7.504 .. 10.504
    np.testing.assert_allclose(res.offsets[0], want, atol=1e-5)
    assert res.boundary_hit[0].tolist() == [True, True, True, False]  # sorted: 2.5, 3.2, 6.0, 30.0
    assert res.duration_s[0] == pytest.approx(10.504) and res.reached[0]
    # the model was fed each token with the offset Algorithm 1 gave it
    last_tokens, last_offsets = model.calls[-1]
    assert last_tokens[0, -1].item() == want_tokens[-2]
    assert last_offsets[0, -1].item() == pytest.approx(want[-2])
    first_tokens, first_offsets = model.calls[0]
    assert first_tokens[0].tolist() == want_tokens[:3] and first_offsets[0].tolist() == [2.5, 2.5, 2.5]


def test_chord_far_from_every_boundary_consumes_nothing():
    tr = BoundaryTracker(TOK, [[5.0]], "cpu", sensitivity_s=1.0, max_offset_s=10.0)
    for t in [TS[1000], TS[1000], TS[1000], V.CHORD]:  # chord at 3 s: 2 s away
        off = tr.step(torch.tensor([t]))
    assert off.item() == pytest.approx(2.0) and tr.hits()[0].tolist() == [False]
    for t in [TS[1000], TS[200], V.CHORD]:  # chord at 4.2 s: within 1 s
        off = tr.step(torch.tensor([t]))
    assert off.item() == pytest.approx(10.0) and tr.hits()[0].tolist() == [True]


def test_nucleus_holds_the_smallest_set_reaching_p():
    logits = torch.log(torch.tensor([[0.5, 0.3, 0.15, 0.05], [0.9, 0.04, 0.03, 0.03]]))
    g = torch.Generator().manual_seed(0)
    seen = set()
    for _ in range(200):
        tok, size = nucleus_sample(logits, torch.ones(2), 0.7, g)
        seen.add(tok[0].item())
        assert tok[1].item() == 0
    assert size.tolist() == [2, 1] and seen == {0, 1}


def test_temperature_rises_while_the_nucleus_is_starved():
    model = ScriptedModel([TS[8]] * 6)  # always a one-token nucleus
    cfg = SamplingConfig(tokens=TOK, temperature=1.2, temperature_step=0.1, min_nucleus=3)
    res = generate(model, [Condition()], make_primer(), max_new_tokens=5, cfg=cfg)
    np.testing.assert_allclose(res.temperatures[:, 0], [1.2, 1.3, 1.4, 1.5, 1.6], atol=1e-6)
    assert res.nucleus_sizes[:, 0].tolist() == [1] * 5


def test_head_only_tokens_are_never_sampled():
    model = ScriptedModel([V.START, V.PAD, V.VALENCE_OFFSET, V.MORE])
    res = generate(model, [Condition()], make_primer(), max_new_tokens=4, cfg=SamplingConfig(tokens=TOK))
    assert not np.isin(res.tokens[0][3:], TOK.banned).any()


def test_window_keeps_the_instrument_token_first_and_slides_in_strides():
    model = ScriptedModel([TS[8]] * 40, max_len=12)
    res = generate(
        model, [Condition()], make_primer("bar", "fewer"), max_new_tokens=30, cfg=SamplingConfig(tokens=TOK, window=12, slide_stride=3)
    )
    assert len(res.tokens[0]) == 32
    lengths = [c[0].shape[1] for c in model.calls]
    assert max(lengths) <= 12 and lengths.count(10) >= 3  # re-prefills of 12 - 3 + 1 tokens
    for tokens, _ in model.calls:
        assert tokens[0, 0].item() == V.FEWER or tokens.shape[1] == 1  # prefills start with the head
    t, off = model.calls[-1]
    assert t.shape[1] in (1, 10)


def test_make_primer_variants():
    assert make_primer("start_bar", "more") == [V.MORE, V.START, V.BAR]
    assert make_primer("bar", None) == [V.BAR]
    midi = [V.FEWER, V.START, V.BAR, V.on_id(V.PIANO, 60)]
    assert make_primer(midi_ids=midi, instruments="more") == [V.MORE, V.START, V.BAR, V.on_id(V.PIANO, 60)]
    assert make_primer(midi_ids=midi, instruments=None) == midi
    with pytest.raises(ValueError, match="primer"):
        make_primer("intro")


def tiny(max_len=24, **kw):
    return tiny_model(max_len=max_len, **kw).double()  # float64: sampling decisions cannot flip on rounding


CONDS = [Condition(0.6, -0.3, (1.0, 3.5)), Condition(float("nan"), 0.7, ()), Condition(-0.8, 0.0, (2.0,))]


def test_same_seed_same_music_other_seed_other_music():
    model = tiny()
    a = generate(model, CONDS, make_primer(), max_new_tokens=40, seed=7, cfg=SamplingConfig(tokens=TOK))
    b = generate(model, CONDS, make_primer(), max_new_tokens=40, seed=7, cfg=SamplingConfig(tokens=TOK))
    c = generate(model, CONDS, make_primer(), max_new_tokens=40, seed=8, cfg=SamplingConfig(tokens=TOK))
    assert all(np.array_equal(x, y) for x, y in zip(a.tokens, b.tokens))
    assert not all(np.array_equal(x, y) for x, y in zip(a.tokens, c.tokens))


@pytest.mark.parametrize("mode", ["continuous_token", "continuous_concat"])
def test_kv_cache_engine_equals_full_recompute_across_slides(mode):
    """Stride 1 = the upstream window rule; the cached engine must sample the same tokens as the
    engine that re-runs the whole window every step, including after the window slides."""
    model = tiny(conditioning=mode)
    kw = dict(max_new_tokens=60, seed=3)
    cached = generate(model, CONDS, make_primer(), cfg=SamplingConfig(tokens=TOK, slide_stride=1), **kw)
    full = generate(model, CONDS, make_primer(), cfg=SamplingConfig(tokens=TOK, slide_stride=1, use_cache=False), **kw)
    assert len(cached.tokens[0]) == 63 > model.cfg.max_len  # the window slid
    for x, y in zip(cached.tokens, full.tokens):
        np.testing.assert_array_equal(x, y)
    strided = generate(model, CONDS, make_primer(), cfg=SamplingConfig(tokens=TOK, slide_stride=8), **kw)
    assert strided.n_forward == cached.n_forward  # one forward per token either way
    assert all(np.array_equal(x[:24], y[:24]) for x, y in zip(strided.tokens, cached.tokens))  # same until the slide


def test_static_decode_path_samples_the_same_tokens():
    model = tiny()
    kw = dict(max_new_tokens=50, seed=5, cfg=SamplingConfig(tokens=TOK, slide_stride=6))
    dyn = generate(model, CONDS, make_primer(), **kw)
    stat = generate(model, CONDS, make_primer(), static_step=True, **kw)
    for x, y in zip(dyn.tokens, stat.tokens, strict=True):
        np.testing.assert_array_equal(x, y)


def test_batched_samples_stop_at_their_own_duration():
    model = tiny()
    res = generate(model, CONDS, make_primer(), duration_s=3.0, seed=1, cfg=SamplingConfig(tokens=TOK))
    for ids, dur in zip(res.tokens, res.duration_s):
        t = np.cumsum(V.TIMESHIFT_MS[ids]) / 1000.0
        assert t[-1] == pytest.approx(dur) and dur >= 3.0 and t[-2] < 3.0  # stops at the crossing token
    assert res.reached.all()
    assert [len(h) for h in res.boundary_hit] == [2, 0, 1]


def test_sampling_config_from_params_and_validation():
    from emsync.core.config import GenerateParams

    cfg = SamplingConfig.from_params(GenerateParams(), use_cache=False, tokens=TOK)
    assert (cfg.top_p, cfg.temperature, cfg.window, cfg.use_cache) == (0.7, 1.2, 1216, False)
    with pytest.raises(ValueError, match="top_p"):
        SamplingConfig(tokens=TOK, top_p=0.0)
    assert math.isnan(Condition().valence)


def test_the_stride_is_capped_at_half_the_window():
    """A demo-sized window (the tiny config) with the 1216-window stride keeps half its context."""
    model = ScriptedModel([TS[8]] * 40, max_len=16)
    generate(model, [Condition()], make_primer("bar", "more"), max_new_tokens=30, cfg=SamplingConfig(tokens=TOK, slide_stride=256))
    prefills = [t for t, _ in model.calls if t.shape[1] > 1]
    assert len(prefills) >= 3  # the first one and two slides
    for tokens in prefills[1:]:  # each slide re-prefills the head and the newest 16 - 8 tokens
        assert tokens.shape[1] == 9 and tokens[0, 0].item() == V.MORE


def test_int8_cpu_model_stays_close_and_generates():
    from emsync.models.generation import quantize_int8

    model = tiny_model(max_len=24)
    q = quantize_int8(model)
    tok = torch.randint(16, V.SIZE, (2, 20))
    with torch.no_grad():
        p, pq = model(tok, 0.3, 0.3, torch.ones(2, 20)).softmax(-1), q(tok, 0.3, 0.3, torch.ones(2, 20)).softmax(-1)
    assert (p - pq).abs().max() < 0.01
    res = generate(q, CONDS, make_primer(), max_new_tokens=40, cfg=SamplingConfig(tokens=TOK, slide_stride=8), seed=2)
    assert all(len(t) == 43 for t in res.tokens)


def test_use_offsets_false_feeds_no_offsets_but_still_counts_hits():
    script = [TS[1000], TS[1000], V.CHORD] + [TS[1000]] * 5
    model = ScriptedModel(script)
    res = generate(
        model, [Condition(boundaries=(2.3,))], make_primer(), max_new_tokens=6, cfg=SamplingConfig(tokens=TOK, use_offsets=False)
    )
    assert all(off is None for _, off in model.calls)
    assert res.boundary_hit[0].tolist() == [True]
