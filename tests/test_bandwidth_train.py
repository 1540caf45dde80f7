"""§7.5 training through the one engine: a tiny model overfits one crop, the plateau schedule,
kill-and-resume, checkpoints, the eight variants."""

import dataclasses
import wave

import numpy as np
import pytest
import torch

from emsync.bandwidth import audio as A
from emsync.bandwidth import data as D
from emsync.bandwidth import filters as F
from emsync.bandwidth.train import (
    VARIANTS,
    BandwidthTask,
    PlateauHalving,
    build_model,
    engine_config,
    label,
    load_checkpoint,
    model_config,
    save_checkpoint,
)
from emsync.core.config import BandwidthParams
from emsync.core.errors import InputError
from emsync.training.engine import train

N = 2048


@pytest.fixture(autouse=True)
def one_thread():  # two-core machine: one intra-op thread is several times faster for tiny convs
    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)


@pytest.fixture(scope="module")
def one_crop_song(tmp_path_factory):
    """A song exactly one crop long whose upper band is a function of its lower band (soft-clipped tones)."""
    d = tmp_path_factory.mktemp("bwe")
    t = np.arange(N) / 44100
    x = np.stack([0.5 * np.tanh(3 * np.sin(2 * np.pi * 3000 * t)), 0.5 * np.tanh(3 * np.sin(2 * np.pi * 3500 * t + 1))])
    (d / "songs").mkdir()
    with wave.open(str(d / "songs" / "a.wav"), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(44100)
        w.writeframes(A.to_int16(x).tobytes())
    return D.build_cache(D.discover(folders=[str(d / "songs")], folder_test_songs=0, val_songs=0), d / "cache")


def _params(**kw):
    base = {
        "crop": N,
        "batch_size": 2,
        "resnet_blocks": 1,
        "resnet_channels": 8,
        "unet_channels": [8, 8, 16, 16],
        "unet_bottleneck": 16,
        "plateau_every": 10,
        "val_offset_s": 0.0,
        "val_duration_s": N / 44100,
    }
    base.update(kw)
    return dataclasses.replace(BandwidthParams(), **base)


def test_tiny_unet_overfits_one_crop(one_crop_song):
    p = _params(lr=2e-3, steps=120, eval_every=60, checkpoint_every=120)
    task = BandwidthTask("unet", p, one_crop_song, one_crop_song)
    res = train(task, engine_config(p, device="cpu"), progress=False)
    first, last = res.evals
    assert last["input_snr_seen"] == pytest.approx(first["input_snr_seen"])  # the baseline does not move
    assert last["snr_seen"] > last["input_snr_seen"] + 2.0, res.evals  # output beats the band-limited input
    assert res.history[-1]["loss"] < res.history[0]["loss"] / 5


def test_plateau_halves_lr_after_patience_records():
    opt = torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    s = PlateauHalving(opt, every=2, patience=3)
    losses = [5, 5, 4, 4] + [4.5] * 6  # records: 5, 4, then 4.5 x 3 -> no decrease for 3 records
    lrs = []
    for v in losses:
        s.report(v)
        s.step()
        lrs.append(opt.param_groups[0]["lr"])
    assert s.records == [5, 4, 4.5, 4.5, 4.5] and lrs[-1] == 0.5 and lrs[-2] == 1.0
    s2 = PlateauHalving(opt, every=2, patience=3)
    s2.load_state_dict(s.state_dict())
    assert s2.state_dict() == s.state_dict()


def test_kill_and_resume_gives_the_same_weights(one_crop_song, tmp_path):
    # random output conv: a loss that wanders at lr 1e-6, so the plateau schedule acts within 8 steps
    p = _params(lr=1e-6, steps=8, eval_every=0, checkpoint_every=3, plateau_every=2, plateau_patience=1, identity_init=False)
    straight = train(BandwidthTask("resnet_do", p, one_crop_song), engine_config(p, device="cpu"), progress=False)

    class Kill(Exception):
        pass

    def stop(step, loss):
        if step == 5:
            raise Kill

    task = BandwidthTask("resnet_do", p, one_crop_song)
    state = tmp_path / "state.pt"
    with pytest.raises(Kill):
        train(task, engine_config(p, device="cpu"), state_path=state, fingerprint=task.fingerprint(), on_step=stop, progress=False)
    task = BandwidthTask("resnet_do", p, one_crop_song)
    resumed = train(task, engine_config(p, device="cpu"), state_path=state, fingerprint=task.fingerprint(), progress=False)
    assert resumed.resumed_from == 3
    assert all(torch.equal(straight.model_state[k], resumed.model_state[k]) for k in straight.model_state)
    assert [r["lr"] for r in resumed.history] == [r["lr"] for r in straight.history]
    assert min(r["lr"] for r in straight.history) < 1e-6  # the plateau schedule acted in this run


def test_variants_and_checkpoints(tmp_path):
    p = _params()
    assert list(VARIANTS) == ["unet", "unet_da", "unet_bn", "unet_do", "resnet", "resnet_da", "resnet_bn", "resnet_do"]
    assert label("resnet_da") == "ResNet DA" and label("unet") == "U-Net"
    assert model_config("unet_bn", p)["norm"] == "batch" and model_config("resnet_do", p)["dropout"] == 0.5
    assert model_config("resnet_da", p)["dropout"] == 0.0
    thesis = dataclasses.replace(
        BandwidthParams(), unet_channels=[128, 256, 512, 512], unet_bottleneck=512, resnet_blocks=15, resnet_channels=512
    )
    with torch.device("meta"):
        sizes = {v: sum(q.numel() for q in build_model(model_config(v, thesis)).parameters()) for v in ("unet", "resnet")}
    assert sizes == {"unet": 56_424_324, "resnet": 55_074_306}
    model = build_model(model_config("unet_do", p))
    save_checkpoint(tmp_path / "c.pt", model_config("unet_do", p), model.state_dict(), {"variant": "unet_do"})
    back, extra = load_checkpoint(tmp_path / "c.pt")
    assert extra == {"variant": "unet_do"} and not back.training
    x = torch.randn(1, 2, 640)
    model.eval()
    assert torch.equal(back(x), model(x))
    (tmp_path / "bad.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(InputError, match="bad.pt: not a bandwidth-extension checkpoint"):
        load_checkpoint(tmp_path / "bad.pt")
    with pytest.raises(InputError, match="unknown variant"):
        model_config("vgg", p)


def test_validation_uses_the_variants_filters(one_crop_song):
    p = _params()
    single = BandwidthTask("resnet", p, one_crop_song, one_crop_song * 3)
    multi = BandwidthTask("resnet_da", p, one_crop_song, one_crop_song * 3)
    assert [f for _, f, _, _ in single.val["seen"]] == ["cheby1_6"] * 3
    assert [f for _, f, _, _ in multi.val["seen"]] == list(F.MULTI_FILTER[:3])  # song i -> filter i (§7.4.3)
    assert [f for _, f, _, _ in multi.val["unseen"]] == ["butter_6"] * 3
    assert multi.sampler.filters == F.MULTI_FILTER and single.sampler.filters == ("cheby1_6",)


@pytest.mark.parametrize("variant", ["unet", "resnet_bn"])
def test_identity_init_returns_the_input(one_crop_song, variant):
    """With identity_init the untrained net is the identity (its SNR is the input's); without it,
    the random output conv adds a residual that puts it below the input."""
    low, _ = BandwidthTask(variant, _params(), one_crop_song).batch(0)
    model = BandwidthTask(variant, _params(), one_crop_song).build_model().eval()
    with torch.no_grad():
        assert torch.equal(model(low), low)
        off = BandwidthTask(variant, _params(identity_init=False), one_crop_song).build_model().eval()
        assert not torch.allclose(off(low), low)


@pytest.mark.parametrize("variant, factor", [("unet", 0.9), ("resnet", 1.0)])
def test_engine_steps_reduce_the_loss_on_a_fixed_batch(one_crop_song, variant, factor):
    """A few optimizer steps of the one engine lower the MSE on one fixed batch, starting from the
    identity: the demo settings (lr 5e-4, identity init) learn rather than diverge."""
    p = dataclasses.replace(BandwidthParams(), crop=N, batch_size=4, steps=30, eval_every=0, checkpoint_every=30)  # demo sizes, lr

    class Fixed(BandwidthTask):
        def batch(self, step):
            return super().batch(0)  # the same crops every step

    task = Fixed(variant, p, one_crop_song)
    low, full = task.batch(0)
    before = task.build_model().eval()
    res = train(task, engine_config(p, device="cpu"), progress=False)
    after = task.build_model()
    after.load_state_dict(res.model_state)
    after.eval()
    with torch.no_grad():
        l0 = float(torch.nn.functional.mse_loss(before(low), full))
        l1 = float(torch.nn.functional.mse_loss(after(low), full))
    assert l0 == pytest.approx(float(torch.nn.functional.mse_loss(low, full)))  # identity at step 0
    # the U-Net learns the tones' upper harmonics fast (-60 % in 30 steps); the two-block ResNet,
    # nearly linear at res_scale 0.1, only creeps down on this batch
    assert l1 < factor * l0, (l0, l1)
