"""The default emotion source is the best real one (a VEMOCLAP trained on real data, else the
estimator from packaged parts); a demo VEMOCLAP runs only when given by path, and says so. The
estimator's fusion rules, and what it says on real clips."""

import dataclasses
import json

import numpy as np
import pytest
import torch

from emsync.emotion import estimate as E
from emsync.core import provenance as P
from emsync.core.config import Params


def test_text_polarity_goes_to_joy_or_the_four_negatives():
    p = dict(zip(E.LABELS, E.text_distribution(0.6)))
    assert (p["joy"], p["neutral"], p["anger"], p["surprise"]) == pytest.approx((0.6, 0.4, 0.0, 0.0))
    p = dict(zip(E.LABELS, E.text_distribution(-0.8)))
    assert [p[e] for e in ("anger", "disgust", "fear", "sadness")] == pytest.approx([0.2] * 4) and p["neutral"] == pytest.approx(0.2)


def _face(label):
    return {"t": 0.0, "n_faces": 1, "probs": np.eye(len(E.LABELS))[E.LABELS.index(label)]}


def test_fusion_counts_what_it_cannot_read_as_neutral():
    nothing = E.fuse([], 8, None)
    assert nothing["probs"][E.LABELS.index("neutral")] == 1.0 and nothing["confidence"] == 0.0
    half = E.fuse([_face("joy")] * 4, 8, None)  # faces in 4 of 8 frames, all happy
    assert dict(zip(E.LABELS, half["probs"]))["joy"] == pytest.approx(0.5) and half["confidence"] == pytest.approx(0.5)
    no_words = {"neg": 0.0, "neu": 1.0, "pos": 0.0, "compound": 0.0}  # "INSIDE EDITION": read, but no sentiment words
    assert E.fuse([_face("joy")] * 4, 8, no_words)["confidence"] == pytest.approx(0.5)
    sad = {"neg": 0.6, "neu": 0.4, "pos": 0.0, "compound": -0.8}
    both = E.fuse([_face("joy")] * 8, 8, sad)  # coverage 1; evidence = (1 * joy + 0.5 * text) / 1.5
    p = dict(zip(E.LABELS, both["probs"]))
    assert (p["joy"], p["sadness"], p["neutral"]) == pytest.approx((2 / 3, 0.2 / 3, 0.2 / 3)) and both["coverage"] == 1.0


def test_valence_arousal_puts_neutral_at_the_centre():
    from emsync.emotion import mapping as em

    joy = np.eye(len(E.LABELS))[E.LABELS.index("joy")]
    neutral = np.eye(len(E.LABELS))[E.LABELS.index("neutral")]
    assert E.valence_arousal(neutral) == (0.0, 0.0)
    assert E.valence_arousal(joy) == pytest.approx(em.mixture_mean({"joy": 1.0}))
    assert E.valence_arousal(0.5 * joy + 0.5 * neutral) == pytest.approx(tuple(0.5 * x for x in em.mixture_mean({"joy": 1.0})))


# --- choosing the source -------------------------------------------------------------------------


def _vemoclap(path, weights=None):
    from emsync.classify.inference import save_classifier
    from emsync.models.classifiers import build

    torch.manual_seed(0)
    model = build("vemoclap", {"dims": {"clip": 8, "audio": 8, "faces": 128, "asr": 4, "ocr": 4}, "d_model": 8, "n_heads": 2})
    save_classifier(path, model.eval(), "vemoclap", extra={"weights": weights} if weights else {})
    return path


def _params(tmp_path, ckpt, extractor_kind="real"):
    models = {"faces": {"classifier": "pkg:fer", "detector": "pkg:mtcnn"}, "sentiment": "pkg:vader", "ocr": {"ocr": "pkg:rapidocr"}}
    for name in ("clip", "audio", "asr"):
        d = tmp_path / f"{name}_{extractor_kind}"
        d.mkdir(exist_ok=True)
        (d / P.MARKER).write_text(json.dumps({"kind": extractor_kind, "source": name, "trained_on": "its data"}))
        models[name] = str(d)
    p = Params()
    return dataclasses.replace(
        p,
        features=dataclasses.replace(p.features, models=models),
        classify=dataclasses.replace(p.classify, emotion_checkpoint=str(ckpt)),
    )


def test_a_demo_vemoclap_is_never_the_default(tmp_path):
    from emsync.emotion.source import choose

    ckpt = _vemoclap(tmp_path / "demo.pt", P.weights_record("demo", "train_emotion", "demo videos"))
    src = choose(_params(tmp_path, ckpt))
    assert src.name == "estimator" and "emotion classifier (VEMOCLAP): demo" in src.reason and f"--checkpoint {ckpt}" in src.reason
    by_path = choose(_params(tmp_path, tmp_path / "elsewhere.pt"), checkpoint=ckpt)
    assert by_path.name == "vemoclap" and "demo weights" in P.warning(by_path.weights)
    assert choose(_params(tmp_path, tmp_path / "none.pt")).reason.startswith("no VEMOCLAP checkpoint at")


def test_a_real_vemoclap_is_the_default_only_with_real_extractors(tmp_path):
    from emsync.emotion.source import choose

    ckpt = _vemoclap(tmp_path / "real.pt", P.weights_record("real", "train_emotion on ekman6", "Ekman-6 training split"))
    src = choose(_params(tmp_path, ckpt))
    assert src.name == "vemoclap" and "trained on real data (Ekman-6 training split)" in src.reason
    assert [w.role for w in src.weights][:2] == ["emotion classifier (VEMOCLAP)", "clip features"] and P.warning(src.weights) is None
    src = choose(_params(tmp_path, ckpt, extractor_kind="random"))
    assert src.name == "estimator" and "clip features: random" in src.reason and "audio features: random" in src.reason


# --- the estimator on real clips -------------------------------------------------------------------


@pytest.fixture(scope="module")
def estimator():
    return E.load_estimator(Params())


@pytest.mark.shared_data
def test_smiling_faces_read_as_joy(estimator, shared_data):
    out = E.estimate(estimator, Params(), shared_data / "ekman6" / "joy.mp4")
    assert out["top"] == "joy" and out["confidence"] > 0.5 and out["valence"] > 0.3 and out["arousal"] > 0.2
    assert len(out["evidence"]["face_frames"]) >= 6 and out["sees"][0].startswith("faces in ")
    assert set(out["seconds"]) >= {"decode", "faces", "ocr", "sentiment_fuse", "total"}


@pytest.mark.shared_data
def test_text_without_sentiment_words_is_read_but_not_counted(estimator, shared_data):
    out = E.estimate(estimator, Params(), shared_data / "video" / "testpattern_text_overlay.mp4")
    assert any("Holiday" in t for t in out["evidence"]["text"]) and not out["evidence"]["text_has_sentiment_words"]
    assert (out["top"], out["confidence"], out["valence"], out["arousal"]) == ("neutral", 0.0, 0.0, 0.0)
    assert "no sentiment words: not counted" in out["sees"][1] and "neutral by default" in out["sees"][-1]


@pytest.mark.shared_data
def test_a_segment_reads_only_its_own_frames(estimator, shared_data):
    out = E.estimate(estimator, Params(), shared_data / "ekman6" / "joy.mp4", start=1.0, end=2.0)
    assert all(1.0 <= f["t"] < 2.1 for f in out["evidence"]["face_frames"]) and out["top"] == "joy"
