"""Render the generated music and mux it into the video (§6.2, §6.3): the DAW MIDI, FluidSynth at
44.1 kHz stereo fitted to the video, 3 s fade-out, peak -3 dB, optional stems, then AAC into a
copy of the video stream (emsync.render)."""

from dataclasses import dataclass
from pathlib import Path

from emsync.soundtrack.steps import Steps


@dataclass(frozen=True)
class Rendered:
    """The rendered soundtrack: where its MIDI and WAV are, and what rendering them reported."""

    midi_path: Path
    wav_path: Path
    daw: dict  # emsync.music.daw.write_daw_midi's record
    wav: dict  # emsync.render.render_wav's record (gain, silent, ...)
    stems: dict | None  # {instrument: {path, peak_dbfs, clipped}} when asked


def render_music(params, req, video, music, soundfont: Path, tmpdir: Path, steps: Steps | None = None) -> Rendered:
    """Write the DAW MIDI (markers at the cuts and boundaries) and render it to the WAV, into the
    asked paths or `tmpdir` (timed as the `render` step, after the MIDI is written)."""
    from emsync.music.daw import write_daw_midi
    from emsync.render import render_wav

    steps, sp = steps or Steps(), params.soundtrack
    midi_path = Path(req.midi_out) if req.midi_out else Path(tmpdir) / "soundtrack.mid"
    wav_path = Path(req.wav_out) if req.wav_out else Path(tmpdir) / "soundtrack.wav"
    daw = write_daw_midi(music.decoded, midi_path, video.cuts_in_play, list(video.boundaries), video.fps)
    fade = params.generate.fade_out_s
    with steps("render", f"rendering with FluidSynth ({sp.sample_rate} Hz stereo, {fade:g} s fade-out)"):
        kw = dict(duration_s=video.duration, soundfont=soundfont, sample_rate=sp.sample_rate, fade_s=fade, peak_db=sp.peak_db)
        wav = render_wav(midi_path, wav_path, **kw, validate=False)  # emsync's own MIDI, just written
        stems = render_instrument_stems(params, req, video, music, soundfont, wav["gain"], tmpdir) if req.stems_dir is not None else None
    return Rendered(midi_path, wav_path, daw, wav, stems)


def render_instrument_stems(params, req, video, music, soundfont, gain: float, tmpdir: Path) -> dict:
    """One WAV per instrument into req.stems_dir, at the mix's gain (emsync.render.render_stems)."""
    from emsync.music import vocab as V
    from emsync.music.daw import write_daw_midi
    from emsync.render import render_stems

    midis = {}
    for i in sorted({int(x) for x in music.decoded.notes.instrument}):
        name = V.INSTRUMENTS[i].lower()
        midis[name] = Path(tmpdir) / f"stem_{name}.mid"
        write_daw_midi(music.decoded, midis[name], video.cuts_in_play, list(video.boundaries), video.fps, instruments=[i])
    sp = params.soundtrack
    return render_stems(midis, req.stems_dir, video.duration, gain, soundfont, sp.sample_rate, params.generate.fade_out_s)


def mux_music(params, req, video, rendered: Rendered, steps: Steps | None = None) -> dict:
    """The WAV as AAC into a copy of the video stream at req.output (timed as the `mux` step);
    with keep_audio the video's own audio is mixed under the music."""
    from emsync.render import mux

    steps, sp = steps or Steps(), params.soundtrack
    with steps("mux", f"muxing into {req.output}"):
        return mux(
            req.video,
            rendered.wav_path,
            req.output,
            keep_audio=req.keep_audio,
            has_audio=video.has_audio,
            info=video.info,  # its rotation carries into the output
            bitrate=sp.audio_bitrate,
            keep_audio_db=sp.keep_audio_db,
        )
