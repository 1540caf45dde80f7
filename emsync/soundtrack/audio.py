"""Render the generated music and mux it into the video (§6.2, §6.3): the DAW MIDI, FluidSynth at
44.1 kHz stereo fitted to the video, 3 s fade-out, peak -3 dB, optional stems, then AAC into a
copy of the video stream (emsync.soundtrack.render). When the video's dialogue is kept (emsync.soundtrack.mix)
the render step also mixes the video's own audio with the music ducked under its speech, and the
mux takes that mix."""

from dataclasses import dataclass
from pathlib import Path

from emsync.soundtrack.steps import Steps


@dataclass(frozen=True)
class Rendered:
    """The rendered soundtrack: where its MIDI and WAV are, and what rendering them reported."""

    midi_path: Path
    wav_path: Path  # the music alone (what --wav keeps)
    daw: dict  # emsync.music.daw.write_daw_midi's record
    wav: dict  # emsync.soundtrack.render.render_wav's record (gain, silent, ...)
    stems: dict | None  # {name: {path, peak_dbfs, clipped}} when asked (with the dialogue kept: the ducked music + dialogue.wav)
    dialogue: dict  # the dialogue decision and mix record (emsync.soundtrack.mix)
    mix_path: Path | None = None  # the dialogue mix that goes into the video, when the dialogue is kept


def dialogue_mode(params, req) -> str:
    """auto | on | off, from the request or params soundtrack.dialogue."""
    return req.dialogue or params.soundtrack.dialogue


def keeps_dialogue(params, req, video) -> bool:
    """Mix the video's own audio and duck the music: `on` with an audio track, `auto` with speech."""
    mode = dialogue_mode(params, req)
    return video.has_audio and (mode == "on" or (mode == "auto" and bool(video.speech)))


def render_music(params, req, video, music, soundfont: Path, tmpdir: Path, steps: Steps | None = None) -> Rendered:
    """Write the DAW MIDI (markers at the cuts, boundaries and speech) and render it to the WAV,
    into the asked paths or `tmpdir`; with the dialogue kept, mix it (timed as the `render` step)."""
    from emsync.music.daw import write_daw_midi
    from emsync.soundtrack.render import render_wav

    steps, sp = steps or Steps(), params.soundtrack
    midi_path = Path(req.midi_out) if req.midi_out else Path(tmpdir) / "soundtrack.mid"
    wav_path = Path(req.wav_out) if req.wav_out else Path(tmpdir) / "soundtrack.wav"
    daw = write_daw_midi(music.decoded, midi_path, video.cuts_in_play, list(video.boundaries), video.fps, speech=video.speech or ())
    fade = params.generate.fade_out_s
    with steps("render", f"rendering with FluidSynth ({sp.sample_rate} Hz stereo, {fade:g} s fade-out)"):
        kw = dict(duration_s=video.duration, soundfont=soundfont, sample_rate=sp.sample_rate, fade_s=fade, peak_db=sp.peak_db)
        wav = render_wav(midi_path, wav_path, **kw, validate=False)  # emsync's own MIDI, just written
        mix, dialogue = None, {"mode": dialogue_mode(params, req), "mixed": False}
        if keeps_dialogue(params, req, video):
            mix, dialogue = mix_dialogue_track(params, req, video, wav_path, Path(tmpdir) / "mix.wav")
        stems = (
            render_instrument_stems(params, req, video, music, soundfont, wav["gain"], tmpdir, mix) if req.stems_dir is not None else None
        )
    return Rendered(midi_path, wav_path, daw, wav, stems, dialogue, Path(tmpdir) / "mix.wav" if mix is not None else None)


def mix_dialogue_track(params, req, video, music_wav: Path, out: Path) -> tuple:
    """(Mix, record): the video's audio + the music ducked under its speech, written to `out`."""
    from scipy.io import wavfile

    from emsync.soundtrack.mix import duck_levels, mix_dialogue, read_track
    from emsync.soundtrack.render import write_wav

    sp = params.soundtrack
    sr, pcm = wavfile.read(music_wav)
    music = pcm.astype("float32") / 32767.0  # (n, 2)
    duck = sp.duck_db if req.duck_db is None else float(req.duck_db)
    mix = mix_dialogue(music, read_track(req.video, sr, len(music)), video.speech, sr, duck, sp.duck_attack_s, sp.duck_release_s,
                       sp.mix_peak_db)  # fmt: skip
    write_wav(out, mix.audio, sr)
    record = {"mode": dialogue_mode(params, req), "mixed": True, "duck_db": duck, "attack_s": sp.duck_attack_s,
              "release_s": sp.duck_release_s, "trim_db": mix.trim_db, "peak_dbfs": mix.peak_dbfs,
              "music_level_db": duck_levels(music, mix.music_gain, sr, video.speech, sp.duck_attack_s, sp.duck_release_s)}  # fmt: skip
    return mix, record


def render_instrument_stems(params, req, video, music, soundfont, gain: float, tmpdir: Path, mix=None) -> dict:
    """One WAV per instrument into req.stems_dir at the mix's gain, so the stems sum to the mix
    (emsync.soundtrack.render.render_stems); with the dialogue kept (`mix`) they carry the duck too and
    `dialogue.wav` holds the video's audio as it is in the mix."""
    from emsync.music import vocab as V
    from emsync.music.daw import write_daw_midi
    from emsync.soundtrack.render import render_stems

    midis = {}
    for i in sorted({int(x) for x in music.decoded.notes.instrument}):
        name = V.INSTRUMENTS[i].lower()
        midis[name] = Path(tmpdir) / f"stem_{name}.mid"
        write_daw_midi(music.decoded, midis[name], video.cuts_in_play, list(video.boundaries), video.fps, instruments=[i])
    sp = params.soundtrack
    env, extra = (mix.music_gain, {"dialogue": mix.dialogue}) if mix is not None else (None, None)  # the duck, per sample
    return render_stems(midis, req.stems_dir, video.duration, gain, soundfont, sp.sample_rate, params.generate.fade_out_s, env, extra)


def mux_music(params, req, video, rendered: Rendered, steps: Steps | None = None) -> dict:
    """The WAV (or the dialogue mix) as AAC into a copy of the video stream at req.output (timed as
    the `mux` step); keep_audio without the dialogue mix mixes the video's own audio under the music."""
    from emsync.soundtrack.render import mux

    steps, sp = steps or Steps(), params.soundtrack
    mixed = rendered.mix_path is not None
    with steps("mux", f"muxing into {req.output}"):
        out = mux(
            req.video,
            rendered.mix_path if mixed else rendered.wav_path,
            req.output,
            keep_audio=req.keep_audio and not mixed,
            has_audio=video.has_audio,
            info=video.info,  # its rotation carries into the output
            bitrate=sp.audio_bitrate,
            keep_audio_db=sp.keep_audio_db,
        )
    return {**out, "kept_original_audio": out["kept_original_audio"] or mixed}
