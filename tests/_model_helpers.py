"""Shared music-transformer test helpers: the one-thread fixture and a seeded tiny model
(optionally with head biases that steer sampling), saved as a checkpoint when needed."""

import pytest
import torch

from emsync.generator import save_generator
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
