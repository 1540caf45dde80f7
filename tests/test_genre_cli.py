"""`emsync genre VIDEO` (thesis §5.2.3): a genre MLP trained through the engine on four demo videos'
features (tiny local extractor models), saved, then run from the command line on a demo video: 21
independent genre probabilities naming the video, the planted genres on top; bad input is one line."""

import json

import numpy as np
import pytest
import torch
import yaml

from emsync.classify.datasets import multi_hot
from emsync.classify.features import DEFAULT_INPUTS, video_features
from emsync.classify.inference import EXTRACTORS, classify_tables, extract_tables, save_classifier
from emsync.classify.stage import train_classifier
from emsync.classify.tasks import ClassifierData
from emsync.core.config import ClassifyParams, Params
from emsync.models.classifier_blocks import GENRES
from emsync.models.classifiers import from_checkpoint_dict
from tests._extractor_models import handle

pytestmark = pytest.mark.slow  # extracts four demo videos' features and trains (about a minute on 2 cores)

VIDEO = "demo01"  # a music video; its planted genres follow its planted emotion


@pytest.fixture(scope="module")
def genre_setup(tmp_path_factory, demo_videos):
    """(folder with params.yaml + genre.pt, the video's tables) after a short engine run."""
    from emsync.video import extractors
    from tests._extractor_models import _ROOT, model_dir

    handles = {n: handle(n) for n in EXTRACTORS["genre"]}
    tables = {v: extract_tables(Params(), demo_videos.path(v), "genre", handles=handles) for v in sorted(demo_videos.ground_truth)}
    dims = {}
    for m, (table, source) in {"clip": ("clip", None), "audio": ("audio", None), "music": ("music", None)}.items():
        dims[m] = len(tables[VIDEO][0][table]["embedding"].iloc[0])
    dims["asr"] = dims["ocr"] = len(tables[VIDEO][0]["tokens"]["embedding"].iloc[0])
    assert list(dims) == list(DEFAULT_INPUTS["genre"])
    items = [video_features(t, v, "genre", dims, has_audio=a) for v, (t, a, _) in tables.items()]
    gt = demo_videos.ground_truth
    y = np.stack([multi_hot(gt[v]["genres"]) for v in tables])
    data = ClassifierData(items, y, ["train"] * len(items), dims)
    c = ClassifyParams(steps=60, lr=1e-2, batch_size=4, device="cpu", pos_weight=1.0)
    out = train_classifier("mlp", data, c, {"n_layers": 1, "dropout": 0.0})  # the thesis's 1-layer MLP
    assert out["history"][-1]["loss"] < out["history"][0]["loss"]

    d = tmp_path_factory.mktemp("genre_cli")
    save_classifier(d / "genre.pt", from_checkpoint_dict(out), "mlp")
    for name in ("clip", "audio", "music", "whisper", "distilbert"):
        model_dir(name)
    params = {"features": {"models": extractors.demo_models(_ROOT)}, "classify": {"genre_checkpoint": str(d / "genre.pt")}}
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    return d, tables[VIDEO]


def test_genre_cli_json_names_the_video_and_its_planted_genres(genre_setup, demo_videos, monkeypatch, capsys):
    from emsync.cli import main

    d, (tables, has_audio, _) = genre_setup
    monkeypatch.setenv("EMSYNC_PARAMS", str(d / "params.yaml"))
    video = demo_videos.path(VIDEO)
    assert main(["genre", str(video), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["video_id"] == VIDEO and out["checkpoint"] == str(d / "genre.pt")
    assert list(out["probs"]) == list(GENRES) and len(GENRES) == 21
    p = np.array(list(out["probs"].values()))
    # independent sigmoids (multi-label, §5.2.3.2): each in [0, 1] (printed to 6 decimals), their sum
    # about the number of genres the video has, not 1 by construction
    assert ((p >= 0) & (p <= 1)).all() and 0 < p.sum() < len(GENRES)
    planted = demo_videos.ground_truth[VIDEO]["genres"]
    assert planted and {g for g, v in out["probs"].items() if v >= 0.5} == set(planted), (planted, out["probs"])
    assert out["top"] in planted and out["probs"][out["top"]] == p.max()
    assert set(out["seconds"]) >= {"decode", "clip", "audio", "music", "asr", "ocr", "tokens", "classifier"}
    # the CLI's probabilities are the library's on the same tables
    model = from_checkpoint_dict(torch.load(d / "genre.pt", weights_only=False))
    assert classify_tables(model.eval(), tables, VIDEO, "genre", has_audio)["probs"] == out["probs"]

    assert main(["genre", str(video)]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    masked = ["masked: " + ", ".join(f"{m} ({why})" for m, why in out["masked"].items())] if out["masked"] else []
    n = 2 + len(masked)
    assert lines[21 : 21 + n - 1] == [f"top: {out['top']}", *masked]
    # then every weights behind the answer, and the warning: a random test classifier is never shown as real
    assert lines[21 + n - 1].startswith("weights     genre classifier: unknown") and lines[-1].startswith("warning: not real weights")
    assert out["weights"][0]["role"] == "genre classifier" and "clip features: random weights" in out["weights_warning"]
    assert lines[0].split()[0] == out["top"] and all(line.split()[0] in GENRES for line in lines[:21])


def test_genre_cli_bad_input_is_one_line(genre_setup, tmp_path, monkeypatch, capsys):
    from emsync.cli import main

    d, _ = genre_setup
    monkeypatch.setenv("EMSYNC_PARAMS", str(d / "params.yaml"))
    missing = tmp_path / "absent.mp4"
    assert main(["genre", str(missing)]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"video {missing} not found" in err[0]
    text = tmp_path / "notes.mp4"
    text.write_text("not a video\n")
    assert main(["genre", str(text), "--json"]) == 1
    cap = capsys.readouterr()
    err = cap.err.strip().splitlines()
    assert cap.out == "" and len(err) == 1 and f"{text}: not a readable video" in err[0]
    assert main(["genre", str(text), "--checkpoint", str(tmp_path / "none.pt")]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "none.pt not found" in err[0]
