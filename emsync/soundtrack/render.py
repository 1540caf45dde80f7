"""MIDI -> audio -> video: FluidSynth render, §6.2 fade-out, peak normalisation, ffmpeg mux.

§6.2: "After the MIDI is synthesized into an audio waveform, a 3-second fade-out is applied to
avoid an abrupt ending"; §6.3: outputs are synthesised with FluidSynth and peak-normalised to
-3 dB. The synthesizer is the real FluidSynth (its `fluidsynth` command, float output so nothing
clips before normalisation) with a General MIDI SoundFont: by default `TimGM6mb.sf2`, shipped
inside pretty_midi.

    emsync render song.mid -o song.wav                          # 44.1 kHz stereo, 3 s fade-out
    emsync render song.mid --video clip.mp4 -o scored.mp4       # rendered to the video's length, muxed

Muxing copies the video stream (re-encoding with libx264 only if the container refuses the
codec), encodes the music as AAC and stops at the shorter stream (`-shortest`). The video's own
audio is replaced, or with `keep_audio` mixed under the music at `keep_audio_db`.
"""

import contextlib
import json
import shutil
import subprocess
from pathlib import Path

import numpy as np

from emsync.core.errors import InputError
from emsync.core.io import atomic_path, temp_dir

VIDEO_SUFFIXES = (".mp4", ".m4v", ".mov", ".mkv")  # containers that take AAC audio


def default_soundfont() -> Path:
    """The GM SoundFont shipped in the pretty_midi wheel (TimGM6mb.sf2, 6 MB)."""
    import pretty_midi

    return Path(pretty_midi.__file__).parent / "TimGM6mb.sf2"


def resolve_soundfont(path=None) -> Path:
    sf = Path(path) if path else default_soundfont()
    if not sf.is_file():
        raise InputError(f"{sf}: SoundFont not found (pass --soundfont PATH to a .sf2/.sf3 file)")
    return sf


def _tool(name: str, apt: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise InputError(f"`{name}` not found on PATH; install it (apt-get install {apt})")
    return exe


def _last_line(stderr: str) -> str:
    lines = [ln.strip() for ln in (stderr or "").splitlines() if ln.strip()]
    return lines[-1] if lines else "no error output"


def synthesize(midi_path, soundfont=None, sample_rate: int = 44100, limits=None, validate=True) -> np.ndarray:
    """Render a MIDI file with FluidSynth: float32 (N, 2) stereo at `sample_rate`, unnormalised, in
    memory (short renders; `render_wav` streams instead). The file first passes the one MIDI
    validator (emsync.music.midi_input, `limits`); `validate=False` only for MIDI that emsync itself just
    wrote (a generated soundtrack)."""
    with fluidsynth_raw(midi_path, soundfont, sample_rate, limits, validate) as raw:
        audio = np.array(raw, dtype=np.float32)
    return np.repeat(audio, 2, axis=1) if audio.shape[1] == 1 else audio  # (N, 2)


@contextlib.contextmanager
def fluidsynth_raw(midi_path, soundfont=None, sample_rate: int = 44100, limits=None, validate=True):
    """FluidSynth's float render of a MIDI file in a temp folder, yielded as a read-only (N, C)
    float32 memory map: a render of hours costs disk, not memory."""
    from emsync.music.midi_input import validate_midi

    midi_path = Path(midi_path)
    if validate:
        validate_midi(midi_path, limits)
    elif not midi_path.is_file():
        raise InputError(f"{midi_path}: MIDI file not found")
    sf = resolve_soundfont(soundfont)
    with temp_dir("emsync-render-") as d:
        wav = Path(d) / "raw.wav"
        cmd = [_tool("fluidsynth", "fluidsynth"), "-n", "-i", "-q", "-F", str(wav), "-r", str(int(sample_rate)),
               "-T", "wav", "-O", "float", str(sf), str(midi_path)]  # fmt: skip
        res = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
        if res.returncode != 0 or not wav.exists():
            if "no space left" in res.stderr.lower():
                raise InputError(f"{midi_path}: FluidSynth could not write its render (No space left on device)")
            raise InputError(f"{midi_path}: FluidSynth failed ({_last_line(res.stderr)})")
        raw = _float_wav(wav, midi_path)
        if raw[1] != sample_rate:
            raise InputError(f"{midi_path}: FluidSynth wrote {raw[1]} Hz instead of {sample_rate} Hz")
        yield raw[0]
        del raw


def _float_wav(path: Path, source) -> tuple:
    """((N, C) float32 memory map, sample rate) of a 32-bit float WAV (FluidSynth's; its extra
    fact/PEAK chunks are skipped)."""
    import struct

    with open(path, "rb") as f:
        head = f.read(12)
        if head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise InputError(f"{source}: FluidSynth wrote no WAV file")
        fmt = None
        while chunk := f.read(8):
            if len(chunk) < 8:
                break
            cid, size = chunk[:4], struct.unpack("<I", chunk[4:])[0]
            if cid == b"fmt ":
                fmt = struct.unpack("<HHIIHH", f.read(16))
                f.seek(size - 16 + (size & 1), 1)
            elif cid == b"data":
                if fmt is None or fmt[0] not in (3, 0xFFFE) or fmt[5] != 32:
                    raise InputError(f"{source}: FluidSynth wrote an unexpected WAV format {fmt}")
                ch, n = fmt[1], min(size, path.stat().st_size - f.tell()) // (4 * fmt[1])
                if n == 0:
                    return np.zeros((0, ch), np.float32), fmt[2]
                return np.memmap(path, dtype="<f4", mode="r", offset=f.tell(), shape=(n, ch)), fmt[2]
            else:
                f.seek(size + (size & 1), 1)
    raise InputError(f"{source}: FluidSynth's WAV has no audio data")


BLOCK = 1 << 18  # frames per block when streaming a render (~2 MB of float32 stereo)


def _blocks(raw, n: int, sample_rate: int, fade_s: float, gain: float = 1.0):
    """The render fitted to n frames (trimmed or zero-padded), faded out over the last `fade_s`
    (§6.2) and scaled by `gain`, as float32 (b, 2) blocks: the arithmetic of fit_length, fade_out
    and peak_normalize, block by block."""
    fade_n = min(n, int(round(fade_s * sample_rate)))
    fade = np.linspace(1.0, 0.0, fade_n, dtype=np.float32) if fade_n > 0 else None
    start = n - fade_n
    for i in range(0, n, BLOCK):
        j = min(i + BLOCK, n)
        b = np.zeros((j - i, 2), np.float32)  # (b, 2)
        m = max(0, min(j, len(raw)) - i)
        if m:
            b[:m] = raw[i : i + m]  # a mono render fills both channels
        if fade is not None and j > start:
            k = max(i, start)
            b[k - i :] *= fade[k - start : j - start, None]
        yield b * gain if gain != 1.0 else b


def _peak(raw, n: int, sample_rate: int, fade_s: float) -> float:
    return max((float(np.abs(b).max()) for b in _blocks(raw, n, sample_rate, fade_s) if b.size), default=0.0)


def fit_length(audio: np.ndarray, n: int) -> np.ndarray:
    """Trim or zero-pad (N, C) audio to exactly n frames."""
    if len(audio) >= n:
        return audio[:n]
    return np.concatenate([audio, np.zeros((n - len(audio), audio.shape[1]), audio.dtype)])


def fade_out(audio: np.ndarray, sample_rate: int, seconds: float = 3.0) -> np.ndarray:
    """§6.2: a linear fade to silence over the last `seconds` (the whole clip if it is shorter)."""
    n = min(len(audio), int(round(seconds * sample_rate)))
    out = audio.astype(np.float32, copy=True)
    if n > 0:
        out[-n:] *= np.linspace(1.0, 0.0, n, dtype=np.float32)[:, None]  # (n, 1): gain per frame
    return out


def peak_gain(audio: np.ndarray, peak_db: float = -3.0) -> float:
    """The gain that brings the largest |sample| to `peak_db` dBFS (1 for silence)."""
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    return 10.0 ** (peak_db / 20.0) / peak if peak > 0.0 else 1.0


def peak_normalize(audio: np.ndarray, peak_db: float = -3.0) -> np.ndarray:
    """Scale so the largest |sample| is `peak_db` dBFS (§6.3); silence stays silence."""
    return (audio * peak_gain(audio, peak_db)).astype(np.float32)


def write_wav(path, audio: np.ndarray, sample_rate: int) -> None:
    """16-bit PCM WAV, written atomically."""
    write_wav_blocks(path, [audio], sample_rate)


def write_wav_blocks(path, blocks, sample_rate: int) -> int:
    """16-bit PCM WAV from float (b, C) blocks, written atomically as they come; returns frames."""
    import wave

    n = 0
    with atomic_path(path, suffix=".wav", allow_empty=True) as tmp, wave.open(str(tmp), "wb") as w:
        w.setsampwidth(2)
        w.setframerate(int(sample_rate))
        for i, audio in enumerate(blocks):
            if i == 0:
                w.setnchannels(audio.shape[1] if audio.ndim == 2 else 1)
            pcm = np.clip(np.rint(audio * 32767.0), -32768, 32767).astype("<i2")
            w.writeframes(pcm.tobytes())
            n += len(pcm)
        if n == 0:
            w.setnchannels(2)
    return n


def render_wav(
    midi_path, wav_path, duration_s=None, soundfont=None, sample_rate=44100, fade_s=3.0, peak_db=-3.0, limits=None, validate=True
) -> dict:
    """MIDI -> 16-bit stereo WAV: FluidSynth, fitted to `duration_s` (default: what FluidSynth
    rendered, release tails included), faded out over the last `fade_s`, peak-normalised. Streamed
    in blocks from FluidSynth's render on disk: memory stays flat for hours of music."""
    with fluidsynth_raw(midi_path, soundfont, sample_rate, limits, validate) as raw:
        n = len(raw) if duration_s is None else int(round(duration_s * sample_rate))
        if n == 0:
            raise InputError(f"{midi_path}: nothing to render (0 s of audio)")
        peak = _peak(raw, n, sample_rate, fade_s)
        gain = 10.0 ** (peak_db / 20.0) / peak if peak > 0.0 else 1.0
        write_wav_blocks(wav_path, _blocks(raw, n, sample_rate, fade_s, gain), sample_rate)
    return {
        "path": str(wav_path),
        "gain": gain,
        "sample_rate": int(sample_rate),
        "channels": 2,
        "duration_s": round(n / sample_rate, 3),
        "silent": peak == 0.0,
    }


STEMS_RECORD = ".emsync-stems.json"  # the stem WAVs an earlier --stems run wrote into its folder


def stem_outputs(stems_dir, names) -> dict:
    """{"--stems (<name>.wav)": path} for every stem `--stems DIR` may write, for check_outputs. DIR
    is a folder or new; a WAV already there is replaced only when an earlier --stems run wrote it
    (listed in DIR/.emsync-stems.json), never a file of the user's."""
    if stems_dir is None:
        return {}
    d = Path(stems_dir)
    if d.exists() and not d.is_dir():
        raise InputError(f"--stems {d}: exists and is not a folder")
    try:
        ours = set(json.loads((d / STEMS_RECORD).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        ours = set()
    theirs = [f"{n}.wav" for n in names if (d / f"{n}.wav").exists() and f"{n}.wav" not in ours]
    if theirs:
        raise InputError(f"--stems {d}: {', '.join(theirs)} already there and not written by emsync; choose an empty folder")
    return {f"--stems ({n}.wav)": d / f"{n}.wav" for n in names}


def render_stems(
    midis: dict, out_dir, duration_s, gain: float, soundfont=None, sample_rate=44100, fade_s=3.0, envelope=None, audio: dict | None = None
) -> dict:
    """One WAV per stem: `midis` maps a stem name to a MIDI file holding only that instrument.
    Each is rendered like the mix (same FluidSynth, SoundFont, sample rate, length and fade-out)
    and scaled by the mix's peak-normalisation `gain` instead of being normalised on its own, so
    the stems keep their level in the mix and sum back to it (up to 16-bit rounding and FluidSynth's
    voice allocation); `envelope` (n,) multiplies them per sample (the duck of the dialogue mix).
    `audio` maps more stem names to (n, 2) audio written as it is (the kept dialogue).
    Returns {name: {"path", "peak_dbfs", "clipped"}}."""
    from emsync.core.io import write_json

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    try:
        ours = set(json.loads((out_dir / STEMS_RECORD).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError):
        ours = set()
    audio = dict(audio or {})
    write_json(out_dir / STEMS_RECORD, sorted(ours | {f"{name}.wav" for name in [*midis, *audio]}))  # before any stem lands
    n = int(round(duration_s * sample_rate))
    stems = {}
    for name in [*midis, *audio]:
        path = out_dir / f"{name}.wav"
        seen = {"peak": 0.0, "clipped": 0}

        def watched(blocks, seen=seen, env=envelope if name in midis else None):
            at = 0
            for b in blocks:  # (b, 2) float32, at the mix's gain
                if env is not None:
                    b = b * env[at : at + len(b), None]
                at += len(b)
                if b.size:
                    seen["peak"] = max(seen["peak"], float(np.abs(b).max()))
                    seen["clipped"] += int((np.abs(b) > 1.0).sum())
                yield b

        if name in midis:
            with fluidsynth_raw(midis[name], soundfont, sample_rate, validate=False) as raw:
                write_wav_blocks(path, watched(_blocks(raw, n, sample_rate, fade_s, gain)), sample_rate)
        else:
            write_wav_blocks(path, watched(audio[name][i : i + BLOCK] for i in range(0, len(audio[name]), BLOCK)), sample_rate)
        peak = seen["peak"]
        stems[name] = {
            "path": str(path),
            "peak_dbfs": round(20 * np.log10(peak), 2) if peak > 0 else None,
            "clipped": seen["clipped"],  # samples beyond full scale (16-bit clips them)
        }
    return stems


def render_file(params, midi, output, video=None, duration_s=None, soundfont=None, keep_audio=False) -> dict:
    """`emsync render`: MIDI -> WAV, or muxed into `video` when `output` is a video path. Every
    check (outputs vs inputs, suffixes, duration and MIDI limits) runs before FluidSynth starts."""
    from emsync.core.io import check_outputs
    from emsync.core.limits import check_limit
    from emsync.music.midi_input import MidiLimits, validate_midi
    from emsync.video.probe import probe

    sp, lim = params.soundtrack, params.limits
    out = Path(output)
    check_outputs({"-o": out}, {"midi": midi, "--video": video, "--soundfont": soundfont})
    to_video = out.suffix.lower() in VIDEO_SUFFIXES
    if to_video and not video:
        raise InputError(f"{out}: a video output needs --video INPUT (or write a .wav)")
    if not to_video and out.suffix.lower() != ".wav":
        raise InputError(f"{out}: output must be a .wav, or a video ({', '.join(VIDEO_SUFFIXES)}) with --video")
    if video and not to_video:
        raise InputError(f"--video given but {out} is not a video path ({', '.join(VIDEO_SUFFIXES)})")
    if duration_s is not None:
        if not duration_s > 0:
            raise InputError(f"--duration {duration_s}: must be a positive number of seconds")
        check_limit("--duration", duration_s, lim.max_video_duration_s, "limits.max_video_duration_s")
    limits = MidiLimits.from_params(params)
    validate_midi(midi, limits)
    info = probe(video) if video else None
    if info:
        check_limit(f"{video}: video duration", info.duration, lim.max_video_duration_s, "limits.max_video_duration_s")
    duration = duration_s if duration_s is not None else (info.duration if info else None)
    kw = dict(
        duration_s=duration,
        soundfont=soundfont or (params.path(sp.soundfont) if sp.soundfont else None),
        sample_rate=sp.sample_rate,
        fade_s=params.generate.fade_out_s,
        peak_db=sp.peak_db,
        validate=False,
    )  # validated above
    if not to_video:
        return render_wav(midi, out, **kw)
    with temp_dir("emsync-render-") as d:
        s = render_wav(midi, Path(d) / "music.wav", **kw)
        s.update(
            mux(
                video,
                Path(d) / "music.wav",
                out,
                keep_audio=keep_audio,
                has_audio=info.has_audio,
                info=info,
                bitrate=sp.audio_bitrate,
                keep_audio_db=sp.keep_audio_db,
            )
        )
    return s


def check_video_output(path) -> Path:
    path = Path(path)
    if path.suffix.lower() not in VIDEO_SUFFIXES:
        raise InputError(f"{path}: output video must end in {', '.join(VIDEO_SUFFIXES)}")
    return path


def mux(video, wav, out, keep_audio=False, has_audio=None, bitrate="192k", keep_audio_db=-6.0, info=None) -> dict:
    """Put `wav` into `video` as its audio (AAC), copying the video stream; written atomically to
    `out`. keep_audio mixes the video's own audio (if it has one) under the music. The output shows
    the video as the input does: a copied stream keeps its display matrix, a re-encode is turned
    upright by FFmpeg, and a rotate tag (Matroska, old muxers; FFmpeg ignores it) is written as the
    output's display matrix. `info`: the video's probe when the caller has it."""
    from emsync.video.probe import probe

    out = check_video_output(out)
    info = info or probe(video)
    if has_audio is None:
        has_audio = info.has_audio
    if Path(out).resolve() == Path(video).resolve():
        raise InputError(f"{out}: the output would overwrite the input video; choose another -o path")
    mix = bool(keep_audio and has_audio)
    if mix:  # the music first: amix's duration=first keeps the music's length
        audio_args = ["-filter_complex", f"[0:a:0]volume={keep_audio_db}dB[orig];[1:a:0][orig]amix=inputs=2:"
                      "duration=first:normalize=0,alimiter=limit=0.98:level=0:latency=1[mix]",  # no clipping in the sum
                      "-map", "0:v:0", "-map", "[mix]"]  # fmt: skip
    else:
        audio_args = ["-map", "0:v:0", "-map", "1:a:0"]
    if info.rotation_tag_only:
        audio_args += ["-metadata:s:v:0", f"rotate={info.rotation}"]
    ff = _tool("ffmpeg", "ffmpeg")
    copy = ["-c:v", "copy"]
    x264 = ["-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p"]
    with atomic_path(out, suffix=out.suffix) as tmp:
        for vcodec in (copy, x264):  # re-encode only if the container refuses the copied codec
            cmd = [ff, "-nostdin", "-v", "error", "-y", "-i", str(video), "-i", str(wav), *audio_args, *vcodec,
                   "-c:a", "aac", "-b:a", bitrate, "-shortest", "-map_metadata", "0", str(tmp)]  # fmt: skip
            res = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
            if res.returncode == 0:
                break
            if "no space left on device" in res.stderr.lower():  # a re-encode would not fit either
                raise InputError(f"{out}: ffmpeg could not write it (No space left on device)")
        else:
            raise InputError(f"{video}: ffmpeg could not mux the soundtrack ({_last_line(res.stderr)})")
    return {"path": str(out), "video_codec": "copy" if vcodec is copy else "libx264", "kept_original_audio": mix}
