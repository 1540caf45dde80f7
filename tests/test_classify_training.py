"""A short training run on demo features (through the one training engine) learns the emotion and
genres that the demo generator planted in the videos' pictures and sound (thesis §5.2.2, §5.2.3)."""

import dataclasses

import numpy as np
import pytest

from emsync.classify.datasets import demo_table
from emsync.classify.metrics import genre_metrics
from emsync.classify.stage import build_dataset, evaluate, train_classifier
from emsync.config import Params
from emsync.io import write_json
from emsync.models.classifiers import from_checkpoint_dict

pytestmark = pytest.mark.slow  # builds 18 videos and their features (minutes on a loaded 2-core box)

N_VIDEOS = 18  # three per emotion: two train, one test
EMOTION_MODEL = {"d_model": 32, "n_heads": 4, "dropout": 0.0}
EMOTION_TRAIN = {"steps": 200, "lr": 3e-3, "batch_size": 12}


@pytest.fixture(scope="module")
def demo_features(tmp_path_factory):
    """18 short demo videos and their feature tables from the tiny local extractor models."""
    from emsync.classify.inference import EXTRACTORS, extract_tables
    from emsync.demo.videos import build_videos
    from tests._extractor_models import handle

    root = tmp_path_factory.mktemp("classify_train")
    gt = build_videos(root / "videos", seed=5, n_videos=N_VIDEOS, min_s=2.0, max_s=3.0)
    write_json(root / "videos.json", gt)
    names = sorted(set(EXTRACTORS["emotion"]) | set(EXTRACTORS["genre"]))
    handles = {n: handle(n) for n in names}
    for vid in gt:
        tables, _, _ = extract_tables(Params(), root / "videos" / f"{vid}.mp4", "emotion", handles=handles)
        more, _, _ = extract_tables(Params(), root / "videos" / f"{vid}.mp4", "genre", handles=handles)
        for name, df in {**tables, **more}.items():
            (root / "features" / name).mkdir(parents=True, exist_ok=True)
            df.to_parquet(root / "features" / name / f"{vid}.parquet")
    return root


def _params(**over):
    return dataclasses.replace(Params().classify, **{"steps": 120, "lr": 1e-3, "batch_size": 8, "seed": 0, "device": "cpu", **over})


@pytest.fixture(scope="module")
def emotion_run(demo_features):
    """(labels, dataset, training result) of VEMOCLAP trained on the 12 training videos."""
    labels = demo_table(demo_features / "videos.json", test_fraction=1 / 3)
    data, skips = build_dataset("emotion", labels, demo_features / "features", demo_features / "videos", {"faces": 32})
    assert skips.empty and len(data.items) == N_VIDEOS
    return labels, data, train_classifier("vemoclap", data, _params(**EMOTION_TRAIN), EMOTION_MODEL)


def test_emotion_learns_the_planted_signal(emotion_run):
    labels, data, out = emotion_run
    assert labels["split"].value_counts().to_dict() == {"train": 12, "test": 6}
    assert out["history"][-1]["loss"] < out["history"][0]["loss"]
    from emsync.classify.stage import make_task

    model = from_checkpoint_dict(out)
    preds, m = evaluate(make_task("vemoclap", data, _params(), {}), model, splits=("train", "test"))
    assert m["train"]["accuracy"] == 1.0
    assert m["test"]["accuracy"] >= 0.5, preds[["video_id", "label", "predicted"]]  # chance: 1/6


def test_genre_models_learn_the_planted_genres(demo_features):
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


def test_soundtrack_without_flags_picks_the_planted_quadrant(demo_features, emotion_run, tmp_path, monkeypatch, capsys):
    """`emsync soundtrack` with no emotion flag uses the trained classifier: on the held-out joy and
    sadness videos the valence/arousal quadrant is the planted emotion's (Table 6.1 means)."""
    import json

    import yaml

    from _model_helpers import tiny_checkpoint
    from emsync.classify.inference import save_classifier
    from emsync.cli import main
    from emsync.music import vocab as V
    from emsync.video import extractors
    from tests._extractor_models import _ROOT

    labels, _, out = emotion_run
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
    for emotion, quadrant in (("joy", (1, 1)), ("sadness", (-1, -1))):
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
                    "-q",
                    "--json",
                ]
            )
            == 0
        )
        s = json.loads(capsys.readouterr().out)
        assert s["emotion_source"] == "classifier"
        assert (np.sign(s["valence"]), np.sign(s["arousal"])) == quadrant, (emotion, s["emotion_classifier"])
