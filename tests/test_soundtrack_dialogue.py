"""Dialogue kept, music ducked (`emsync soundtrack`, default `--dialogue auto`): Silero VAD finds the
speech, the video's own audio is mixed with the music, the music goes down by the asked dB under
speech with attack/release ramps, and the sum never passes -1 dBFS. Checked on a synthetic clip
with espeak-ng phrases at known times and on the real TV clip with speech (ekman6/sample.mp4)."""

import json

import mido
import numpy as np
import pytest
from scipy.io import wavfile

from emsync.cli import main
from emsync.music import vocab as V
from emsync.soundtrack.mix import away_from_speech, duck_envelope, mix_dialogue, region_rms_db

from _model_helpers import one_thread, tiny_checkpoint  # noqa: F401 (autouse fixture)
from _speech import speech_video
from _videos import ffmpeg

PHRASES = [(1.5, "The quick brown fox jumps over the lazy dog near the river bank."), (7.0, "Please keep the dialogue.")]
DUCK = 15.0


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    d = tmp_path_factory.mktemp("dialogue")
    tiny_checkpoint(d / "checkpoint.pt", {V.shift_id(200): 4.0, V.CHORD: 2.0, V.on_id(V.PIANO, 60): 3.0, V.on_id(V.STRINGS, 64): 2.0})
    (d / "params.yaml").write_text("generate:\n  slide_stride: 16\n  cpu_int8: false\n")
    return d


def score(tiny, video, out, *argv) -> dict:
    """One `emsync soundtrack --json` run with the tiny generator, MIDI, music WAV and stems kept."""
    import contextlib
    import io

    mp = pytest.MonkeyPatch()
    mp.setenv("EMSYNC_PARAMS", str(tiny / "params.yaml"))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["soundtrack", str(video), "-o", str(out / "scored.mp4"), "--checkpoint", str(tiny / "checkpoint.pt"), "-q", "--json",
                   "--midi", str(out / "s.mid"), "--wav", str(out / "music.wav"), "--stems", str(out / "stems"), "--seed", "1", *argv])  # fmt: skip
    mp.undo()
    assert rc == 0
    return json.loads(buf.getvalue())


def read(path) -> np.ndarray:
    sr, pcm = wavfile.read(path)
    assert sr == 44100
    return pcm.astype(np.float64) / 32767


def ducked_music(out, s) -> np.ndarray:
    """The music as it is in the mix: the sum of the instrument stems."""
    return sum(read(p) for k, p in s["outputs"]["stems"].items() if k != "dialogue")


def level_drop_db(out, s, attack_s=0.15, release_s=0.6) -> float:
    """How much lower the music is under speech than away from it, on the stems (the ducked music)
    against the music WAV (the same music, not ducked): the music's own loudness cancels."""
    music, ducked, speech = read(out / "music.wav"), ducked_music(out, s), s["speech"]
    away = away_from_speech(speech, s["duration_s"], attack_s, release_s)
    under = region_rms_db(ducked, 44100, speech) - region_rms_db(music, 44100, speech)
    elsewhere = region_rms_db(ducked, 44100, away) - region_rms_db(music, 44100, away)
    return elsewhere - under


def test_duck_envelope_ramps_and_holds_the_asked_depth():
    sr = 1000
    g = 20 * np.log10(duck_envelope([(1.0, 2.0)], 4000, sr, 12.0, attack_s=0.2, release_s=0.5))
    assert np.allclose(g[1000:2000], -12.0, atol=1e-4) and np.allclose(g[:800], 0) and np.allclose(g[2500:], 0)
    assert np.all(np.diff(g[800:1000]) < 0) and np.all(np.diff(g[2001:2500]) > 0)  # attack ends at the speech, release after it
    assert g[900] == pytest.approx(-6.0, abs=0.1) and g[2250] == pytest.approx(-6.0, abs=0.1)


def test_speech_to_the_last_sample_ducks_to_the_end():
    g = 20 * np.log10(duck_envelope([(3.0, 3.99)], 4000, 1000, 12.0, attack_s=0.2, release_s=0.5))  # release runs past the end
    assert g.shape == (4000,) and np.allclose(g[3000:3990], -12.0, atol=1e-4) and g[2900] == pytest.approx(-6.0, abs=0.1)
    assert -12.0 < g[-1] < -11.7  # the release has begun when the music ends


def test_the_mix_never_passes_minus_1_dbfs():
    rng = np.random.default_rng(0)
    loud = np.clip(rng.normal(0, 0.5, (44100, 2)), -1, 1).astype(np.float32)
    m = mix_dialogue(loud, loud, [(0.2, 0.6)], 44100, 12.0, 0.1, 0.3, peak_db=-1.0)
    assert np.abs(m.audio).max() <= 10 ** (-1 / 20) and m.trim_db < -5 and m.peak_dbfs <= -1.0
    np.testing.assert_allclose(m.dialogue + loud * m.music_gain[:, None], m.audio, atol=1e-6)  # the parts add up to the mix


@pytest.fixture(scope="module")
def synthetic(tiny, tmp_path_factory):
    out = tmp_path_factory.mktemp("synthetic")
    video, truth = speech_video(out / "talk.mp4", PHRASES, duration=10.0)
    return out, truth, score(tiny, video, out, "--duck-db", str(DUCK))


def test_speech_found_within_0_2_s_of_the_espeak_phrases(synthetic):
    out, truth, s = synthetic
    assert len(s["speech"]) == len(truth), s["speech"]
    for (a, b), (ta, tb) in zip(s["speech"], truth):
        assert abs(a - ta) <= 0.2 and abs(b - tb) <= 0.2, (s["speech"], truth)


def test_music_is_the_asked_db_lower_under_speech_on_the_stems(synthetic):
    out, _, s = synthetic
    d = s["dialogue"]
    assert d["mixed"] and s["kept_original_audio"] and d["duck_db"] == DUCK
    assert level_drop_db(out, s) >= DUCK - 0.05
    mix = ducked_music(out, s) + read(s["outputs"]["stems"]["dialogue"])  # the stems add up to what is muxed
    assert np.abs(mix).max() <= 10 ** (-1 / 20) + 1e-4 and d["peak_dbfs"] <= -1.0


def test_speech_is_in_the_json_and_marked_in_the_daw_midi(synthetic):
    out, _, s = synthetic
    markers = [m.text for m in mido.MidiFile(str(out / "s.mid")).tracks[0] if m.type == "marker"]
    starts = [m for m in markers if m.startswith("speech ") and not m.startswith("speech end")]
    assert len(starts) == len(s["speech"]) == sum(m.startswith("speech end") for m in markers)
    assert starts[0] == f"speech 00:{s['speech'][0][0]:05.2f}"


@pytest.mark.shared_data
def test_tv_clip_keeps_its_dialogue_under_the_ducked_music(shared_data, tiny, tmp_path):
    """ekman6/sample.mp4 (7 s, a presenter speaking): the output's audio is the dialogue plus the
    music, and the music is >= 12 dB lower under the detected speech (default duck, stems)."""
    s = score(tiny, shared_data / "ekman6" / "sample.mp4", tmp_path)
    speech = s["speech"]
    assert len(speech) >= 1 and sum(b - a for a, b in speech) >= 2.0 and s["dialogue"]["mixed"]
    assert level_drop_db(tmp_path, s) >= 12.0 - 0.05
    ffmpeg("-i", tmp_path / "scored.mp4", "-vn", "-ac", "2", "-ar", "44100", tmp_path / "out.wav")
    heard = read(tmp_path / "out.wav")
    dialogue, music = read(s["outputs"]["stems"]["dialogue"]), ducked_music(tmp_path, s)
    n = min(len(heard), len(dialogue))
    resid = heard[:n] - dialogue[:n]  # what is left of the output once the dialogue is taken out: the music
    cos = float((resid * music[:n]).sum() / np.sqrt((resid**2).sum() * (music[:n] ** 2).sum()))
    share = float((dialogue[:n] * heard[:n]).sum() / (dialogue[:n] ** 2).sum())
    assert share == pytest.approx(1.0, abs=0.1) and cos > 0.8, (share, cos)  # dialogue at full level, the rest is the music
