"""`emsync soundtrack --emotion-per-scene` on CPU: every segment between boundaries is classified
with the video emotion classifier (a tiny random VEMOCLAP here; the trained one that follows a
planted change is in tests/test_classify_training.py), the JSON record holds the curve, and the
generator switches condition at the boundary (continuous_token: a prefix switch)."""

import json

import pytest
import torch
import yaml

from emsync.cli import main
from emsync.demo.videos import emotion_change_plan, encode_video
from emsync.music import vocab as V

from _model_helpers import one_thread, tiny_checkpoint  # noqa: F401 (autouse fixture)


@pytest.fixture(scope="module")
def scenes_setup(tmp_path_factory):
    from emsync.classify.inference import EXTRACTORS, extract_tables, save_classifier
    from emsync.core.config import Params
    from emsync.models.classifiers import build
    from emsync.video import extractors
    from tests._extractor_models import _ROOT, handle, model_dir

    d = tmp_path_factory.mktemp("scenes")
    plan = emotion_change_plan(5, ("joy", "sadness"), scene_s=4.5)
    video = d / "change.mp4"
    video.write_bytes(encode_video(plan, 5))
    for name in ("clip", "audio", "music", "face_expression", "whisper", "sentiment", "distilbert"):
        model_dir(name)
    t, _, _ = extract_tables(Params(), video, "emotion", handles={n: handle(n) for n in EXTRACTORS["emotion"]})
    sent = len(t["sentiment"]["embedding"].iloc[0])
    dims = {"clip": len(t["clip"]["embedding"].iloc[0]), "audio": len(t["audio"]["embedding"].iloc[0]),
            "faces": extractors.get("faces").width(handle("faces")), "asr": sent, "ocr": sent}  # fmt: skip
    torch.manual_seed(0)
    save_classifier(d / "emotion.pt", build("vemoclap", {"dims": dims, "d_model": 16, "n_heads": 4}).eval(), "vemoclap")
    tiny_checkpoint(d / "music.pt", {V.shift_id(200): 4.0, V.CHORD: 3.0})
    params = {
        "features": {"models": extractors.demo_models(_ROOT)},
        "classify": {"emotion_checkpoint": "emotion.pt"},  # relative to the project: EMSYNC_ROOT=d
        "generate": {"slide_stride": 16, "cpu_int8": False},
    }
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    (d / "noclassifier.yaml").write_text(yaml.safe_dump({**params, "classify": {"emotion_checkpoint": "none.pt"}}))
    return d, video, plan


def run(d, video, monkeypatch, *argv, params="params.yaml"):
    monkeypatch.setenv("EMSYNC_PARAMS", str(d / params))
    monkeypatch.setenv("EMSYNC_ROOT", str(d))
    return main(["soundtrack", str(video), "-o", str(d / "out.mp4"), "--checkpoint", str(d / "music.pt"), "-q", *argv])


def test_curve_record_and_switch_at_the_boundary(scenes_setup, monkeypatch, capsys):
    d, video, plan = scenes_setup
    assert run(d, video, monkeypatch, "--emotion-per-scene", "--emotion-checkpoint", str(d / "emotion.pt"), "--json", "--seed", "3") == 0
    s = json.loads(capsys.readouterr().out)
    (b,) = s["boundaries"]
    assert b == pytest.approx(plan["cuts"][0], abs=1 / plan["fps"] + 1e-3)
    curve = s["emotion_curve"]
    assert [(c["start"], c["end"]) for c in curve] == [(0.0, b), (b, s["duration_s"])]
    for c in curve:  # each segment's V/A is the §6.1 mixture mean of its own probabilities
        from emsync.emotion.mapping import mixture_mean

        assert (c["valence"], c["arousal"]) == pytest.approx(mixture_mean(c["probs"], 0.8), abs=1e-5)
        assert c["top"] == max(c["probs"], key=c["probs"].get)
    w = [c["end"] - c["start"] for c in curve]
    assert s["valence"] == pytest.approx(sum(c["valence"] * x for c, x in zip(curve, w)) / sum(w), abs=1e-5)
    assert s["emotion_source"] == "classifier_per_scene" and s["emotion_classifier"]["source"] == "vemoclap"
    kinds = {w["role"]: w["kind"] for w in s["weights"]}  # the random VEMOCLAP records no weights: never shown as real
    assert kinds["emotion classifier (VEMOCLAP)"] == "unknown" and kinds["clip features"] == "random"
    assert "emotion classifier (VEMOCLAP): unknown weights" in s["weights_warning"]
    cond = s["emotion_conditioning"]
    assert cond["mode"] == "continuous_token" and "prefix switch" in cond["how"] and len(cond["notes_per_s"]) == 2
    (sw,) = cond["switches"]
    assert sw["segment"] == 1 and b <= sw["t"] < b + 1.0  # at the first TIMESHIFT that reaches the boundary
    capsys.readouterr()
    assert run(d, video, monkeypatch, "--emotion-per-scene", "--emotion-checkpoint", str(d / "emotion.pt")) == 0
    text = capsys.readouterr().out
    assert f"scene   0.00-{b:6.2f} s" in text and "conditioning continuous_token: prefix switch" in text
    assert "\nwarning: not real weights" in text


def test_per_scene_without_a_real_vemoclap_reads_each_scene_with_the_estimator(scenes_setup, monkeypatch, capsys):
    """The params' VEMOCLAP records no weights, so per scene the packaged-model estimator reads each
    segment's own frames (synthetic scenes: no face, no text -> neutral, said so per scene)."""
    import numpy as np

    from emsync.emotion.estimate import LABELS, valence_arousal

    d, video, _ = scenes_setup
    assert run(d, video, monkeypatch, "--emotion-per-scene", "--json") == 0
    s = json.loads(capsys.readouterr().out)
    assert s["emotion_source"] == "estimator_per_scene" and s["emotion_classifier"]["source"] == "estimator"
    curve = s["emotion_curve"]
    assert len(curve) == 2 and all(list(c["probs"]) == list(LABELS) and c["sees"] for c in curve)
    for c in curve:
        assert (c["valence"], c["arousal"]) == pytest.approx(valence_arousal(np.array(list(c["probs"].values()))), abs=1e-5)
    kinds = {w["role"]: w["kind"] for w in s["weights"]}
    assert kinds["facial expression"] == "real" and kinds["music generator"] == "unknown"


@pytest.mark.parametrize(
    "argv,params,msg",
    [
        (["--emotion-per-scene", "--valence", "0.2"], "params.yaml", "drop --valence/--arousal/--emotion-probs"),
        (["--emotion-per-scene", "--emotion-probs", "joy=1"], "params.yaml", "drop --valence/--arousal/--emotion-probs"),
        (["--emotion-per-scene", "--emotion-checkpoint", "none.pt"], "noclassifier.yaml", "--emotion-checkpoint none.pt: no such file"),
    ],
)
def test_bad_flags_are_one_clear_line(scenes_setup, monkeypatch, capsys, argv, params, msg):
    d, video, _ = scenes_setup
    assert run(d, video, monkeypatch, *argv, params=params) == 1
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err and len(err.strip().splitlines()) == 1, err
