"""Emotion curves inside one generation (emotion per scene): the condition switches at the token
whose TIMESHIFT reaches a segment start, in every conditioning mode, identically on the cached,
uncached and static decode paths (models/generation.py "Emotion curves")."""

import numpy as np
import pytest
import torch

from emsync.music.generator import make_primer, token_ids
from emsync.music import vocab as V
from emsync.models.generation import Condition, SamplingConfig, generate

from _model_helpers import one_thread, tiny_model  # noqa: F401 (autouse fixture)

TOK = token_ids()
BIAS = {V.shift_id(200): 3.0}  # time moves: ~a TIMESHIFT every few tokens
SWITCH_S = 1.0
LOW, HIGH = (-0.8, -0.8), (0.8, 0.7)
CURVE = Condition(boundaries=(2.0,), curve=((0.0, *LOW), (SWITCH_S, *HIGH)))
FLAT = Condition(*LOW, boundaries=(2.0,))
MODES = ["continuous_token", "discrete_token", "continuous_concat"]


def run(model, cond, **kw):
    cfg = kw.pop("cfg", SamplingConfig(tokens=TOK, slide_stride=1))
    return generate(model, [cond], make_primer(), max_new_tokens=kw.pop("n", 70), cfg=cfg, seed=kw.pop("seed", 4), **kw)


def switch_index(ids):
    """Index of the token whose TIMESHIFT first reaches SWITCH_S."""
    t = np.cumsum(V.TIMESHIFT_MS[ids]) / 1000.0
    return int(np.argmax(t >= SWITCH_S))


@pytest.mark.parametrize("mode", MODES)
def test_switch_at_the_segment_start_and_only_there(mode):
    model = tiny_model(BIAS, max_len=24, conditioning=mode)
    curved, flat = run(model, CURVE), run(model, FLAT)
    k = switch_index(curved.tokens[0])
    t_k = float(np.cumsum(V.TIMESHIFT_MS[curved.tokens[0]])[k]) / 1000.0  # the cursor after that token
    assert curved.switches == [[(k, pytest.approx(t_k), 1)]] and t_k >= SWITCH_S and curved.conditioning == mode
    assert 3 < k < 60
    # the same tokens up to and including the one that reaches the segment start, then other music
    np.testing.assert_array_equal(curved.tokens[0][: k + 1], flat.tokens[0][: k + 1])
    assert not np.array_equal(curved.tokens[0][k + 1 :], flat.tokens[0][k + 1 : len(curved.tokens[0])])
    # a flat curve is the plain condition, token for token
    same = run(model, Condition(boundaries=(2.0,), curve=((0.0, *LOW), (SWITCH_S, *LOW))))
    np.testing.assert_array_equal(same.tokens[0], flat.tokens[0])


@pytest.mark.parametrize("mode", MODES)
def test_cached_uncached_and_static_paths_switch_alike(mode):
    """Stride 1 across window slides (max_len 24 < 70 tokens): the KV-cached engine (with its prefix
    re-prefill or per-token conditions), the full recompute and the static step sample the same."""
    model = tiny_model(BIAS, max_len=24, conditioning=mode)
    cached = run(model, CURVE)
    full = run(model, CURVE, cfg=SamplingConfig(tokens=TOK, slide_stride=1, use_cache=False))
    static = run(model, CURVE, static_step=True)
    assert len(cached.tokens[0]) > 24 and cached.switches[0]
    np.testing.assert_array_equal(cached.tokens[0], full.tokens[0])
    np.testing.assert_array_equal(cached.tokens[0], static.tokens[0])
    strided = run(model, CURVE, cfg=SamplingConfig(tokens=TOK, slide_stride=8))
    assert [s[0] for s in strided.switches[0]] == [switch_index(strided.tokens[0])]  # strided slides switch at the crossing too


def test_vanilla_ignores_the_curve_and_batches_switch_per_sample():
    van = tiny_model(BIAS, max_len=24, conditioning="vanilla")
    np.testing.assert_array_equal(run(van, CURVE).tokens[0], run(van, FLAT).tokens[0])
    model = tiny_model(BIAS, max_len=24, conditioning="continuous_token")
    late = Condition(boundaries=(), curve=((0.0, *LOW), (3.0, *HIGH)))
    res = generate(model, [CURVE, FLAT, late], make_primer(), max_new_tokens=70, cfg=SamplingConfig(tokens=TOK), seed=4)
    assert [len(s) for s in res.switches] == [1, 0, 1]
    assert res.switches[2][0][1] >= 3.0 > res.switches[0][0][1]


def test_concat_model_takes_a_condition_per_token():
    model = tiny_model(None, conditioning="continuous_concat")
    torch.manual_seed(0)
    tok = torch.randint(V.ON_OFFSET, V.SIZE, (2, 10))
    v = torch.tensor([0.5, -0.3])
    a = torch.tensor([0.1, 0.9])
    with torch.no_grad():
        ref = model(tok, v, a)
        torch.testing.assert_close(model(tok, v[:, None].expand(2, 10), a[:, None].expand(2, 10)), ref)
        vt = torch.where(torch.arange(10) < 6, -0.7, 0.6).expand(2, 10)  # switch at token 6
        full = model(tok, vt, a[:, None].expand(2, 10))
        torch.testing.assert_close(full[:, :6], model(tok[:, :6], -0.7, a)[:, :6])  # causal: earlier tokens unaffected
        cache = model.new_cache(2)
        steps = []
        for i in range(10):  # one token per step, each with its own condition
            out, cache = model(tok[:, i : i + 1], vt[:, i], a, cache=cache)
            steps.append(out)
        torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)
    for mode in ("continuous_token", "discrete_token"):
        with pytest.raises(ValueError, match="needs continuous_concat"):
            tiny_model(None, conditioning=mode)(tok, vt, a[:, None].expand(2, 10))


def test_a_model_that_follows_arousal_changes_density_at_the_switch():
    """With a model whose density rises with arousal (by construction), a low -> high curve gives
    sparse music before the segment start and dense music after it, and high -> low the reverse."""
    from _model_helpers import arousal_density_model

    model = arousal_density_model(max_len=64)
    cfg = SamplingConfig(tokens=TOK, slide_stride=16)

    def density(cond):
        ids = generate(model, [cond], make_primer(), duration_s=8.0, cfg=cfg, seed=1).tokens[0]
        t = np.cumsum(V.TIMESHIFT_MS[ids]) / 1000.0
        on = V.IS_ON[ids]
        return on[t < 4.0].sum() / 4.0, on[t >= 4.0].sum() / 4.0

    up = density(Condition(curve=((0.0, 0.0, -0.8), (4.0, 0.0, 0.8))))
    down = density(Condition(curve=((0.0, 0.0, 0.8), (4.0, 0.0, -0.8))))
    print("notes per s, low->high:", up, "high->low:", down)
    assert up[1] > 4 * up[0] and down[0] > 4 * down[1], (up, down)
