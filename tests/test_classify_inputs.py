"""Which extractor tables the classifiers read (thesis §5.2.1, §5.2.2.1, §5.2.3.1).

The thesis's emotion classifier (VEMOCLAP) reads n CLIP, n BEATs, k <= n face-expression vectors and
the ASR and OCR sentiment vectors; Audiotag and Music were "only for genre classification and later
replaced" by BEATs. The thesis parameter set must say so, and a training run with it must read the
beats tables (and not the audio tagger's)."""

import dataclasses

import numpy as np
import pandas as pd
import pytest

from emsync.classify.features import THESIS_INPUTS, MissingFeatures, read_tables, sources
from emsync.classify.inference import extractors_for
from emsync.core.config import load_params
from emsync.core.errors import InputError
from tests._root import ROOT

WIDTH = {"clip": 10, "beats": 12, "faces": 8, "sentiment": 6}


def test_thesis_set_emotion_inputs_match_the_thesis():
    p = load_params(ROOT / "params" / "thesis.yaml")
    assert p.classify.emotion_inputs == ["clip", "beats", "faces", "asr", "ocr"]  # §5.2.2.1
    assert tuple(p.classify.emotion_inputs) == THESIS_INPUTS["emotion"]
    assert sources("emotion", p.classify.emotion_inputs) == {
        "clip": ("clip", None),
        "beats": ("beats", None),
        "faces": ("faces", None),
        "asr": ("sentiment", "asr"),
        "ocr": ("sentiment", "ocr"),
    }
    # the features stage of the thesis set runs every extractor either classifier needs
    need = set(extractors_for("emotion", p.classify.emotion_inputs)) | set(extractors_for("genre", THESIS_INPUTS["genre"]))
    assert need == {"clip", "beats", "audio", "music", "faces", "asr", "ocr", "sentiment", "tokens"}
    assert need <= set(p.features.extractors)
    # the demo set keeps the landed tagger (its features stage runs no BEATs)
    demo = load_params(ROOT / "params" / "demo.yaml")
    assert demo.classify.emotion_inputs == ["clip", "audio", "faces", "asr", "ocr"]
    assert set(extractors_for("emotion", demo.classify.emotion_inputs)) <= set(demo.features.extractors)


def test_unknown_input_is_one_clear_line():
    with pytest.raises(InputError, match=r"emotion classifier input 'vggish': choose from clip, audio, beats"):
        sources("emotion", ["clip", "vggish"])


def _write_tables(root, ids, rng):
    """Feature tables of the thesis's emotion inputs (no `audio` table): the planted class is the
    sign of the BEATs vectors' first channel, so only the beats table carries it."""
    for i, vid in enumerate(ids):
        label = i % 2
        frames = {
            "clip": pd.DataFrame({"t": np.arange(6.0), "embedding": list(rng.normal(size=(6, WIDTH["clip"])).astype(np.float32))}),
            "beats": pd.DataFrame({"t": np.arange(6.0), "embedding": list(rng.normal(size=(6, WIDTH["beats"])).astype(np.float32))}),
            "faces": pd.DataFrame(
                {
                    "t": np.arange(6.0),
                    "n_faces": [1, 0, 1, 0, 0, 1],
                    "embedding": list(rng.normal(size=(6, WIDTH["faces"])).astype(np.float32)),
                }
            ),
            "sentiment": pd.DataFrame(
                {
                    "source": ["asr", "ocr"],
                    "text": ["some words", ""],
                    "embedding": list(rng.normal(size=(2, WIDTH["sentiment"])).astype(np.float32)),
                }
            ),
        }
        frames["beats"]["embedding"] = [np.r_[np.float32(3.0 if label else -3.0), v[1:]] for v in frames["beats"]["embedding"]]
        for name, df in frames.items():
            (root / name).mkdir(parents=True, exist_ok=True)
            df.assign(video_id=vid).to_parquet(root / name / f"{vid}.parquet")


def test_thesis_set_training_run_reads_beats(tmp_path):
    """train_classifier_task with the thesis set's classify section (short run): the trained VEMOCLAP's
    inputs are the thesis's, its audio input is BEATs at the beats tables' width, and the run needs
    no audio-tagger table; the demo inputs on the same store skip every video for its missing
    `audio` table."""
    from emsync.tasks.classify import train_classifier_task

    ids = [f"v{i}" for i in range(8)]
    _write_tables(tmp_path / "features", ids, np.random.default_rng(0))
    labels = [{"video_id": v, "label": i % 2, "split": "train" if i < 6 else "test"} for i, v in enumerate(ids)]
    thesis = load_params(ROOT / "params" / "thesis.yaml").classify
    c = dataclasses.replace(thesis, steps=3, batch_size=4, val_fraction=0.0, eval_every=0, patience=0, device="cpu")
    cfg = {"d_model": 16, "n_heads": 4, "dropout": 0.0}
    run = train_classifier_task.fn
    out = run("vemoclap", "emotion", labels, str(tmp_path / "features"), "", "d", dataclasses.asdict(c), cfg, {}, "", "code")
    assert out["skips"] == [] and out["split_counts"] == {"train": 6, "val": 0, "test": 2}
    assert out["config"]["dims"] == {"clip": 10, "beats": 12, "faces": 8, "asr": 6, "ocr": 6}
    assert any(k.startswith("encoders.beats") or ".beats." in k for k in out["state_dict"]), sorted(out["state_dict"])[:8]
    with pytest.raises(MissingFeatures, match="feature table audio is missing"):
        read_tables(tmp_path / "features", "v0", "emotion", ["clip", "audio", "faces", "asr", "ocr"])
    demo = dataclasses.replace(c, emotion_inputs=["clip", "audio", "faces", "asr", "ocr"])
    with pytest.raises(InputError, match=r"no feature rows of \[.*'audio'"):
        run("vemoclap", "emotion", labels, str(tmp_path / "features"), "", "d", dataclasses.asdict(demo), cfg, {}, "", "code")
