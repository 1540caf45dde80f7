"""Audio in and out for bandwidth extension (§7.3): every file becomes 44.1 kHz stereo float32.

    info = probe(path)                        # {"sample_rate", "channels", "codec", "sample_format", "duration"}
    for block in iter_blocks(path): ...       # (2, n) float32 blocks at 44.1 kHz, decoded as a stream
    x, notes = read_audio(path)               # the whole file, (2, n), and the conversions applied
    write_wav(path, blocks)                   # 16-bit stereo WAV written block by block, atomically

Any format FFmpeg (PyAV) decodes is accepted (wav, flac, ogg, ...). Conversions, each recorded as a
note: other sample rates are resampled by libswresample; mono is duplicated to both channels at the
same level (not libswresample's -3 dB upmix); more than two channels are downmixed to stereo by
libswresample; integer formats deeper than 16 bits are read at full precision as float (the cached
training copy is 16-bit, see data.py).
"""

from __future__ import annotations

import wave
from pathlib import Path

import numpy as np

from emsync.core.errors import InputError
from emsync.core.io import atomic_path

SAMPLE_RATE = 44100


def _open(path):
    import av

    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such audio file")
    try:
        c = av.open(str(path))
    except Exception as e:  # av.error.* for corrupt headers, unknown formats
        raise InputError(f"{path}: cannot read audio ({type(e).__name__}: {e})") from e
    if not c.streams.audio:
        c.close()
        raise InputError(f"{path}: the file has no audio stream")
    return c, c.streams.audio[0]


def probe(path) -> dict:
    """Sample rate, channels, codec, sample format and duration (s, from the container) of `path`."""
    c, st = _open(path)
    with c:
        dur = float(st.duration * st.time_base) if st.duration else (c.duration / 1e6 if c.duration else None)
        return {
            "sample_rate": int(st.rate),
            "channels": int(st.channels),
            "codec": st.codec_context.name,
            "sample_format": st.format.name if st.format else "",
            "duration": dur,
        }


def conversion_notes(info: dict, sample_rate: int = SAMPLE_RATE) -> list:
    """What iter_blocks does to a file with this `probe` info to make it `sample_rate` stereo."""
    notes = []
    if info["sample_rate"] != sample_rate:
        notes.append(f"resampled {info['sample_rate']} -> {sample_rate} Hz")
    if info["channels"] == 1:
        notes.append("mono duplicated to stereo")
    elif info["channels"] > 2:
        notes.append(f"{info['channels']} channels downmixed to stereo")
    if info["sample_format"] in ("s32", "s32p", "flt", "fltp", "dbl", "dblp") and info["codec"].startswith("pcm"):
        notes.append(f"{info['codec']} read as float")
    return notes


def iter_blocks(path, block: int = SAMPLE_RATE * 10, sample_rate: int = SAMPLE_RATE):
    """(2, n) float32 blocks of about `block` samples at `sample_rate`, decoded as a stream (memory
    stays at a few blocks for a file of any length)."""
    import av

    c, st = _open(path)
    mono = st.channels == 1
    res = av.AudioResampler(format="flt", layout="mono" if mono else "stereo", rate=sample_rate)
    ch = 1 if mono else 2
    pending, size = [], 0
    try:
        with c:
            frames = c.decode(st)
            while True:
                try:
                    frame = next(frames)
                except StopIteration:
                    frame = None
                except av.error.FFmpegError as e:
                    raise InputError(f"{path}: corrupt audio data ({e})") from e
                for f in res.resample(frame):  # frame None flushes the resampler
                    a = f.to_ndarray().reshape(-1, ch).T  # packed (1, n*ch) -> (ch, n)
                    pending.append(a)
                    size += a.shape[1]
                while size >= block or (frame is None and size):
                    x = np.concatenate(pending, axis=1)
                    out, rest = x[:, :block], x[:, block:]
                    pending, size = ([rest] if rest.shape[1] else []), rest.shape[1]
                    yield np.repeat(out, 2, axis=0) if mono else np.ascontiguousarray(out, dtype=np.float32)
                if frame is None:
                    return
    except av.error.FFmpegError as e:
        raise InputError(f"{path}: corrupt audio data ({e})") from e


def read_audio(path, sample_rate: int = SAMPLE_RATE) -> tuple:
    """((2, n) float32 at `sample_rate`, [conversion notes]) for a whole file."""
    notes = conversion_notes(probe(path), sample_rate)
    blocks = list(iter_blocks(path, sample_rate=sample_rate))
    x = np.concatenate(blocks, axis=1) if blocks else np.zeros((2, 0), np.float32)
    return x, notes


def to_int16(x: np.ndarray) -> np.ndarray:
    """(channels, n) float in [-1, 1] -> (n, channels) int16 (clipped)."""
    return np.clip(np.round(np.asarray(x).T * 32768.0), -32768, 32767).astype("<i2")


def write_wav(path, blocks, sample_rate: int = SAMPLE_RATE) -> int:
    """Write (2, n) float blocks as a 16-bit stereo WAV, block by block, atomically; returns samples."""
    n = 0
    with atomic_path(path, suffix=".wav") as tmp, wave.open(str(tmp), "wb") as w:
        w.setnchannels(2)
        w.setsampwidth(2)
        w.setframerate(sample_rate)
        for b in blocks:
            w.writeframes(to_int16(b).tobytes())
            n += np.asarray(b).shape[1]
    return n
