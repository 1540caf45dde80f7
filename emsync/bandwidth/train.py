"""Training the §7.2.3 model variants through the one engine (emsync/training/engine.py).

    task = BandwidthTask("resnet_da", params.bandwidth, train_songs, val_songs)
    res = train(task, engine_config(params.bandwidth), state_path=..., fingerprint=task.fingerprint())

§7.5: batches of 8 random 8192-sample stereo crops, MSE, Adam (5e-4, betas 0.9/0.999), the lr
halved when the mean training loss, recorded every `plateau_every` (2500) steps, has not decreased
for `plateau_patience` (5) records. Validation every `eval_every` steps (§7.4.3) on the validation
excerpts with the seen filter(s) of the variant's training setting and with the unseen
Butterworth-6: output SNR and input SNR (the dashed baselines of Fig. 7.3).

Deviations from §7.5's N(0, 1) initial weights: PyTorch's default initialisation (unit-variance
weights in 512-channel, width-7 convolutions make activations grow ~60x per layer), and with
`identity_init` the output conv starts at zero, so the untrained network returns its input (input
SNR) and training only has to learn the missing band; without it the random residual of a fresh
net sits ~15 dB below the input SNR and a short CPU run never climbs back (demo measurement,
docs/bandwidth.md).
"""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import torch

from emsync.bandwidth import data as D
from emsync.bandwidth import filters as F
from emsync.bandwidth.infer import enhance, snr
from emsync.core.errors import InputError
from emsync.core.io import atomic_path
from emsync.models.bwe_resnet import BweResNet, BweResNetConfig
from emsync.models.bwe_unet import BweUNet, BweUNetConfig
from emsync.training.engine import EngineConfig, Task, fingerprint, step_seed

# name -> (architecture, norm, dropout?, multi-filter training?)  (§7.2.3)
VARIANTS = {
    "unet": ("unet", "none", False, False),
    "unet_da": ("unet", "none", False, True),
    "unet_bn": ("unet", "batch", False, False),
    "unet_do": ("unet", "none", True, False),
    "resnet": ("resnet", "none", False, False),
    "resnet_da": ("resnet", "none", False, True),
    "resnet_bn": ("resnet", "batch", False, False),
    "resnet_do": ("resnet", "none", True, False),
}
LABELS = {"unet": "U-Net", "resnet": "ResNet", "da": "DA", "bn": "BN", "do": "DO"}


def label(variant: str) -> str:
    """'resnet_da' -> 'ResNet DA' (Table 7.2's names)."""
    return " ".join(LABELS[p] for p in variant.split("_"))


def model_config(variant: str, p) -> dict:
    """{"arch", **config} of `variant` with the sizes in params section `p` (bandwidth)."""
    if variant not in VARIANTS:
        raise InputError(f"bandwidth.variants: unknown variant {variant!r}; known: {sorted(VARIANTS)}")
    arch, norm, do, _ = VARIANTS[variant]
    drop = p.dropout if do else 0.0
    if arch == "unet":
        cfg = BweUNetConfig(
            channels=tuple(p.unet_channels), kernels=tuple(p.unet_kernels), bottleneck=p.unet_bottleneck, norm=norm, dropout=drop
        )
    else:
        cfg = BweResNetConfig(blocks=p.resnet_blocks, channels=p.resnet_channels, kernel=p.resnet_kernel, norm=norm, dropout=drop)
    return {"arch": arch, **cfg.to_dict()}


def build_model(config: dict) -> torch.nn.Module:
    cfg = dict(config)
    arch = cfg.pop("arch")
    if arch == "unet":
        return BweUNet(BweUNetConfig(**cfg))
    if arch == "resnet":
        return BweResNet(BweResNetConfig(**cfg))
    raise InputError(f"unknown bandwidth-extension architecture {arch!r}")


def training_filters(variant: str) -> tuple:
    return F.MULTI_FILTER if VARIANTS[variant][3] else F.SINGLE_FILTER


class PlateauHalving:
    """§7.5 lr schedule, stepped once per optimizer step by the engine: the losses the task reports
    are averaged over `every` steps into one record; after `patience` records with no decrease
    below the best, every lr is halved and the count restarts."""

    def __init__(self, optimizer, every: int, patience: int, factor: float = 0.5):
        self.opt, self.every, self.patience, self.factor = optimizer, every, patience, factor
        self.pending, self.window, self.records, self.best, self.bad = [], [], [], None, 0

    def report(self, loss: float):
        self.pending.append(loss)

    def step(self):
        if self.pending:
            self.window.append(float(np.mean(self.pending)))
            self.pending = []
        if len(self.window) >= self.every:
            rec = float(np.mean(self.window))
            self.window = []
            self.records.append(rec)
            if self.best is None or rec < self.best:
                self.best, self.bad = rec, 0
            else:
                self.bad += 1
                if self.bad >= self.patience:
                    for g in self.opt.param_groups:
                        g["lr"] *= self.factor
                    self.bad = 0

    def state_dict(self):
        return {k: getattr(self, k) for k in ("pending", "window", "records", "best", "bad")}

    def load_state_dict(self, s):
        for k, v in s.items():
            setattr(self, k, v)


class BandwidthTask(Task):
    """One §7.2.3 variant: crops from `train_songs`, validation on `val_songs` (cached Songs)."""

    def __init__(self, variant: str, p, train_songs, val_songs=()):
        self.variant, self.p = variant, p
        self.name = f"bwe_{variant}"
        self.config = model_config(variant, p)
        self.filters = training_filters(variant)
        self.sampler = D.CropSampler(train_songs, self.filters, p.crop, p.cutoff_hz, p.sample_rate)
        self.val = {}
        if val_songs:
            for setting, names in (("seen", self.filters), ("unseen", (F.UNSEEN_FILTER,))):
                self.val[setting] = D.validation_excerpts(val_songs, names, p.val_offset_s, p.val_duration_s, p.cutoff_hz, p.sample_rate)
        self.scheduler = None

    def fingerprint(self) -> str:
        keys = ("crop", "batch_size", "lr", "plateau_every", "plateau_patience", "cutoff_hz", "seed", "identity_init")
        return fingerprint(
            self.variant, self.config, {k: getattr(self.p, k) for k in keys}, [(s.song_id, s.samples) for s in self.sampler.songs]
        )

    def build_model(self):
        model = build_model(self.config)
        if self.p.identity_init:
            out = model.output_conv()
            torch.nn.init.zeros_(out.weight)
            torch.nn.init.zeros_(out.bias)
        return model

    def batch(self, step):
        rng = np.random.default_rng(step_seed(self.p.seed, step))  # only (seed, step) decide the batch
        low, full, _ = self.sampler.sample(rng, self.p.batch_size)
        return torch.from_numpy(low), torch.from_numpy(full)  # (B, 2, crop) each

    def loss(self, model, batch):
        low, full = batch
        loss = torch.nn.functional.mse_loss(model(low), full)
        if self.scheduler is not None:
            self.scheduler.report(float(loss.detach()))
        return loss

    def configure_optimizers(self, model):
        opt = torch.optim.Adam(model.parameters(), lr=self.p.lr, betas=(0.9, 0.999))
        self.scheduler = PlateauHalving(opt, self.p.plateau_every, self.p.plateau_patience)
        return opt, self.scheduler

    def metrics(self, model):
        """§7.4.3: mean SNR over the validation excerpts, output and input, seen and unseen."""
        out = {}
        for setting, items in self.val.items():
            ys = [enhance(model, low, self.p.eval_chunk) for _, _, low, _ in items]
            out[f"snr_{setting}"] = float(np.mean([snr(full, y) for (_, _, _, full), y in zip(items, ys)]))
            out[f"input_snr_{setting}"] = float(np.mean([snr(full, low) for _, _, low, full in items]))
        return out


def engine_config(p, **overrides) -> EngineConfig:
    """The engine settings of params section `p` (§7.5: no gradient clipping, fp32)."""
    kw = {
        "steps": p.steps,
        "seed": p.seed,
        "device": p.device,
        "lr": p.lr,
        "grad_clip": 0.0,
        "amp": "off",
        "checkpoint_every": p.checkpoint_every,
        "eval_every": p.eval_every,
        "log_every": 1,
    }
    kw.update(overrides)
    return EngineConfig(**kw)


def save_checkpoint(path, config: dict, state_dict: dict, extra: dict | None = None):
    """{"config", "state_dict", "extra"} written atomically (same bytes for the same weights)."""
    buf = io.BytesIO()
    torch.save({"config": config, "state_dict": state_dict, "extra": extra or {}}, buf)
    with atomic_path(path, suffix=".pt") as tmp:
        tmp.write_bytes(buf.getvalue())


def load_checkpoint(path, map_location="cpu") -> tuple:
    """(model in eval mode, extra) from a checkpoint written by save_checkpoint."""
    if Path(path).exists() and not Path(path).is_file():  # a FIFO or device would block
        raise InputError(f"{path}: not a regular file (a bandwidth-extension checkpoint is a file)")
    try:
        ck = torch.load(path, map_location=map_location, weights_only=False)
        model = build_model(ck["config"])
        model.load_state_dict(ck["state_dict"])
    except FileNotFoundError as e:
        raise InputError(f"{path}: no bandwidth-extension checkpoint (run the bandwidth stage first)") from e
    except Exception as e:  # unpickling errors, missing keys, wrong shapes: all mean "not ours"
        raise InputError(f"{path}: not a bandwidth-extension checkpoint ({type(e).__name__}: {e})") from e
    return model.eval(), ck.get("extra", {})


__all__ = [
    "VARIANTS",
    "BandwidthTask",
    "PlateauHalving",
    "build_model",
    "engine_config",
    "label",
    "load_checkpoint",
    "model_config",
    "save_checkpoint",
    "training_filters",
]
