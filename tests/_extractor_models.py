"""Tiny offline models for the extractor tests, built once per test process (lazily, per model)."""

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

_ROOT = Path(tempfile.mkdtemp(prefix="emsync-tiny-models-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)


@functools.lru_cache(maxsize=None)
def model_dir(name: str) -> Path:
    from emsync.video.tiny_models import build

    return build(name, _ROOT, seed=0)


_NEEDS = {
    "clip": ["clip"],
    "audio": ["audio"],
    "beats": ["beats"],
    "vit": ["vit"],
    "ast": ["ast"],
    "music": ["music"],
    "faces": [],  # pkg:fer + pkg:mtcnn
    "asr": ["whisper"],
    "ocr": [],
    "sentiment": [],  # pkg:vader
    "tokens": ["distilbert"],
}


@functools.lru_cache(maxsize=None)
def handle(name: str):
    """The extractor `name` loaded with its demo models (tiny ones built here, pkg: ones as shipped)."""
    from emsync.video import extractors

    for m in _NEEDS[name]:
        model_dir(m)
    return extractors.get(name).load(extractors.demo_models(_ROOT)[name], "cpu")
