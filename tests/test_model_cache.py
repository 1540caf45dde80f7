"""KV cache: cached decoding gives the uncached logits, with conditioning and boundary
offsets present, also after the window slides (the engine re-prefills the retained tail)."""

import pytest
import torch

from emsync.music import vocab
from emsync.models.music_transformer import CONDITIONING_MODES

from _model_helpers import one_thread, tiny_model  # noqa: F401 (autouse fixture)

B, T = 3, 24
VAL = torch.tensor([0.3, float("nan"), -0.9])
ARO = torch.tensor([float("nan"), 0.5, 0.1])


def make(mode, boundaries=True, max_len=16):
    return tiny_model(seed=1, conditioning=mode, boundaries=boundaries, max_len=max_len)


def data(boundaries):
    g = torch.Generator().manual_seed(2)
    tok = torch.randint(16, vocab.SIZE, (B, T), generator=g)
    off = torch.rand(B, T, generator=g) * 12 if boundaries else None
    return tok, off


def cut(off, a, b):
    return None if off is None else off[:, a:b]


@pytest.mark.parametrize("boundaries", [True, False], ids=["offsets", "no-offsets"])
@pytest.mark.parametrize("mode", CONDITIONING_MODES)
def test_cached_decoding_equals_uncached_logits(mode, boundaries):
    model = make(mode, boundaries)
    tok, off = data(boundaries)
    with torch.no_grad():
        full = model(tok[:, :16], VAL, ARO, cut(off, 0, 16))  # (B, 16, V)
        cache = model.new_cache(B)
        out, cache = model(tok[:, :5], VAL, ARO, cut(off, 0, 5), cache=cache)  # prefill
        steps = [out]
        for t in range(5, 16):  # one token per step
            out, cache = model(tok[:, t : t + 1], VAL, ARO, cut(off, t, t + 1), cache=cache)
            steps.append(out)
    assert cache.pos == model.cfg.n_prefix + 16 == cache.capacity
    torch.testing.assert_close(torch.cat(steps, 1), full, atol=1e-5, rtol=1e-5)


@pytest.mark.parametrize("mode", ["continuous_token", "continuous_concat", "discrete_token"])
def test_cache_after_the_window_slides_matches_uncached_window(mode):
    """Window 16, stride 6: when full, the engine keeps the last 10 tokens, re-prefills them (they
    get new absolute positions) and continues; each step equals an uncached pass over its window."""
    model = make(mode)
    tok, off = data(True)
    window, keep = 16, 10
    with torch.no_grad():
        cache = model.new_cache(B)
        _, cache = model(tok[:, :window], VAL, ARO, off[:, :window], cache=cache)
        lo = window - keep  # first token of the retained tail
        cache.reset()
        _, cache = model(tok[:, lo:window], VAL, ARO, off[:, lo:window], cache=cache)
        for t in range(window, window + 6):
            got, cache = model(tok[:, t : t + 1], VAL, ARO, off[:, t : t + 1], cache=cache)
            ref = model(tok[:, lo : t + 1], VAL, ARO, off[:, lo : t + 1])[:, -1:]
            torch.testing.assert_close(got, ref, atol=1e-5, rtol=1e-5)
    assert cache.pos == cache.capacity


@pytest.mark.parametrize("mode", ["vanilla", "continuous_token", "continuous_concat"])
def test_static_decode_step_equals_dynamic_cache(mode):
    """The CUDA-graph-friendly step (fixed shapes, position as a tensor) gives the same logits."""
    model = make(mode)
    tok, off = data(True)
    with torch.no_grad():
        dyn, stat = model.new_cache(B), model.new_cache(B)
        _, dyn = model(tok[:, :4], VAL, ARO, off[:, :4], cache=dyn)
        _, stat = model(tok[:, :4], VAL, ARO, off[:, :4], cache=stat)
        for t in range(4, 16):
            want, dyn = model(tok[:, t : t + 1], VAL, ARO, off[:, t : t + 1], cache=dyn)
            pos = torch.tensor(model.cfg.n_prefix + t)
            got = model.decode_static(tok[:, t : t + 1], VAL, ARO, off[:, t : t + 1], stat, pos)
            torch.testing.assert_close(got, want[:, 0], atol=1e-5, rtol=1e-5)
