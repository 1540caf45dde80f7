"""The `emsync soundtrack` steps one by one (emsync.soundtrack): the request's checks, the video
analysed once (one ffprobe, no PyAV), the emotion step replaced by a caller's own choice, and
generate -> render -> mux run by hand giving the bytes `make_soundtrack` gives."""

import dataclasses
import subprocess

import numpy as np
import pytest

from emsync.core.config import load_params
from emsync.core.errors import InputError
from emsync.music import vocab as V
from emsync.soundtrack import EmotionChoice, SoundtrackRequest, analyse_video, check_request, choose_emotion, make_soundtrack
from emsync.soundtrack.audio import mux_music, render_music
from emsync.soundtrack.music import generate_music
from emsync.soundtrack.steps import Steps

from _model_helpers import one_thread, tiny_checkpoint  # noqa: F401 (autouse fixture)
from _videos import cut_video


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("steps")
    tiny_checkpoint(d / "checkpoint.pt", {V.shift_id(200): 4.0, V.CHORD: 3.0, V.on_id(V.PIANO, 60): 2.0})
    (d / "params.yaml").write_text("generate:\n  slide_stride: 16\n  cpu_int8: false\n")
    video, cuts = cut_video(d / "cuts.mp4", [4.4, 1.0, 2.0], size="96x64", audio="sine")
    mp = pytest.MonkeyPatch()
    mp.setenv("EMSYNC_PARAMS", str(d / "params.yaml"))
    params = load_params()
    mp.undo()
    return {"dir": d, "video": video, "cuts": cuts, "params": params}


def test_the_video_is_probed_once_by_ffprobe_and_never_opened_by_pyav(setup, monkeypatch):
    import av

    calls, real_run, real_open = [], subprocess.run, av.open
    monkeypatch.setattr(subprocess, "run", lambda cmd, *a, **k: calls.append(cmd[0].rsplit("/", 1)[-1]) or real_run(cmd, *a, **k))
    monkeypatch.setattr(av, "open", lambda *a, **k: calls.append("pyav") or real_open(*a, **k))
    video = analyse_video(setup["params"], setup["video"])
    assert calls == ["ffprobe", "ffmpeg"]  # the probe, then one FFmpeg scene-score pass
    assert video.cuts == pytest.approx(setup["cuts"], abs=1 / 25 + 1e-3) and video.boundaries == video.cuts[:1]
    assert video.duration == pytest.approx(7.4, abs=0.05) and video.has_audio and video.info.time_base == "1/12800"


def test_request_checks_fail_before_any_work(setup, tmp_path):
    params, v = setup["params"], setup["video"]
    with pytest.raises(InputError, match="--instruments some: choose fewer or more"):
        check_request(params, SoundtrackRequest(v, tmp_path / "o.mp4", instruments="some", checkpoint=setup["dir"] / "checkpoint.pt"))
    with pytest.raises(InputError, match="--emotion-per-scene classifies every scene"):
        check_request(params, SoundtrackRequest(v, tmp_path / "o.mp4", valence=0.2, emotion_per_scene=True))
    with pytest.raises(InputError, match="is the same file as the input video"):
        check_request(params, SoundtrackRequest(v, v))
    assets = check_request(params, SoundtrackRequest(v, tmp_path / "o.mp4", checkpoint=setup["dir"] / "checkpoint.pt"))
    assert assets.checkpoint == (setup["dir"] / "checkpoint.pt").resolve() and assets.soundfont.name == "TimGM6mb.sf2"


def test_emotion_step_without_flags_or_classifier_reads_the_video_with_real_weights(setup, tmp_path):
    """No VEMOCLAP at hand: the packaged-model estimator reads the video (no face, no text in this
    synthetic clip: neutral, confidence 0, said so); with the classifier switched off, the neutral
    default with its reason."""
    params = setup["params"]
    params = dataclasses.replace(params, classify=dataclasses.replace(params.classify, emotion_checkpoint=str(tmp_path / "none.pt")))
    video = analyse_video(params, setup["video"])
    steps = Steps()
    e = choose_emotion(params, SoundtrackRequest(setup["video"], tmp_path / "o.mp4"), video, steps)
    assert (e.valence, e.arousal, e.source, e.classifier["used"], e.classifier["confidence"]) == (0.0, 0.0, "estimator", True, 0.0)
    assert "no VEMOCLAP checkpoint at" in e.classifier["source_reason"] and set(steps.seconds) == {"emotion"}
    assert e.classifier["weights"] and all(w["kind"] == "real" for w in e.classifier["weights"]) and e.classifier["weights_warning"] is None
    assert any("neutral by default" in x for x in e.classifier["sees"])
    off = dataclasses.replace(params, classify=dataclasses.replace(params.classify, soundtrack_uses_classifier=False))
    e = choose_emotion(off, SoundtrackRequest(setup["video"], tmp_path / "o.mp4"), video)
    assert (e.source, e.classifier["used"]) == ("default", False) and "soundtrack_uses_classifier is off" in e.classifier["reason"]
    e = choose_emotion(params, SoundtrackRequest(setup["video"], tmp_path / "o.mp4", emotion_probs={"joy": 1.0}), video)
    assert (e.source, e.valence) == ("emotion_probs", 0.8)


def test_steps_by_hand_with_a_replaced_emotion_give_make_soundtracks_bytes(setup, tmp_path):
    """A caller that chooses the emotion its own way plugs its EmotionChoice into the same steps:
    the MIDI and WAV are byte for byte what make_soundtrack writes for the same valence/arousal."""
    params, d = setup["params"], tmp_path
    req = SoundtrackRequest(setup["video"], d / "a.mp4", midi_out=d / "a.mid", wav_out=d / "a.wav", seed=1,
                            valence=0.4, arousal=-0.2, checkpoint=setup["dir"] / "checkpoint.pt", progress=False)  # fmt: skip
    whole = make_soundtrack(params, req)
    by_hand = dataclasses.replace(req, output=d / "b.mp4", midi_out=d / "b.mid", wav_out=d / "b.wav", valence=None, arousal=None)
    assets = check_request(params, by_hand)
    video = analyse_video(params, by_hand.video)
    emotion = EmotionChoice(0.4, -0.2, "my_estimator")  # what a replacement emotion step returns
    music = generate_music(params, by_hand, video, emotion, assets.checkpoint)
    rendered = render_music(params, by_hand, video, music, assets.soundfont, d)
    muxed = mux_music(params, by_hand, video, rendered)
    assert (d / "b.mid").read_bytes() == (d / "a.mid").read_bytes() and (d / "b.wav").read_bytes() == (d / "a.wav").read_bytes()
    assert music.chord_times == whole["chord_times"] and int(music.hits.sum()) == whole["boundaries_hit"]
    assert muxed["kept_original_audio"] is False and (d / "b.mp4").stat().st_size > 0
    assert np.array_equal(music.ids[:3], [V.MORE, V.START, V.BAR])
