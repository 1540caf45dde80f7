"""Classifying real demo videos end to end with tiny local extractor models: bad input (no audio
stream, no face, no speech, no text, one frame) gives a prediction with those modalities masked;
a missing feature table is a named skip."""

import subprocess

import numpy as np
import pandas as pd
import pytest
import torch

from emsync.classify.features import MissingFeatures, read_tables
from emsync.classify.inference import EXTRACTORS, classify_tables, extract_tables, load_classifier, save_classifier
from emsync.core.config import Params
from emsync.core.errors import InputError
from emsync.models.classifiers import build
from emsync.video import extractors
from tests._extractor_models import handle


def _handles(task):
    return {name: handle(name) for name in EXTRACTORS[task]}


@pytest.fixture(scope="module")
def tables(demo_videos):
    out = {}
    for vid in sorted(demo_videos.ground_truth):
        out[vid] = extract_tables(Params(), demo_videos.path(vid), "emotion", handles=_handles("emotion"))
    return out


def _model(tables):
    t = next(iter(tables.values()))[0]
    dims = {
        "clip": len(t["clip"]["embedding"].iloc[0]),
        "audio": len(t["audio"]["embedding"].iloc[0]),
        "faces": extractors.get("faces").width(handle("faces")),
        "asr": len(t["sentiment"]["embedding"].iloc[0]),
        "ocr": len(t["sentiment"]["embedding"].iloc[0]),
    }
    torch.manual_seed(0)
    return build("vemoclap", {"dims": dims, "d_model": 16, "n_heads": 4}).eval()


def test_bad_input_gives_masked_prediction(demo_videos, tables):
    model = _model(tables)
    gt = demo_videos.ground_truth
    for vid, (tabs, has_audio, _) in tables.items():
        out = classify_tables(model, tabs, vid, "emotion", has_audio)
        p = np.array(list(out["probs"].values()))
        assert np.isclose(p.sum(), 1.0, atol=1e-5) and (p > 0).all(), vid
        assert out["top"] in out["probs"]
        if gt[vid]["audio"] == "none":
            assert out["masked"]["audio"] == "no audio stream"
            # masked means ignored: other audio values give the same prediction
            noisy = dict(tabs)
            noisy["audio"] = tabs["audio"].assign(
                embedding=[np.random.default_rng(1).normal(size=len(e)) * 50 for e in tabs["audio"]["embedding"]]
            )
            assert classify_tables(model, noisy, vid, "emotion", has_audio)["probs"] == out["probs"]
        if gt[vid]["text"] is None:
            assert out["masked"].get("ocr") == "no text", (vid, out["masked"])
        if gt[vid]["audio"] != "speech":
            assert out["masked"].get("asr") == "no text", (vid, out["masked"])
    assert any(tables[v][0]["faces"]["n_faces"].sum() == 0 for v in tables)  # a faceless video was covered


def test_one_frame_video(tmp_path, tables):
    clip = tmp_path / "one.mp4"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "color=c=red:s=64x48:d=0.04:r=25",
            "-frames:v",
            "1",
            "-pix_fmt",
            "yuv420p",
            str(clip),
        ],
        check=True,
    )
    tabs, has_audio, _ = extract_tables(Params(), clip, "emotion", handles=_handles("emotion"))
    assert not has_audio
    out = classify_tables(_model(tables), tabs, "one", "emotion", has_audio)
    assert np.isclose(sum(out["probs"].values()), 1.0, atol=1e-5)
    assert {"audio", "asr", "ocr", "faces"} <= set(out["masked"])


def test_missing_table_is_named(tmp_path, tables):
    tabs = next(iter(tables.values()))[0]
    for name, df in tabs.items():
        if name != "faces":
            (tmp_path / name).mkdir()
            df.to_parquet(tmp_path / name / "v1.parquet")
    with pytest.raises(MissingFeatures, match="v1: feature table faces is missing"):
        read_tables(tmp_path, "v1", "emotion")


def test_checkpoint_round_trip_is_byte_reproducible(tmp_path, tables):
    model = _model(tables)
    model.set_stats({m: {"min": -1.0, "max": 2.0} for m in model.cfg.dims})
    save_classifier(tmp_path / "a.pt", model, "vemoclap", {"val_accuracy": 0.5})
    save_classifier(tmp_path / "b.pt", model, "vemoclap", {"val_accuracy": 0.5})
    assert (tmp_path / "a.pt").read_bytes() == (tmp_path / "b.pt").read_bytes()
    again, ckpt = load_classifier(tmp_path / "a.pt")
    assert again.stats() == model.stats() and ckpt["extra"] == {"val_accuracy": 0.5}
    with pytest.raises(InputError, match="not found"):
        load_classifier(tmp_path / "none.pt")
    pd.DataFrame().to_parquet(tmp_path / "bad.pt")
    with pytest.raises(InputError):
        load_classifier(tmp_path / "bad.pt")


@pytest.fixture(scope="module")
def cli_setup(tmp_path_factory, tables):
    """A params file whose extractors are the tiny local models and whose emotion checkpoint is a
    tiny random VEMOCLAP; plus a tiny generator checkpoint for `soundtrack`."""
    import yaml

    from _model_helpers import tiny_checkpoint
    from emsync.music import vocab as V
    from emsync.video import extractors
    from tests._extractor_models import _ROOT, model_dir

    d = tmp_path_factory.mktemp("classify_cli")
    for name in ("clip", "audio", "music", "face_expression", "whisper", "sentiment", "distilbert"):
        model_dir(name)
    save_classifier(d / "emotion.pt", _model(tables), "vemoclap")
    tiny_checkpoint(d / "music.pt", {V.shift_id(200): 4.0, V.CHORD: 3.0})
    params = {
        "features": {"models": extractors.demo_models(_ROOT)},
        "classify": {"emotion_checkpoint": "emotion.pt"},  # relative to the project: EMSYNC_ROOT=d
        "generate": {"slide_stride": 16, "cpu_int8": False},
    }
    (d / "params.yaml").write_text(yaml.safe_dump(params))
    return d


def test_emotion_cli_json_and_text(cli_setup, demo_videos, monkeypatch, capsys):
    """The params' VEMOCLAP records no weights (a random one): by default the real packaged-model
    estimator answers; given by path, the VEMOCLAP answers and every output warns."""
    import json

    from emsync.cli import main

    monkeypatch.setenv("EMSYNC_PARAMS", str(cli_setup / "params.yaml"))
    monkeypatch.setenv("EMSYNC_ROOT", str(cli_setup))
    video = demo_videos.path("demo02")  # no audio stream, caption
    assert main(["emotion", str(video), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "estimator" and "is not real (emotion classifier (VEMOCLAP): unknown" in out["source_reason"]
    assert list(out["probs"]) == ["anger", "disgust", "fear", "joy", "sadness", "surprise", "neutral"]
    assert out["weights_warning"] is None and {w["kind"] for w in out["weights"]} == {"real"}
    assert set(out["seconds"]) >= {"load", "decode", "faces", "ocr", "total"}
    ckpt = str(cli_setup / "emotion.pt")
    assert main(["emotion", str(video), "--json", "--checkpoint", ckpt]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["source"] == "vemoclap" and list(out["probs"]) == ["anger", "disgust", "fear", "joy", "sadness", "surprise"]
    assert out["masked"]["audio"] == "no audio stream" and set(out["seconds"]) >= {"decode", "clip", "classifier"}
    assert "clip features: random weights" in out["weights_warning"]
    assert main(["emotion", str(video), "--checkpoint", ckpt]) == 0
    text = capsys.readouterr().out
    assert f"top: {out['top']}" in text and "audio (no audio stream)" in text and "\nwarning: not real weights" in text
    assert main(["emotion", str(video), "--checkpoint", str(cli_setup / "none.pt")]) == 1
    assert "none.pt not found" in capsys.readouterr().err


def test_soundtrack_without_flags_reads_the_video_and_names_every_weights(cli_setup, demo_videos, monkeypatch, capsys, tmp_path):
    """No flags: the best real source (here the estimator: the params' VEMOCLAP records no weights);
    --emotion-checkpoint runs that VEMOCLAP (V/A = the §6.1 mean of its probabilities) with the
    warning; flags override. The generator's weights are named too (a test checkpoint: unknown)."""
    import json

    from emsync.emotion import mapping as em
    from emsync.cli import main

    monkeypatch.setenv("EMSYNC_PARAMS", str(cli_setup / "params.yaml"))
    monkeypatch.setenv("EMSYNC_ROOT", str(cli_setup))
    video, music = demo_videos.path("demo01"), str(cli_setup / "music.pt")
    base = ["soundtrack", str(video), "--checkpoint", music, "-q", "--json"]
    assert main([*base, "-o", str(tmp_path / "o.mp4")]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["emotion_source"] == "estimator" and s["emotion_classifier"]["source"] == "estimator"
    assert [w["role"] for w in s["weights"]][0] == "music generator" and "music generator: unknown weights" in s["weights_warning"]
    assert main([*base, "-o", str(tmp_path / "c.mp4"), "--emotion-checkpoint", str(cli_setup / "emotion.pt")]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["emotion_source"] == "classifier" and s["emotion_classifier"]["source"] == "vemoclap"
    v, a = em.mixture_mean(s["emotion_classifier"]["probs"], 0.8)
    assert (s["valence"], s["arousal"]) == (round(v, 6), round(a, 6))
    assert "emotion classifier (VEMOCLAP): unknown weights" in s["weights_warning"]
    assert main([*base, "-o", str(tmp_path / "f.mp4"), "--valence", "0.5"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["emotion_source"] == "flags" and s["emotion_classifier"] is None and [w["role"] for w in s["weights"]] == ["music generator"]


def test_bench_classify_reports_each_step(cli_setup, demo_videos, capsys):
    import json

    from emsync.cli import main
    from tests._extractor_models import _ROOT

    assert main(["bench", "classify", "--videos", str(demo_videos.path("demo00")), "--models-dir", str(_ROOT)]) == 0
    r = json.loads(capsys.readouterr().out)
    steps = r["seconds_per_video_minute"]
    assert set(steps) == {"decode", "clip", "audio", "faces", "asr", "ocr", "sentiment", "classifier"}
    assert all(v > 0 for v in steps.values()) and 0 < r["classifier_share_of_total"] < 1
    assert r["features_s_per_minute"] == pytest.approx(sum(v for k, v in steps.items() if k != "classifier"), abs=1e-3)


def test_leakage_flag_masks_every_auditory_modality(demo_videos, tables):
    """§6.3.1 "we exclude auditory features": with the flag the audio embeddings and the speech text
    are masked (noise in them, or no table at all, changes nothing); without it they count."""
    from emsync.classify.features import AUDITORY, EXCLUDED_NOTE

    model = _model(tables)
    vid = next(v for v in sorted(tables) if demo_videos.ground_truth[v]["audio"] != "none")
    tabs, has_audio, _ = tables[vid]
    out = classify_tables(model, tabs, vid, "emotion", has_audio, exclude=AUDITORY)
    assert out["masked"]["audio"] == EXCLUDED_NOTE and out["masked"]["asr"] == EXCLUDED_NOTE
    rng = np.random.default_rng(1)
    noisy = dict(tabs, audio=tabs["audio"].assign(embedding=[rng.normal(size=len(e)) * 50 for e in tabs["audio"]["embedding"]]))
    assert classify_tables(model, noisy, vid, "emotion", has_audio, exclude=AUDITORY)["probs"] == out["probs"]
    gone = {k: v for k, v in tabs.items() if k != "audio"}  # the audio extractor need not run at all
    assert classify_tables(model, gone, vid, "emotion", has_audio, exclude=AUDITORY)["probs"] == out["probs"]
    assert classify_tables(model, noisy, vid, "emotion", has_audio)["probs"] != out["probs"]  # without the flag audio counts


def test_soundtrack_request_passes_the_leakage_flag_to_the_classifier(tmp_path, monkeypatch):
    from types import SimpleNamespace

    import emsync.classify.inference as inf
    from emsync.core.config import params_from_dict
    from emsync.soundtrack.emotion import choose_emotion
    from emsync.soundtrack.request import SoundtrackRequest

    ckpt = tmp_path / "emotion.pt"  # a VEMOCLAP given by path: the classifier branch runs (classify_video is replaced below)
    torch.manual_seed(0)
    save_classifier(
        ckpt, build("vemoclap", {"dims": {"clip": 8, "audio": 8, "faces": 128, "asr": 4, "ocr": 4}, "d_model": 8, "n_heads": 2}), "vemoclap"
    )
    seen = []

    def fake(params, video, task, checkpoint=None, device="cpu", info=None, exclude_audio=False):
        seen.append(exclude_audio)
        return {"checkpoint": str(checkpoint), "probs": {"joy": 1.0}, "top": "joy", "masked": {}, "excluded": [], "seconds": {}}

    monkeypatch.setattr(inf, "classify_video", fake)
    params = params_from_dict({"classify": {"emotion_checkpoint": str(ckpt)}})
    video = SimpleNamespace(info=None, boundaries=[], duration=10.0)
    for flag in (True, False):
        e = choose_emotion(params, SoundtrackRequest("v.mp4", "o.mp4", exclude_audio_features=flag, emotion_checkpoint=ckpt), video)
        assert e.source == "classifier"
    assert seen == [True, False]


def test_shared_extractors_load_each_model_once_for_concurrent_videos(demo_videos, tables, monkeypatch):
    """The soundtrack stage classifies its videos in concurrent tasks inside `shared_extractors()`:
    each extractor loads once (not once per video) and gives the tables a handle of its own gives;
    outside the block every call loads again."""
    import dataclasses
    from concurrent.futures import ThreadPoolExecutor

    from emsync.classify.inference import shared_extractors
    from tests._extractor_models import _ROOT

    names = EXTRACTORS["emotion"]
    for name in names:
        handle(name)  # builds the tiny models on disk
    loads = dict.fromkeys(names, 0)
    for name in names:
        mod = extractors.get(name)

        def counted(ref, device="cpu", _load=mod.load, _name=name):
            loads[_name] += 1
            return _load(ref, device)

        monkeypatch.setattr(mod, "load", counted)
    p = Params()
    p = dataclasses.replace(p, features=dataclasses.replace(p.features, models=extractors.demo_models(_ROOT)))
    vids = sorted(demo_videos.ground_truth)[:3]
    with shared_extractors(), ThreadPoolExecutor(3) as pool:
        out = list(pool.map(lambda v: extract_tables(p, demo_videos.path(v), "emotion"), vids))
    assert loads == dict.fromkeys(names, 1)
    for vid, (tabs, has_audio, _) in zip(vids, out):
        assert has_audio == tables[vid][1]
        for name in names:
            pd.testing.assert_frame_equal(tabs[name], tables[vid][0][name], obj=f"{vid}/{name}")
    extract_tables(p, demo_videos.path(vids[0]), "emotion")
    assert loads == dict.fromkeys(names, 2)
