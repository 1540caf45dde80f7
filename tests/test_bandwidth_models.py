"""§7.1 models: parameter counts against the thesis, regulariser placement (§7.2), chunked
inference equal to one whole pass (§7.4.2)."""

import numpy as np
import pytest
import torch

from emsync.bandwidth.infer import SnrAccumulator, enhance, enhance_blocks, snr
from emsync.models.bwe_resnet import BweResNet, BweResNetConfig
from emsync.models.bwe_unet import BweUNet, BweUNetConfig, pixel_shuffle_1d


def n_params(m):
    return sum(p.numel() for p in m.parameters())


@pytest.mark.parametrize("kw", [{}, {"norm": "batch"}, {"dropout": 0.5}])
def test_parameter_counts_match_the_thesis(kw):
    with torch.device("meta"):  # no memory for 56M weights
        u, r = BweUNet(BweUNetConfig(**kw)), BweResNet(BweResNetConfig(**kw))
    assert abs(n_params(u) / 56.4e6 - 1) < 0.02 and abs(n_params(r) / 55.1e6 - 1) < 0.02
    if not kw:
        assert (n_params(u), n_params(r)) == (56_424_324, 55_074_306)


def test_regulariser_placement():
    u = BweUNet(BweUNetConfig(channels=(4, 8), kernels=(9, 5), bottleneck=8, norm="batch"))
    assert all(isinstance(d[1], torch.nn.BatchNorm1d) for d in [*u.down, u.bottleneck_down])  # after each down conv
    assert not any(isinstance(m, torch.nn.BatchNorm1d) for m in [*u.up.modules(), *u.bottleneck_up.modules()])
    u = BweUNet(BweUNetConfig(channels=(4, 8), kernels=(9, 5), bottleneck=8, dropout=0.5))
    assert all(isinstance(x[1], torch.nn.Dropout) for x in [*u.up, u.bottleneck_up])  # after each up conv
    r = BweResNet(BweResNetConfig(blocks=2, channels=8, dropout=0.5))
    body = list(r.blocks[0].body)
    assert [type(m).__name__ for m in body] == ["Conv1d", "ReLU", "Dropout", "Conv1d"]  # between the two convs
    r = BweResNet(BweResNetConfig(blocks=2, channels=8, norm="batch"))
    assert [type(m).__name__ for m in r.blocks[0].body] == ["Conv1d", "BatchNorm1d", "ReLU", "Conv1d", "BatchNorm1d"]


def test_pixel_shuffle_weaves_channels():
    x = torch.arange(12.0).view(1, 4, 3)  # channels 0,1 -> block 0; 2,3 -> block 1
    y = pixel_shuffle_1d(x)
    assert y.shape == (1, 2, 6)
    assert y[0, 0].tolist() == [0, 6, 1, 7, 2, 8]  # samples alternate between the two channel blocks


def _tiny(kind):
    torch.manual_seed(0)
    if kind == "unet":
        return BweUNet(BweUNetConfig(channels=(4, 6, 8, 8), bottleneck=8)).eval()
    return BweResNet(BweResNetConfig(blocks=3, channels=8)).eval()


@pytest.mark.parametrize("kind", ["unet", "resnet"])
@pytest.mark.parametrize("n", [1, 4410, 20_000, 40_003])
def test_chunked_equals_whole_pass(kind, n):
    model = _tiny(kind)
    x = np.random.default_rng(n).standard_normal((2, n)).astype(np.float32) * 0.3
    m = model.cfg.length_multiple
    padded = np.pad(x, ((0, 0), (0, (-n) % m)))
    with torch.no_grad():
        whole = model(torch.from_numpy(padded)[None])[0].numpy()[:, :n]
    # the same output whether fed as one block or as a stream of odd-sized blocks, chunk by chunk
    assert np.abs(enhance(model, x, chunk=4096) - whole).max() < 1e-5
    parts = np.array_split(x, max(1, n // 3001), axis=1)
    streamed = np.concatenate(list(enhance_blocks(model, parts, chunk=2048)), axis=1)
    assert streamed.shape == x.shape and np.abs(streamed - whole).max() < 1e-5


def test_snr_is_eq_7_1():
    x = np.ones((2, 100))
    assert snr(x, x * 0.9) == pytest.approx(20.0)  # ||x||^2 / ||0.1 x||^2 = 100
    acc = SnrAccumulator()
    acc.add(x[:, :30], x[:, :30] * 0.9)
    acc.add(x[:, 30:], x[:, 30:])
    assert acc.value() == pytest.approx(10 * np.log10(200 / (60 * 0.01)))
