"""A synthetic video with speech at known times: espeak-ng phrases placed in a faint noise floor
(installed by scripts/install_system.sh), under a plain picture. The truth of each phrase is
where its waveform is above -40 dBFS, measured on the placed samples."""

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import pytest
from scipy.io import wavfile
from scipy.signal import resample_poly

from _videos import ffmpeg

SR = 16000


def espeak(text: str) -> np.ndarray:
    """`text` spoken by espeak-ng, float mono at 16 kHz, silence trimmed off both ends."""
    exe = shutil.which("espeak-ng")
    if exe is None:
        pytest.skip("espeak-ng not installed (scripts/install_system.sh installs it)")
    with tempfile.TemporaryDirectory() as d:
        subprocess.run([exe, "-w", f"{d}/s.wav", text], check=True, capture_output=True)
        sr, pcm = wavfile.read(f"{d}/s.wav")
    x = resample_poly(pcm.astype(np.float64) / 32768, SR, sr)
    on = np.nonzero(np.abs(x) > 0.01)[0]
    return x[on[0] : on[-1] + 1]


def speech_video(out, phrases, duration: float, size="96x64", level: float = 0.5, cut_at: float | None = None) -> tuple[Path, list]:
    """A `duration`-s video whose audio holds `phrases` [(start_s, text), ...] (and with `cut_at`
    a scene cut there); returns (path, true speech intervals [(start, end), ...])."""
    out = Path(out)
    audio = np.random.default_rng(0).normal(0, 0.003, int(duration * SR))  # a faint noise floor
    truth = []
    for start, text in phrases:
        x = espeak(text) * level
        i = int(start * SR)
        audio[i : i + len(x)] += x[: len(audio) - i]
        truth.append((start, round(start + min(len(x), len(audio) - i) / SR, 3)))
    wav = out.with_suffix(".wav")
    wavfile.write(wav, SR, np.clip(audio * 32767, -32768, 32767).astype(np.int16))
    scenes = [("testsrc2", cut_at or duration)] + ([("smptebars", duration - cut_at)] if cut_at else [])
    inputs = [a for src, d in scenes for a in ("-f", "lavfi", "-i", f"{src}=s={size}:r=25:d={d}")]
    graph = "".join(f"[{i}:v]" for i in range(len(scenes))) + f"concat=n={len(scenes)}:v=1:a=0,format=yuv420p[v]"
    ffmpeg(*inputs, "-i", wav, "-filter_complex", graph, "-map", "[v]", "-map", f"{len(scenes)}:a", "-c:v", "libx264",
           "-preset", "ultrafast", "-c:a", "aac", "-b:a", "128k", "-shortest", out)  # fmt: skip
    wav.unlink()
    return out, truth
