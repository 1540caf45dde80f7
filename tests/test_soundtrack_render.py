"""FluidSynth render, §6.2 fade-out, §6.3 peak normalisation and ffmpeg muxing (`emsync render`)."""

import json
import subprocess

import numpy as np
import pretty_midi
import pytest
from scipy.io import wavfile

from emsync.cli import main
from emsync.core.errors import InputError
from emsync.soundtrack.render import fade_out, fit_length, peak_normalize, render_wav

from _videos import cut_video

SR = 44100


def held_chord(path, seconds=6.0):
    """Piano C major held for `seconds` plus a string pad: loud right up to the end."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    for program, pitches in ((0, [60, 64, 67]), (48, [48, 55])):
        inst = pretty_midi.Instrument(program=program)
        for t in np.arange(0.0, seconds, 1.0):  # re-struck every second so the level stays up
            inst.notes += [pretty_midi.Note(velocity=100, pitch=p, start=t, end=t + 1.0) for p in pitches]
        pm.instruments.append(inst)
    pm.write(str(path))
    return path


def rms_windows(a, sr, start_s, n, win_s=0.5):
    a = a.astype(np.float64) / 32767.0
    i0 = int(start_s * sr)
    w = int(win_s * sr)
    return [float(np.sqrt((a[i0 + k * w : i0 + (k + 1) * w] ** 2).mean())) for k in range(n)]


def ffprobe_streams(path):
    out = subprocess.run(
        ["ffprobe", "-v", "error", "-show_entries", "stream=codec_type,codec_name,duration,sample_rate,channels", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {s["codec_type"]: s for s in json.loads(out)["streams"]}


def test_fade_and_peak_helpers():
    x = np.ones((SR * 4, 2), np.float32)
    y = fade_out(x, SR, 3.0)
    assert (y[:SR] == 1).all() and y[-1].max() == 0.0
    tail = y[SR:, 0]
    assert (np.diff(tail) <= 0).all() and tail[0] == pytest.approx(1.0)  # linear ramp 1 -> 0 over the last 3 s
    assert np.abs(peak_normalize(0.01 * x, -3.0)).max() == pytest.approx(10 ** (-3 / 20))
    assert not peak_normalize(np.zeros((10, 2), np.float32)).any()  # silence stays silence
    assert len(fit_length(x, 10)) == 10 and len(fit_length(x[:5], 10)) == 10 and not fit_length(x[:5], 10)[5:].any()


def test_render_wav_is_44k_stereo_peak_minus_3db_and_fades(tmp_path):
    mid = held_chord(tmp_path / "chord.mid", seconds=6.0)
    s = render_wav(mid, tmp_path / "out.wav", duration_s=6.0)
    sr, a = wavfile.read(tmp_path / "out.wav")
    assert (sr, a.ndim, a.shape[1], a.dtype) == (44100, 2, 2, np.int16)
    assert len(a) == 6 * SR and s["duration_s"] == 6.0
    assert np.abs(a).max() / 32767 == pytest.approx(10 ** (-3 / 20), abs=2e-3)  # §6.3: -3 dB peak
    fade = rms_windows(a, sr, 3.0, 6)  # the last 3 s in 0.5 s windows
    assert all(b < c for b, c in zip(fade[1:], fade[:-1])), fade
    assert rms_windows(a, sr, 1.0, 1)[0] > 5 * fade[-1]
    assert np.abs(a[-10:]).max() <= 1


def test_render_cli_wav_and_video(tmp_path, capsys):
    mid = held_chord(tmp_path / "chord.mid", seconds=3.0)
    assert main(["render", str(mid), "-o", str(tmp_path / "a.wav"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["sample_rate"] == 44100 and s["channels"] == 2 and s["duration_s"] >= 3.0  # release tail kept
    video, _ = cut_video(tmp_path / "v.mp4", [2.0, 2.0], audio=None)
    assert main(["render", str(mid), "--video", str(video), "-o", str(tmp_path / "scored.mp4"), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    streams = ffprobe_streams(tmp_path / "scored.mp4")
    assert s["video_codec"] == "copy" and streams["video"]["codec_name"] == "h264"
    assert streams["audio"]["codec_name"] == "aac" and int(streams["audio"]["sample_rate"]) == 44100
    assert float(streams["audio"]["duration"]) == pytest.approx(4.0, abs=0.05)


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["missing.mid", "-o", "x.wav"], "missing.mid: not a usable MIDI file (unreadable: file not found)"),
        (["{mid}", "-o", "x.mp4"], "needs --video"),
        (["{mid}", "-o", "x.ogg"], "must be a .wav"),
        (["{mid}", "-o", "x.wav", "--soundfont", "nope.sf2"], "SoundFont not found"),
        (["{mid}", "-o", "x.wav", "--duration", "0"], "--duration"),
    ],
)
def test_render_bad_inputs_are_one_line(tmp_path, capsys, argv, msg):
    mid = held_chord(tmp_path / "c.mid", seconds=1.0)
    argv = [a.format(mid=mid) if "{" in a else (str(tmp_path / a) if a.startswith(("x.", "missing", "nope")) else a) for a in argv]
    assert main(["render", *argv]) == 1
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1


def test_corrupt_midi_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"not a midi file at all")
    with pytest.raises(InputError, match=r"bad.mid: not a usable MIDI file \(unreadable: no MThd header\)"):
        render_wav(bad, tmp_path / "o.wav")
    assert not (tmp_path / "o.wav").exists()


def test_codec_the_container_refuses_is_reencoded(tmp_path, capsys):
    """VP8 cannot be copied into mp4: the mux falls back to libx264 instead of failing."""
    from _videos import ffmpeg

    webm = tmp_path / "v8.webm"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=160x120:r=25:d=2", "-c:v", "libvpx", "-b:v", "200k", webm)
    mid = held_chord(tmp_path / "c.mid", seconds=2.0)
    assert main(["render", str(mid), "--video", str(webm), "-o", str(tmp_path / "o.mp4"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["video_codec"] == "libx264"
    streams = ffprobe_streams(tmp_path / "o.mp4")
    assert streams["video"]["codec_name"] == "h264" and float(streams["audio"]["duration"]) == pytest.approx(2.0, abs=0.05)
