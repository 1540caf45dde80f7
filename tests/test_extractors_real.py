"""The real clips in ../shared/data/video and ../shared/data/ekman6 run through
every extractor; the text-overlay clip's words are read by the real PP-OCRv4 model."""

import re

import numpy as np
import pytest

from _extractor_models import handle
from emsync.video import extractors
from emsync.video.sampling import sample_video

pytestmark = pytest.mark.shared_data
N = 3  # frames per clip here (the pipeline uses 16); keeps the real-data pass short
CLIPS = [
    "video/sintel_5s.mp4",
    "video/chaplin.mp4",
    "video/testpattern_text_overlay.mp4",
    "ekman6/joy.mp4",
    "ekman6/fear.mp4",
    "ekman6/sadness.mp4",
    "ekman6/disgust.mp4",
    "ekman6/sample.mp4",
]
# embedding width per extractor with the demo models (thesis models: 512, 768, -, 768, 768, 768)
DIMS = {"clip": 512, "audio": 128, "music": 64}


@pytest.fixture(scope="module")
def tables(shared_data):
    out = {}
    for rel in CLIPS:
        sample = sample_video(shared_data / rel, N, video_id=rel.replace("/", "_")[:-4])
        t = {}
        for name, mod in extractors.REGISTRY.items():  # registry order puts asr/ocr before the text extractors
            t[name] = mod.extract(handle(name), sample, {d: t[d] for d in mod.DEPENDS})
        out[rel] = (sample, t)
    return out


@pytest.mark.parametrize("rel", CLIPS)
def test_every_extractor_on_a_real_clip(tables, rel):
    sample, t = tables[rel]
    assert sample.frames.shape[0] == N
    for name, df in t.items():
        assert list(df.columns) == extractors.get(name).COLUMNS, name
        assert (df["video_id"] == sample.video_id).all(), name
    for name, d in DIMS.items():
        emb = np.stack(t[name]["embedding"])
        assert emb.shape[1] == d and np.isfinite(emb).all(), name
    assert len(t["clip"]) == len(t["audio"]) == len(t["ocr"]) == N
    assert len(t["music"]) == max(1, int(np.ceil(sample.duration / 22.0 - 1e-9)))
    assert 0 <= len(t["faces"]) <= N and (t["faces"]["n_faces"] >= 1).all()
    assert len(t["asr"]) == 1 and list(t["sentiment"]["source"]) == ["asr", "ocr"]
    assert set(t["tokens"]["source"]) == {"asr", "ocr"}


def test_faces_found_in_clips_with_people(tables):
    """The ekman6 clips show people: OpenCV's real cascade must find faces in most of them."""
    with_faces = [rel for rel in CLIPS if rel.startswith("ekman6") and len(tables[rel][1]["faces"])]
    assert len(with_faces) >= 3, with_faces
    assert len(tables["video/testpattern_text_overlay.mp4"][1]["faces"]) == 0  # colour bars: no face


def test_ocr_reads_the_overlay_of_the_text_clip(shared_data):
    """testpattern_text_overlay.mp4 burns in "My Holidays 2013", partly covered by a running timecode
    box and circles. Over the thesis's 16 frames the real PP-OCRv4 + SymSpell pipeline must recover
    each overlaid word, and the clean caption "1024 x 768 25 fps Photo JPEG 75%"."""
    sample = sample_video(shared_data / "video/testpattern_text_overlay.mp4", 16)
    df = extractors.get("ocr").extract(handle("ocr"), sample)
    assert len(df) == 16
    text = " ".join(df["text"]).lower()
    words = set(re.findall(r"[a-z]+|\d+", text))
    assert {"my", "holiday"} <= words or {"my", "holidays"} <= words, text
    assert "2013" in text, text
    assert "photo" in words and "768" in words, text


def test_ocr_finds_the_captions_of_the_tv_clip(tables):
    text = " ".join(tables["ekman6/sample.mp4"][1]["ocr"]["raw_text"]).lower()
    assert "inside" in text and "edition" in text, text
