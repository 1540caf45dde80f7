"""Tiny offline models: seeded (same seed -> same bytes), hub layout, loadable by load_pretrained."""

import json

import numpy as np
import pytest

from emsync.video.loading import dir_version, load_pretrained
from emsync.video.tiny_models import BUILDERS, build


@pytest.mark.parametrize("name", ["audio", "music", "beats", "face_expression", "vit", "ast", "sentiment", "distilbert", "vggish"])
def test_build_is_seeded(tmp_path, name):
    a, b, c = build(name, tmp_path / "a", seed=0), build(name, tmp_path / "b", seed=0), build(name, tmp_path / "c", seed=1)
    assert dir_version(a) == dir_version(b) != dir_version(c)
    assert not [p for p in (tmp_path / "a").iterdir() if p.name.startswith(".")]  # no temp folder left


def test_audio_taggers_have_the_thesis_output_sizes(tmp_path):
    """§5.2.1: Audiotag 527 labels / 128-d on 3 s; Music 50 tags / 64-d on 22 s."""
    for name, (d, n, secs) in {"audio": (128, 527, 3.0), "music": (64, 50, 22.0)}.items():
        cfg = json.loads((build(name, tmp_path) / "config.json").read_text())
        assert (cfg["d_embed"], cfg["n_classes"], cfg["chunk_s"]) == (d, n, secs)


def test_whisper_keeps_the_multilingual_token_layout(tmp_path):
    out = build("whisper", tmp_path)
    vocab = json.loads((out / "vocabulary.json").read_text())
    assert len(vocab) == 51866
    assert [vocab.index(t) for t in ("<|endoftext|>", "<|startoftranscript|>", "<|en|>", "<|translate|>", "<|0.00|>")] == [
        50257,
        50258,
        50259,
        50359,
        50365,
    ]
    m = load_pretrained(str(out), "whisper")
    segments, info = m.model.transcribe(np.zeros(16000, np.float32), task="translate", temperature=0.0, max_new_tokens=4, beam_size=1)
    assert all(isinstance(s.text, str) for s in segments)


def test_asr_decodes_random_weights_greedy_and_short(tmp_path):
    """§5.2.1's decoding (beam 5, 224 tokens, fallback temperatures) for real weights only: the
    random demo Whisper would spend it decoding noise."""
    from emsync.video.extractors import asr

    out = build("whisper", tmp_path)
    assert asr.load(str(out)).options == dict(asr.OPTIONS, beam_size=1, temperature=0.0, max_new_tokens=8)
    marker = out / "emsync_weights.json"
    marker.write_text(json.dumps(dict(json.loads(marker.read_text()), kind="real")))
    assert asr.load(str(out)).options == {"task": "translate", "beam_size": 5, "max_new_tokens": 224, "condition_on_previous_text": False}


def test_every_builder_is_registered():
    assert set(BUILDERS) == {
        "clip",
        "audio",
        "music",
        "beats",
        "face_expression",
        "vit",
        "ast",
        "sentiment",
        "distilbert",
        "whisper",
        "vggish",
    }
