"""Full-band 44.1 kHz stereo audio rendered from demo MIDI with the real FluidSynth (§7.3's
bandwidth-extension data) using the General MIDI SoundFont that ships in pretty_midi.

    wav = render_midi(midi_bytes)                 # WAV bytes (16-bit PCM, stereo, 44.1 kHz)
    gt = build_audio(out_dir, seed, n_audio=4)    # <out_dir>/<midi md5>.wav + ground truth
"""

import io
import shutil
import subprocess
import tempfile
import wave
from pathlib import Path

import numpy as np

from emsync.core.errors import InputError
from emsync.core.io import write_bytes


def soundfont_path() -> Path:
    """TimGM6mb.sf2 inside the pretty_midi wheel (GPL-2)."""
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def render_midi(midi_bytes: bytes, sample_rate=44100, gain=0.6) -> bytes:
    """Render MIDI bytes to 16-bit stereo WAV bytes with the `fluidsynth` CLI (deterministic)."""
    exe = shutil.which("fluidsynth")
    if exe is None:
        raise InputError("fluidsynth not found on PATH (apt-get install fluidsynth)")
    with tempfile.TemporaryDirectory() as d:
        mid, wav = Path(d) / "in.mid", Path(d) / "out.wav"
        mid.write_bytes(midi_bytes)
        cmd = [
            exe,
            "-ni",
            "-q",
            "-g",
            str(gain),
            "-r",
            str(sample_rate),
            "-O",
            "s16",
            "-T",
            "wav",
            "-F",
            str(wav),
            str(soundfont_path()),
            str(mid),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0 or not wav.exists():
            raise InputError(f"fluidsynth failed on a demo MIDI: {proc.stderr.strip()[-300:]}")
        return wav.read_bytes()


def read_wav(data_or_path):
    """(samples int16 array of shape (n, channels), sample rate)."""
    src = io.BytesIO(data_or_path) if isinstance(data_or_path, bytes) else str(data_or_path)
    with wave.open(src, "rb") as w:
        sr, ch, n = w.getframerate(), w.getnchannels(), w.getnframes()
        x = np.frombuffer(w.readframes(n), dtype="<i2").reshape(-1, ch)
    return x, sr


def audio_songs(seed: int, n_audio: int) -> list:
    """Song indices rendered to audio: songs with drums first (cymbals fill the top octave)."""
    from emsync.demo.midi_corpus import song_for

    picks, i = [], 0
    while len(picks) < n_audio and i < 1000:
        if any(p.is_drum for p in song_for(seed, i).parts):
            picks.append(i)
        i += 1
    return picks


def render_audio_item(seed: int, index: int, sample_rate=44100) -> tuple:
    """(wav bytes, ground-truth entry) for corpus song `index` (same bytes as its .mid file)."""
    from emsync.demo.midi_corpus import md5, song_for, song_to_midi

    midi = song_to_midi(song_for(seed, index))
    wav = render_midi(midi, sample_rate)
    x, sr = read_wav(wav)
    return wav, {"midi_id": md5(midi), "sample_rate": sr, "channels": int(x.shape[1]), "duration": round(len(x) / sr, 6)}


def build_audio(out_dir, seed=1234, n_audio=4, sample_rate=44100) -> dict:
    """Write <out_dir>/<audio_id>.wav (audio_id = the source MIDI's md5); return {audio_id: entry}."""
    gt = {}
    for i in audio_songs(seed, n_audio):
        wav, e = render_audio_item(seed, i, sample_rate)
        write_bytes(Path(out_dir) / f"{e['midi_id']}.wav", wav)
        gt[e["midi_id"]] = e
    return dict(sorted(gt.items()))
