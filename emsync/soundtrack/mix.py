"""Keep the dialogue, duck the music: the video's own audio mixed with the generated music, the
music lowered under every speech segment by a side-chain gain with attack/release ramps, the sum
never clipping (beyond the thesis, whose pipeline replaces the video's sound).

The duck is a look-ahead side chain (the whole speech track is known before mixing): the music's
gain falls linearly in dB from 0 to -duck_db over the `attack_s` before each speech segment, holds
-duck_db while it lasts and rises back over the `release_s` after it; overlapping ramps take the
deeper gain. The mix is dialogue + ducked music, then one gain for the whole sum (only ever down)
so its peak is at most `peak_db` dBFS (-1 dBFS: headroom for the AAC encoder).

    from emsync.soundtrack.mix import duck_envelope
    duck_envelope([(1.0, 2.0)], n=44100 * 3, sr=44100, duck_db=12, attack_s=0.1, release_s=0.5)
"""

from dataclasses import dataclass

import numpy as np


def duck_envelope(speech, n: int, sr: int, duck_db: float, attack_s: float, release_s: float) -> np.ndarray:
    """(n,) float32 linear gain of the music: 1 away from speech, 10^(-duck_db/20) inside it."""
    depth = np.zeros(n, dtype=np.float32)  # (n,) 0..1 of the full duck
    for start, end in speech:
        lo, hi = int(max(0, (start - attack_s) * sr)), min(n, int(np.ceil((end + release_s) * sr)) + 1)
        if lo >= hi:
            continue
        tt = np.arange(lo, hi, dtype=np.float64) / sr  # seconds of the samples this segment touches
        down = np.clip((tt - (start - attack_s)) / attack_s, 0, 1) if attack_s > 0 else (tt >= start).astype(float)
        up = np.clip(((end + release_s) - tt) / release_s, 0, 1) if release_s > 0 else (tt <= end).astype(float)
        depth[lo:hi] = np.maximum(depth[lo:hi], np.minimum(down, up))
    return np.power(10.0, -duck_db * depth / 20.0, dtype=np.float32)


@dataclass(frozen=True)
class Mix:
    """The dialogue mix: the summed audio and the parts that add up to it."""

    audio: np.ndarray  # (n, 2) float32, dialogue + ducked music, peak <= peak_db
    dialogue: np.ndarray  # (n, 2) float32, the video's audio as it is in the mix (x trim)
    music_gain: np.ndarray  # (n,) float32: duck envelope x trim, what multiplies the music
    trim_db: float  # the one gain on the whole sum (<= 0 dB)

    @property
    def peak_dbfs(self) -> float:
        peak = float(np.abs(self.audio).max()) if self.audio.size else 0.0
        return round(20 * np.log10(peak), 2) if peak > 0 else float("-inf")


def mix_dialogue(music: np.ndarray, dialogue: np.ndarray, speech, sr: int, duck_db: float, attack_s: float, release_s: float,
                 peak_db: float = -1.0) -> Mix:  # fmt: skip
    """Dialogue (n, 2) + music (n, 2) ducked under `speech`, the sum trimmed to peak <= peak_db dBFS."""
    n = len(music)
    env = duck_envelope(speech, n, sr, duck_db, attack_s, release_s)
    mix = dialogue[:n] + music * env[:, None]  # (n, 2)
    peak = float(np.abs(mix).max()) if mix.size else 0.0
    trim = min(1.0, 10.0 ** (peak_db / 20.0) / peak) if peak > 0 else 1.0
    trim *= 10.0 ** (-0.01 / 20.0) if trim < 1.0 else 1.0  # 0.01 dB below: float32 and 16-bit rounding stay under the limit
    return Mix((mix * trim).astype(np.float32), (dialogue[:n] * trim).astype(np.float32), (env * trim).astype(np.float32),
               round(20 * np.log10(trim), 3))  # fmt: skip


def read_track(video, sr: int, n: int) -> np.ndarray:
    """The video's first audio track as (n, 2) float32 at `sr` (FFmpeg resampling; trimmed or
    zero-padded to n frames)."""
    import subprocess

    from emsync.core.errors import InputError
    from emsync.soundtrack.render import fit_length
    from emsync.video.probe import require_tool

    cmd = [require_tool("ffmpeg"), "-nostdin", "-v", "error", "-i", str(video), "-map", "0:a:0", "-vn", "-ac", "2", "-ar", str(sr),
           "-f", "f32le", "-"]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True)
    if res.returncode != 0 and not res.stdout:
        last = (res.stderr.decode(errors="replace").strip().splitlines() or ["ffmpeg failed"])[-1]
        raise InputError(f"{video}: cannot decode the audio track to mix the dialogue ({last})")
    audio = np.frombuffer(res.stdout[: len(res.stdout) // 8 * 8], dtype=np.float32).reshape(-1, 2)
    return fit_length(audio, n)


def away_from_speech(speech, duration: float, attack_s: float, release_s: float) -> list:
    """The segments (s) where the music is not ducked at all: outside every speech segment and its ramps."""
    edges = [(max(0.0, a - attack_s), b + release_s) for a, b in speech]
    starts, ends = [0.0] + [b for _, b in edges], [a for a, _ in edges] + [duration]
    return [(a, b) for a, b in zip(starts, ends) if b > a]


def duck_levels(music: np.ndarray, gain: np.ndarray, sr: int, speech, attack_s: float, release_s: float) -> dict:
    """The music's level in the mix against the music alone (dB), under speech and away from it
    (ramps excluded): about -duck_db + trim and trim."""
    ducked = music * gain[:, None]
    away = away_from_speech(speech, len(music) / sr, attack_s, release_s)
    return {
        "speech": round(region_rms_db(ducked, sr, speech) - region_rms_db(music, sr, speech), 2),
        "elsewhere": round(region_rms_db(ducked, sr, away) - region_rms_db(music, sr, away), 2),
    }


def region_rms_db(audio: np.ndarray, sr: int, segments) -> float:
    """RMS (dBFS) of `audio` over the union of `segments` (s); -inf when they hold no samples."""
    mask = np.zeros(len(audio), bool)
    for a, b in segments:
        mask[int(a * sr) : int(b * sr)] = True
    x = audio[mask]
    rms = float(np.sqrt(np.mean(np.square(x, dtype=np.float64)))) if x.size else 0.0
    return 20 * np.log10(rms) if rms > 0 else float("-inf")
