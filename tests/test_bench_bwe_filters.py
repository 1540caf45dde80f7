"""`emsync bench bwe_filters` (the GPU single- vs multi-filter ResNet run) works end to end on a
tiny CPU setting: both variants train through the engine, the table and the finding come out."""

import argparse

import numpy as np
import pytest

from emsync.bandwidth.audio import write_wav
from emsync.benchmarks import bwe_filters


def test_tiny_cpu_run_prints_the_table(tmp_path, capsys):
    rng = np.random.default_rng(0)
    folders = []
    for k in range(2):
        d = tmp_path / f"f{k}"
        for i in range(3):
            t = np.arange(44100 * 2) / 44100
            x = 0.5 * np.tanh(3 * np.sin(2 * np.pi * (1500 + 700 * i + 300 * k) * t)) + 0.01 * rng.standard_normal(t.shape)
            write_wav(d / f"s{k}{i}.wav", [np.stack([x, x]).astype(np.float32)])
        folders.append(str(d))
    ap = argparse.ArgumentParser()
    bwe_filters.add_args(ap)
    args = ap.parse_args(
        ["--device", "cpu", "--size", "tiny", "--steps", "3", "--crop", "1024", "--batch", "2", "--eval-every", "3", "--audio", *folders]
    )
    out = bwe_filters.run(args)
    table = capsys.readouterr().out
    assert "| unseen | ResNet DA |" in table and "| 29.16 | +1.78 |" in table  # the thesis's row beside ours
    assert out["songs"]["test"] == ["folder:s02", "folder:s12"] and len(out["songs"]["val"]) == 1
    assert {v: r["steps"] for v, r in out["runs"].items()} == {"resnet": 3, "resnet_da": 3}
    f = out["thesis_finding"]
    assert f["holds"] == (f["single_unseen_delta"] < 0 < f["multi_unseen_delta"])
    assert out["test"]["resnet"]["unseen"]["input_snr"] == pytest.approx(out["test"]["resnet_da"]["unseen"]["input_snr"])
