"""Shared music-transformer test helpers: the one-thread fixture and a seeded tiny model
(optionally with head biases that steer sampling), saved as a checkpoint when needed."""

import pytest
import torch

from emsync.music.generator import save_generator
from emsync.models.music_transformer import MusicTransformer, MusicTransformerConfig


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors on a shared 2-core box: one thread avoids OpenMP contention.
    Import it into a test module (`from _model_helpers import one_thread`) to make it autouse there."""
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


def tiny_model(bias=None, seed=0, **cfg):
    """The seeded "tiny" config (keyword overrides in `cfg`) in eval mode; `bias` maps token id ->
    output-head bias, e.g. {V.shift_id(200): 4.0} to keep sampled sequences short."""
    torch.manual_seed(seed)
    model = MusicTransformer(MusicTransformerConfig.from_name("tiny", **cfg)).eval()
    with torch.no_grad():
        for tok, b in (bias or {}).items():
            model.head.bias[tok] = b
    return model


def tiny_checkpoint(path, bias=None, max_len=64):
    """Save `tiny_model(bias, max_len=max_len)` to `path` and return the path."""
    save_generator(path, tiny_model(bias, max_len=max_len))
    return path


PIANO_KEYS = range(60, 72)


def arousal_density_model(gain: float = 0.3, seed: int = 0, **cfg):
    """A tiny continuous_concat model whose note density follows arousal, by construction: every
    block's residual branch is zeroed (the stack passes its input through), FFN_a writes 40 x arousal
    into one feature that dominates the final LayerNorm (FFN_v writes nothing), and the head reads that
    feature: high arousal favours piano ONs over the 200 ms TIMESHIFT, low arousal the reverse. It
    stands in for a trained model when testing that per-scene conditions reach the right tokens."""
    from emsync.music import vocab as V

    model = tiny_model(None, seed, conditioning="continuous_concat", **cfg)
    c = model.cfg
    j = c.cond_width // 2  # the first FFN_a output inside [FFN_v(v), FFN_a(a), token embedding]
    with torch.no_grad():
        for blk in model.blocks:
            for lin in (blk.attn.proj, blk.ff[2]):
                lin.weight.zero_(), lin.bias.zero_()
        model.ffn_v.net[2].weight.zero_(), model.ffn_v.net[2].bias.zero_()
        a = model.ffn_a.net
        a[0].weight.zero_(), a[0].bias.zero_(), a[2].weight.zero_(), a[2].bias.zero_()
        a[0].weight[0, 0], a[0].weight[1, 0] = 1.0, -1.0  # relu(a), relu(-a)
        a[2].weight[0, 0], a[2].weight[0, 1] = 40.0, -40.0  # 40 a
        model.head.weight.zero_()
        model.head.bias.fill_(-10.0)
        model.head.bias[V.shift_id(200)] = 3.0
        for p in PIANO_KEYS:
            model.head.bias[V.on_id(V.PIANO, p)] = 0.0
            model.head.bias[V.off_id(V.PIANO, p)] = 1.0
            model.head.weight[V.on_id(V.PIANO, p), j] = gain  # LayerNorm puts the feature near +-8
    return model.eval()
