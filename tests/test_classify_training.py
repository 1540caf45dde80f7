"""A short training run on demo features (through the one training engine) learns the emotion and
genres that the demo generator planted in the videos' pictures and sound (thesis §5.2.2, §5.2.3)."""

import dataclasses

import numpy as np
import pytest

from emsync.classify.datasets import demo_table
from emsync.classify.metrics import genre_metrics
from emsync.classify.stage import build_dataset, evaluate, train_classifier
from emsync.core.config import Params
from emsync.models.classifiers import from_checkpoint_dict

pytestmark = pytest.mark.slow  # builds 18 videos and their features (minutes on a loaded 2-core box)

# the videos, their tables and the trained VEMOCLAP are the session's `classify_videos` and
# `trained_vemoclap` fixtures (tests/conftest.py)
N_VIDEOS = 18


def _params(**over):
    return dataclasses.replace(Params().classify, **{"steps": 120, "lr": 1e-3, "batch_size": 8, "seed": 0, "device": "cpu", **over})


def test_emotion_learns_the_planted_signal(trained_vemoclap):
    labels, data, out = trained_vemoclap.labels, trained_vemoclap.data, trained_vemoclap.out
    assert labels["split"].value_counts().to_dict() == {"train": 12, "test": 6}
    assert out["history"][-1]["loss"] < out["history"][0]["loss"]
    from emsync.classify.stage import make_task

    preds, m = evaluate(make_task("vemoclap", data, _params(), {}), trained_vemoclap.model, splits=("train", "test"))
    # chance is 1/6: well above it on the training videos (11 or 12 of 12 seen; 9 asked), and the
    # planted emotion first on at least half of the held-out ones (3 of 6 happen by chance 6 % of the time)
    assert m["train"]["accuracy"] >= 0.75, preds[["video_id", "label", "predicted"]]
    assert m["test"]["accuracy"] >= 0.5, preds[["video_id", "label", "predicted"]]


def test_genre_models_learn_the_planted_genres(classify_videos):
    demo_features = classify_videos.root
    labels = demo_table(demo_features / "videos.json", test_fraction=1 / 3)
    data, _ = build_dataset("genre", labels, demo_features / "features", demo_features / "videos")
    from emsync.classify.stage import make_task

    test = data.index("test")
    rng = np.random.default_rng(0)
    chance = np.mean([genre_metrics(data.targets[test], rng.random(data.targets[test].shape), list(range(21)))["map"] for _ in range(50)])
    for kind, cfg in (("mlp", {"n_layers": 2, "d_hidden": 64, "dropout": 0.0}),):
        out = train_classifier(kind, data, _params(lr=3e-3, batch_size=12), cfg)
        _, m = evaluate(make_task(kind, data, _params(), {}), from_checkpoint_dict(out), splits=("test",))
        assert m["test"]["map"] > max(0.6, 1.5 * chance), (kind, m["test"]["map"], chance)


def test_soundtrack_without_flags_follows_the_planted_valence(classify_videos, trained_vemoclap, tmp_path, monkeypatch, capsys):
    """`emsync soundtrack` with no emotion flag and the trained classifier given by path: the held-out joy video
    gets a positive valence and the sadness one a negative valence (Table 6.1 means). Valence only:
    the small model may take sadness for anger (the other negative-valence emotion, high arousal),
    so the arousal of the sadness video is not something this training reliably gives."""
    import json

    import yaml

    from _model_helpers import tiny_checkpoint
    from emsync.classify.inference import save_classifier
    from emsync.cli import main
    from emsync.music import vocab as V
    from emsync.video import extractors
    from tests._extractor_models import _ROOT

    labels, out = trained_vemoclap.labels, trained_vemoclap.out
    demo_features = classify_videos.root
    save_classifier(tmp_path / "emotion.pt", from_checkpoint_dict(out), "vemoclap")
    tiny_checkpoint(tmp_path / "music.pt", {V.shift_id(200): 4.0, V.CHORD: 3.0})
    (tmp_path / "params.yaml").write_text(
        yaml.safe_dump(
            {
                "features": {"models": extractors.demo_models(_ROOT)},
                "classify": {"emotion_checkpoint": "emotion.pt"},  # relative to the project: EMSYNC_ROOT=tmp_path
                "generate": {"slide_stride": 16, "cpu_int8": False},
            }
        )
    )
    monkeypatch.setenv("EMSYNC_PARAMS", str(tmp_path / "params.yaml"))
    monkeypatch.setenv("EMSYNC_ROOT", str(tmp_path))
    test = labels[labels["split"] == "test"].set_index("emotion")["video_id"]
    for emotion, sign in (("joy", 1), ("sadness", -1)):
        video = demo_features / "videos" / f"{test[emotion]}.mp4"
        assert (
            main(
                [
                    "soundtrack",
                    str(video),
                    "-o",
                    str(tmp_path / f"{emotion}.mp4"),
                    "--checkpoint",
                    str(tmp_path / "music.pt"),
                    "--emotion-checkpoint",  # a VEMOCLAP trained on demo videos runs only when given by path
                    str(tmp_path / "emotion.pt"),
                    "-q",
                    "--json",
                ]
            )
            == 0
        )
        s = json.loads(capsys.readouterr().out)
        assert s["emotion_source"] == "classifier" and "emotion classifier (VEMOCLAP): unknown weights" in s["weights_warning"]
        assert np.sign(s["valence"]) == sign, (emotion, s["emotion_classifier"])
