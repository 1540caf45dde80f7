"""Bandwidth extension speed (thesis Table 7.4): params, MACs, runtime rate (seconds of compute
per second of stereo audio, no-grad forward) of the U-Net and ResNet, and the training data rate
(batches of 8 filtered crops per second) against the training step rate, all in the same run.

    emsync bench bandwidth --device cpu --size tiny          # seconds on a laptop
    emsync bench bandwidth --device cuda --size thesis       # §7.1 sizes (56.4M / 55.1M); thesis: 0.14 / 1.06 on a 1080 Ti
    emsync bench bandwidth --audio ../shared/data/audio      # crops from real songs (default: synthetic noise songs)

`data_keeps_up` is the ratio (data batches per second) / (training steps per second) per
model; >= 1 means one CPU core building batches keeps the step fed (multi-filter batches, the
slowest case: elliptic-12 needs the widest window).
"""

import tempfile
import time
from pathlib import Path


def add_args(p):
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--size", default="tiny", choices=["tiny", "thesis"], help="tiny demo widths or the §7.1 sizes")
    p.add_argument("--seconds", type=float, default=1.0, help="audio length of one timed forward pass")
    p.add_argument("--repeats", type=int, default=2)
    p.add_argument("--steps", type=int, default=3, help="timed training steps per model")
    p.add_argument("--audio", default=None, help="a folder of songs for the data rate (default: synthetic)")


def _songs(folder, tmp):
    import numpy as np

    from emsync.bandwidth import data as D
    from emsync.bandwidth.audio import write_wav

    if folder is None:
        folder = Path(tmp) / "songs"
        rng = np.random.default_rng(0)
        for i in range(3):
            write_wav(folder / f"s{i}.wav", [rng.standard_normal((2, 44100 * 20)).astype(np.float32) * 0.1])
    songs = D.discover(folders=[str(folder)], folder_test_songs=0, val_songs=0)
    return D.build_cache(songs, Path(tmp) / "cache")


def run(args) -> dict:
    import numpy as np
    import torch

    from emsync.bandwidth import data as D
    from emsync.bandwidth import filters as F
    from emsync.bandwidth.evaluate import THESIS_TABLE_7_4, macs, runtime_rate
    from emsync.bandwidth.train import build_model, model_config
    from emsync.core.config import BandwidthParams
    from emsync.training.engine import resolve_device

    device = resolve_device(args.device)
    import dataclasses

    p = dataclasses.replace(BandwidthParams(), crop=8192)  # §7.5's crop (the demo params train on 2048)
    if args.size == "thesis":
        p = dataclasses.replace(p, unet_channels=[128, 256, 512, 512], unet_bottleneck=512, resnet_blocks=15, resnet_channels=512)
    with tempfile.TemporaryDirectory() as tmp:
        sampler = D.CropSampler(_songs(args.audio, tmp), F.MULTI_FILTER, p.crop)
        rng = np.random.default_rng(0)
        sampler.sample(rng, p.batch_size)
        t = time.perf_counter()
        n = 5
        for _ in range(n):
            sampler.sample(rng, p.batch_size)
        data_s = (time.perf_counter() - t) / n
    out = {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "size": args.size,
        "data_s_per_batch": round(data_s, 4),
        "models": {},
    }
    for arch in ("unet", "resnet"):
        model = build_model(model_config(arch, p)).to(device)
        rate = runtime_rate(model, args.seconds, str(device), args.repeats)
        opt = torch.optim.Adam(model.parameters(), lr=p.lr)
        x = torch.randn(p.batch_size, 2, p.crop, device=device) * 0.1
        times = []
        for _ in range(args.steps + 1):
            if device.type == "cuda":
                torch.cuda.synchronize()
            t = time.perf_counter()
            opt.zero_grad()
            torch.nn.functional.mse_loss(model(x), x).backward()
            opt.step()
            if device.type == "cuda":
                torch.cuda.synchronize()
            times.append(time.perf_counter() - t)
        step_s = float(np.mean(times[1:]))
        ref = THESIS_TABLE_7_4[arch]
        out["models"][arch] = {
            "params": sum(q.numel() for q in model.parameters()),
            "macs_65536_G": round(macs(model) / 1e9, 2),
            "runtime_rate": round(rate, 4),
            "thesis_runtime_rate_1080ti": ref[2],
            "train_step_s": round(step_s, 4),
            "data_keeps_up": round(step_s / data_s, 2),
        }
    u, r = out["models"]["unet"], out["models"]["resnet"]
    out["resnet_over_unet_runtime"] = round(r["runtime_rate"] / u["runtime_rate"], 2)  # thesis: 1.06 / 0.14 = 7.6
    out["resnet_over_unet_macs"] = round(r["macs_65536_G"] / u["macs_65536_G"], 2)  # thesis: 8.7
    return out
