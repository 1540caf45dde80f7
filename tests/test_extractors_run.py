"""Every extractor on hand-made VideoSamples: schema, row counts, shapes, and behaviour a user
would notice (a real face found and averaged, rendered text read back, silence handled)."""

import cv2
import numpy as np
import pytest
from skimage import data as skdata

from _extractor_models import handle, model_dir
from emsync.core.errors import InputError
from emsync.video import extractors
from emsync.video.sampling import VideoSample

SR = 16000


def make_sample(frames, duration=6.0, audio="sine", video_id="v1"):
    frames = np.stack(frames).astype(np.uint8)  # (n, H, W, 3)
    times = (np.arange(len(frames)) + 0.5) * duration / len(frames)
    wav = None
    if audio == "sine":
        t = np.arange(int(duration * SR)) / SR
        wav = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return VideoSample(video_id, f"/nowhere/{video_id}.mp4", duration, 25.0, times, frames, wav, SR)


def blank(h=240, w=320, value=40):
    return np.full((h, w, 3), value, np.uint8)


def face_frame():
    return skdata.astronaut()  # a real photographed face (skimage data), 512 x 512


def text_frame(text="Hello World 2024"):
    img = np.full((240, 480, 3), 255, np.uint8)
    cv2.putText(img, text, (20, 130), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (0, 0, 0), 3, cv2.LINE_AA)
    return img


def check_schema(name, df, h=None):
    mod = extractors.get(name)
    assert list(df.columns) == mod.COLUMNS
    assert (df["video_id"] == "v1").all()
    if len(df):
        assert set(df["model_id"]) == {(h or handle(name)).model_id} and df["model_version"].str.len().min() > 0


def test_registry_contract():
    for name, mod in extractors.REGISTRY.items():
        assert mod.NAME == name
        assert mod.COLUMNS[0] == "video_id" and mod.COLUMNS[-2:] == ["model_id", "model_version"]
        assert callable(mod.load) and callable(mod.extract) and mod.DEFAULT_MODEL
        assert set(mod.DEPENDS) <= set(extractors.REGISTRY)
    with pytest.raises(InputError, match="unknown extractor 'nope'"):
        extractors.get("nope")
    assert extractors.model_ref("ocr", {}) == extractors.get("ocr").DEFAULT_MODEL
    assert extractors.merge_refs({"a": "x", "b": "y"}, "z") == {"a": "z", "b": "y"}
    with pytest.raises(InputError, match="unknown model role"):
        extractors.merge_refs({"a": "x"}, {"c": "q"})


def test_clip_one_512d_vector_per_frame():
    s = make_sample([face_frame(), blank(512, 512), face_frame()])
    df = extractors.get("clip").extract(handle("clip"), s)
    check_schema("clip", df)
    emb = np.stack(df["embedding"])
    assert emb.shape == (3, 512) and emb.dtype == np.float32
    np.testing.assert_allclose(df["t"], s.frame_times)
    np.testing.assert_allclose(emb[0], emb[2], atol=1e-5)  # same frame, same vector
    assert np.abs(emb[0] - emb[1]).max() > 1e-3


def test_audio_chunks_match_frames_and_silence_is_not_skipped():
    frames = [blank()] * 4
    df = extractors.get("audio").extract(handle("audio"), make_sample(frames))
    check_schema("audio", df)
    assert np.stack(df["embedding"]).shape == (4, 128)
    silent = extractors.get("audio").extract(handle("audio"), make_sample(frames, audio=None))
    emb = np.stack(silent["embedding"])
    assert emb.shape == (4, 128) and np.allclose(emb, emb[0])  # no audio stream -> silence, n rows
    assert not np.allclose(np.stack(df["embedding"])[1], emb[0])


def test_music_consecutive_22s_chunks():
    df = extractors.get("music").extract(handle("music"), make_sample([blank()] * 2, duration=50.0))
    check_schema("music", df)
    assert list(df["chunk"]) == [0, 1, 2] and np.allclose(df["t"], [11.0, 33.0, 55.0])
    assert np.stack(df["embedding"]).shape == (3, 64)
    short = extractors.get("music").extract(handle("music"), make_sample([blank()], duration=5.0, audio=None))
    assert len(short) == 1


def test_faces_only_frames_with_faces_and_two_largest_averaged():
    """§5.2.2.1: frames without faces give no row; two faces -> mean of the two classifier features."""
    h = handle("faces")
    faces = extractors.get("faces")
    one = face_frame()
    two = np.zeros((512, 672, 3), np.uint8)
    two[:, :512] = one
    two[100:220, 532:652] = cv2.resize(one[40:200, 140:300], (120, 120))  # a second, smaller head
    one_wide = np.zeros_like(two)
    one_wide[:, :512] = one
    df = faces.extract(h, make_sample([blank(512, 672), two, one_wide]))
    check_schema("faces", df)
    assert list(df["t"]) == pytest.approx([3.0, 5.0])  # the blank frame gives no row
    assert list(df["n_faces"]) == [2, 1]
    assert set(df["expression"]) <= set(faces.labels(h))
    boxes = faces.detect(h, two)
    assert boxes[0][0] < 512 <= boxes[1][0]  # largest first: the big face, then the small one
    feats, _ = faces.classify(h, [faces.crop(two, b) for b in boxes[:2]])
    np.testing.assert_allclose(df["embedding"].iloc[0], feats.mean(0), atol=1e-5)
    single, _ = faces.classify(h, [faces.crop(one_wide, faces.detect(h, one_wide)[0])])
    np.testing.assert_allclose(df["embedding"].iloc[1], single[0], atol=1e-5)
    assert len(df["embedding"].iloc[0]) == faces.width(h) == 128  # the demo set's FER-2013 mini-Xception


def test_ocr_reads_rendered_text_with_the_real_ppocr_model():
    df = extractors.get("ocr").extract(handle("ocr"), make_sample([text_frame(), blank(240, 480, 255)]))
    check_schema("ocr", df)
    assert len(df) == 2
    assert "Hello World 2024" in df["raw_text"].iloc[0]
    assert df["text"].iloc[1] == "" and df["steps"].iloc[1] == "ocr"
    assert df["steps"].iloc[0].startswith("ocr,langid=") and "spell:skipped(no model)" in df["steps"].iloc[0]


def test_ocr_postprocessing_segments_english_and_records_missing_translation():
    h, ocr = handle("ocr"), extractors.get("ocr")
    assert ocr.segment(h, "MyHolidays2013") == "My Holidays 2013"
    assert ocr.segment(h, "thequickbrownfox JPEG") == "the quick brown fox JPEG"
    lang, text, steps = ocr.postprocess(h, "Die Katze schläft auf dem warmen Sofa und träumt von Mäusen")
    assert lang == "de" and text.startswith("Die Katze") and steps[-1] == "translate:skipped(no model)"
    assert ocr.postprocess(h, "") == (None, "", [])


def test_asr_one_row_per_video_and_no_audio_is_empty_text():
    asr = extractors.get("asr")
    df = asr.extract(handle("asr"), make_sample([blank()], duration=3.0))
    check_schema("asr", df)
    assert len(df) == 1 and isinstance(df["text"].iloc[0], str) and df["language"].iloc[0] is not None
    none = asr.extract(handle("asr"), make_sample([blank()], audio=None))
    assert none["text"].iloc[0] == "" and none["language"].iloc[0] is None and none["n_segments"].iloc[0] == 0


def _upstream(asr_text, ocr_texts):
    import pandas as pd

    return {
        "asr": pd.DataFrame({"video_id": "v1", "text": [asr_text]}),
        "ocr": pd.DataFrame({"video_id": "v1", "t": np.arange(len(ocr_texts), dtype=float), "text": ocr_texts}),
    }


def test_sentiment_one_vector_per_text_source():
    h = extractors.get("sentiment").load(str(model_dir("sentiment")))  # the RoBERTa path (the demo set uses VADER)
    up = _upstream("what a wonderful day", ["Coming soon", "Coming soon", "", "In theatres"])
    df = extractors.get("sentiment").extract(h, make_sample([blank()]), up)
    check_schema("sentiment", df, h)
    assert list(df["source"]) == ["asr", "ocr"]
    assert df["text"].iloc[1] == "Coming soon In theatres"  # repeated frames once, empties dropped
    assert np.stack(df["embedding"]).shape == (2, h["sentiment"].model.config.hidden_size)
    with pytest.raises(ValueError, match="the ocr table is needed"):
        extractors.get("sentiment").extract(h, make_sample([blank()]), {"asr": up["asr"]})


def test_sentiment_accepts_the_vader_lexicon():
    h = extractors.get("sentiment").load("pkg:vader")
    df = extractors.get("sentiment").extract(
        h, make_sample([blank()]), _upstream("I love this, it is wonderful", ["terrible awful disaster"])
    )
    assert list(df["label"]) == ["positive", "negative"] and np.stack(df["embedding"]).shape == (2, 4)


def test_tokens_one_row_per_token():
    h = handle("tokens")
    df = extractors.get("tokens").extract(h, make_sample([blank()]), _upstream("hello world", ["summer film"]))
    check_schema("tokens", df)
    for source in ("asr", "ocr"):
        part = df[df["source"] == source]
        assert list(part["chunk"]) == list(range(len(part)))
        assert part["token"].iloc[0] == "[CLS]" and part["token"].iloc[-1] == "[SEP]"
    assert np.stack(df["embedding"]).shape[1] == h["encoder"].model.config.dim


def test_tables_round_trip_through_parquet(tmp_path):
    import pandas as pd

    df = extractors.get("clip").extract(handle("clip"), make_sample([blank()] * 2))
    df.to_parquet(tmp_path / "t.parquet", index=False)
    back = pd.read_parquet(tmp_path / "t.parquet")
    assert list(back.columns) == list(df.columns)
    np.testing.assert_array_equal(np.stack(back["embedding"]), np.stack(df["embedding"]))
