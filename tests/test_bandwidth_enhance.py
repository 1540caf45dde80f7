"""`emsync enhance`: a trained checkpoint applied to files, bad input handled (ch. 7)."""

import subprocess
import sys
import tracemalloc
import wave

import numpy as np
import pytest
import torch

from emsync.bandwidth import audio as A
from emsync.bandwidth.enhance import enhance_file
from emsync.bandwidth.infer import enhance
from emsync.bandwidth.train import build_model, load_checkpoint, save_checkpoint
from _root import ROOT


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    torch.manual_seed(0)
    cfg = {"arch": "resnet", "blocks": 1, "channels": 4, "kernel": 7, "res_scale": 0.1, "audio_channels": 2, "norm": "none", "dropout": 0.0}
    path = tmp_path_factory.mktemp("ck") / "checkpoint.pt"
    save_checkpoint(path, cfg, build_model(cfg).state_dict(), {"variant": "resnet"})
    return path


def _cli(*args):
    return subprocess.run([sys.executable, "-m", "emsync", *map(str, args)], capture_output=True, text=True, cwd=ROOT)


def _ffmpeg(path, src, *opts):
    subprocess.run(["ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi", "-i", src, *opts, str(path)], check=True)
    return path


def _read(path):
    with wave.open(str(path)) as w:
        return w.getframerate(), w.getnchannels(), np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)


def test_enhance_matches_the_model(tmp_path, ckpt):
    src = _ffmpeg(tmp_path / "in.wav", "sine=frequency=3000:sample_rate=44100:duration=1.5", "-ac", "2")
    r = _cli("enhance", src, "-o", tmp_path / "out.wav", "--checkpoint", ckpt)
    assert r.returncode == 0, r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines[0] == f"{tmp_path / 'out.wav'}: 1.5 s enhanced"
    # a random test network with no weights record: named, never shown as real
    assert lines[1].startswith("weights     bandwidth extension: unknown weights") and lines[-1].startswith("warning: not real weights")
    sr, ch, y = _read(tmp_path / "out.wav")
    model, _ = load_checkpoint(ckpt)
    x, _ = A.read_audio(src)
    expect = A.to_int16(enhance(model, x))
    assert (sr, ch) == (44100, 2) and np.abs(y.astype(int) - expect).max() <= 1


def test_mono_8k_short_and_silent(tmp_path, ckpt):
    mono = _ffmpeg(tmp_path / "m.wav", "sine=frequency=1000:sample_rate=8000:duration=0.1", "-c:a", "pcm_s24le")
    r = _cli("enhance", mono, "-o", tmp_path / "m_out.wav", "--checkpoint", ckpt)
    assert r.returncode == 0, r.stderr
    assert "resampled 8000 -> 44100 Hz; mono duplicated to stereo" in r.stdout
    assert _read(tmp_path / "m_out.wav")[2].shape == (4410, 2)  # 0.1 s at 44.1 kHz
    silent = _ffmpeg(tmp_path / "s.wav", "anullsrc=r=44100:cl=stereo", "-t", "0.5")
    s = enhance_file(silent, tmp_path / "s_out.wav", ckpt)
    assert s["notes"] == ["input is silent: output is silent"]
    assert not _read(tmp_path / "s_out.wav")[2].any()


def test_bad_input_one_line(tmp_path, ckpt):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF\x10\0\0\0WAVEfmt \x99\x99" + bytes(30))
    r = _cli("enhance", bad, "-o", tmp_path / "o.wav", "--checkpoint", ckpt)
    assert r.returncode != 0 and "Traceback" not in r.stderr
    assert f"{bad}: cannot read audio" in r.stderr and len(r.stderr.strip().splitlines()) == 1
    r = _cli("enhance", tmp_path / "missing.ogg", "-o", tmp_path / "o.wav", "--checkpoint", ckpt)
    assert "missing.ogg: no such audio file" in r.stderr
    ok = _ffmpeg(tmp_path / "ok.wav", "sine=frequency=440:sample_rate=44100:duration=0.2")
    r = _cli("enhance", ok, "-o", tmp_path / "o.wav", "--checkpoint", tmp_path / "nope.pt")
    assert "no bandwidth-extension checkpoint" in r.stderr
    assert not (tmp_path / "o.wav").exists()


def test_long_file_streams_in_flat_memory(tmp_path, ckpt):
    """3 minutes (63 MB as float32 stereo) enhanced with under 12 MB of Python/numpy allocations:
    memory does not grow with the length, so a 3-hour file runs the same way."""
    src = _ffmpeg(tmp_path / "long.flac", "anoisesrc=r=44100:a=0.2:d=180", "-ac", "2")
    tracemalloc.start()
    s = enhance_file(src, tmp_path / "long_out.wav", ckpt, chunk=1 << 16, block=1 << 16)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert s["samples"] == 180 * 44100
    assert peak < 12e6, peak


def _float_wav(path, x):
    """A 32-bit float stereo WAV of (n, 2) samples, as any float-capable editor writes."""
    from scipy.io import wavfile

    wavfile.write(path, 44100, np.asarray(x, np.float32))
    return path


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_inf_samples_are_refused_not_silence(tmp_path, ckpt, bad):
    """NaN compared false with every peak, so a NaN file became 'input is silent' and all zeros."""
    from emsync.core.errors import InputError

    x = np.full((44100, 2), 0.1, np.float32)
    x[30000:30010] = bad
    with pytest.raises(InputError, match="10 samples after 0.0 s are NaN or infinite"):
        enhance_file(_float_wav(tmp_path / "in.wav", x), tmp_path / "out.wav", ckpt)
    assert not (tmp_path / "out.wav").exists()


def test_a_float_input_beyond_full_scale_is_said_to_clip(tmp_path, ckpt):
    x = np.sin(np.arange(44100) / 10.0)[:, None].repeat(2, 1) * 1e6
    s = enhance_file(_float_wav(tmp_path / "loud.wav", x), tmp_path / "out.wav", ckpt)
    assert any("input peaks at 1e+06, above full scale" in n for n in s["notes"])
    assert any("output samples beyond full scale were clipped" in n for n in s["notes"])
    quiet = enhance_file(_float_wav(tmp_path / "ok.wav", x * 5e-7), tmp_path / "out2.wav", ckpt)
    assert not any("full scale" in n for n in quiet["notes"])
