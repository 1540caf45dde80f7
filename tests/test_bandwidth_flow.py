"""The bandwidth stages end to end on a tiny folder: train two variants through the engine, then
the test report (Table 7.2 / 7.4 shaped, curves, spectrograms)."""

import dataclasses
import json
import subprocess

import numpy as np
import pytest
import torch

from emsync.bandwidth import data as D
from emsync.bandwidth import filters as F
from emsync.bandwidth.infer import snr
from emsync.bandwidth.vggish import save_vggish
from emsync.core.config import load_params
from emsync.models.vggish import Vggish, VggishConfig


def summary_vgg(metrics):
    return metrics["results"]["resnet_da"]["unseen"]["vgg"]


@pytest.mark.slow
def test_train_and_report(tmp_path):
    from emsync.flows.bandwidth import report_flow, train_flow

    songs = tmp_path / "songs"
    songs.mkdir()
    for i, f in enumerate((2000, 5000, 9000)):  # soft-clipped tones: energy above 11 kHz
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                f"sine=frequency={f}:sample_rate=44100:duration=3",
                "-af",
                "volume=4,alimiter=limit=0.5",
                "-ac",
                "2",
                str(songs / f"s{i}.wav"),
            ],
            check=True,
        )
    torch.manual_seed(0)  # a tiny offline VGGish through the real loading path (§7.4.1)
    save_vggish(
        tmp_path / "vggish",
        Vggish(VggishConfig(channels=(4, 4, 8, 8, 8, 8), hidden=32, embedding=16)),
        3000 * np.eye(16),
        np.full(16, 0.05),
    )
    (tmp_path / "vggish" / "demo.json").write_text('{"weights": "demo"}')  # marked as the demo_models stage marks it
    p = load_params()
    bw = dataclasses.replace(
        p.bandwidth,
        vggish_model=str(tmp_path / "vggish"),
        folders=[str(songs)],
        folder_test_songs=1,
        val_songs=1,
        val_offset_s=0.5,
        val_duration_s=0.5,
        steps=4,
        eval_every=2,
        checkpoint_every=2,
        variants=["unet", "resnet_da"],
        out_dir=str(tmp_path / "out"),
        cache_dir=str(tmp_path / "cache"),
        device="cpu",
    )
    p = dataclasses.replace(p, bandwidth=bw)
    for v in bw.variants:
        m = train_flow(p, v, reports_dir=str(tmp_path / "reports"))
        assert m["steps"] == 4 and [e["step"] for e in m["evals"]] == [2, 4]
        assert (tmp_path / "out" / v / "checkpoint.pt").exists() and (tmp_path / "out" / v / "loss.csv").exists()
    summary = report_flow(p, reports_dir=str(tmp_path / "reports"))
    assert set(summary) == {"unet", "resnet_da"}
    # the input SNR in the report is eq. 7.1 of the whole low-passed test song
    test = D.build_cache(
        [s for s in D.discover(folders=[str(songs)], folder_test_songs=1, val_songs=0) if s.split == "test"], tmp_path / "cache"
    )
    full = np.asarray(test[0].audio(), np.float64).T / 32768
    assert summary["unet"]["unseen_input_snr"] == pytest.approx(snr(full, F.lowpass(full, "butter_6")), abs=1e-4)
    md = (tmp_path / "reports" / "bandwidth.md").read_text()
    assert (
        "thesis ΔSNR | VGG | -ΔVGG |" in md
        and 0 <= summary_vgg(metrics := json.loads((tmp_path / "reports" / "bandwidth_metrics.json").read_text())) <= 255
    )
    assert "**Demo numbers, not thesis numbers**" in md and "VGG distance (eq. 7.2): **demo weights**" in md
    assert "| U-Net | 4 |" in md and metrics["demo"] and metrics["vggish_demo_weights"] and metrics["validation"]["unet"]["step"] == 4
    assert "| butter_6 (unseen filter) | Input |" in md and "| | ResNet DA |" in md and "| | U-Net |" in md
    assert metrics["table_7_4"]["unet"]["params"] > 0
    for f in ("bandwidth_curves.png", "bandwidth_spectrograms.png"):
        assert (tmp_path / "reports" / f).stat().st_size > 10_000
