"""Pretrained-model feature extractors, one file each (thesis §5.2.1, Fig. 5.1, Fig. 5.3).

Every extractor module exposes
- `NAME`: its registry key and the table name (`data/features/<NAME>/<video_id>.parquet`);
- `COLUMNS`: the fixed output schema, `video_id` first, `model_id` and `model_version` last;
- `DEFAULT_MODEL`: the thesis's model (hub id) — a str, or {role: ref} when it chains several
  models (faces: detector + classifier; ocr: OCR + language id + segmenter + spell + translation);
- `DEPENDS`: extractors whose tables it reads (the text extractors read `asr` and `ocr`);
- `load(model_ref, device) -> handle` where model_ref is a str (single-model extractors, or the
  main role) or a partial {role: ref} mapping merged over DEFAULT_MODEL; every model goes through
  `emsync.video.loading.load_pretrained` (hub id, local dir or pkg:<name>);
- `extract(handle, sample, upstream=None) -> pandas.DataFrame` with exactly `COLUMNS`, where
  `sample` is an `emsync.video.sampling.VideoSample` and `upstream` maps DEPENDS names to their
  tables for this video.

Vectors are stored as list<float32> in the `embedding` column.
"""

import importlib
import json
import threading
from collections.abc import Mapping

from emsync.core.errors import InputError
from emsync.video.extractors.base import Handle, frame, merge_refs, penultimate, vectors  # noqa: F401

_MODULES = {
    "clip": "clip",
    "audio": "audio",
    "beats": "beats",
    "vit": "vit",
    "ast": "ast",
    "music": "music",
    "faces": "faces",
    "asr": "asr",
    "ocr": "ocr",
    "sentiment": "sentiment",
    "tokens": "tokens",
}


class _Registry(Mapping):
    """{name: extractor module}, each module imported on first use: a features stage that runs one
    extractor imports (and, in dvc.yaml, depends on) that extractor's code only."""

    def __getitem__(self, name):
        return importlib.import_module(f"{__name__}.{_MODULES[name]}")

    def __iter__(self):
        return iter(_MODULES)

    def __len__(self):
        return len(_MODULES)


REGISTRY = _Registry()


def get(name: str):
    """The extractor module registered as `name`."""
    try:
        return REGISTRY[name]
    except KeyError:
        raise InputError(f"unknown extractor '{name}' (known: {', '.join(REGISTRY)})") from None


class LoadedHandles:
    """Extractors loaded once and shared by the threads of one process (the features stage's tasks,
    the soundtrack stage's videos): `get` returns (handle, lock); hold the lock while calling into
    the handle, since not every model is thread-safe (OpenCV's CascadeClassifier segfaults when
    shared by threads). Two threads asking for the same model load it once."""

    def __init__(self):
        self._entries: dict = {}  # (extractor, model ref, device) -> [handle or None, lock]
        self._guard = threading.Lock()

    def __reduce__(self):  # a copy in another process (a Dask worker's) starts empty: models do not travel
        return (LoadedHandles, ())

    def get(self, mod, name: str, ref, device: str) -> tuple:
        key = (name, json.dumps(ref, sort_keys=True, default=str), device)  # refs may be {role: ref} mappings
        with self._guard:
            entry = self._entries.setdefault(key, [None, threading.Lock()])
        with entry[1]:
            if entry[0] is None:
                entry[0] = mod.load(ref, device)
        return entry[0], entry[1]


def model_ref(name: str, models: dict | None):
    """The model reference for extractor `name` from a params `features.models` mapping
    (missing -> the extractor's DEFAULT_MODEL, the thesis's model)."""
    ref = (models or {}).get(name)
    return get(name).DEFAULT_MODEL if ref is None else ref


def demo_models(models_dir="data/demo_models") -> dict:
    """{extractor: demo model ref} with the demo folder prefix replaced by `models_dir`
    (the demo params' `features.models`, built by `python -m flows.demo_models`)."""

    def swap(ref):
        return str(models_dir) + ref[len("data/demo_models") :] if ref.startswith("data/demo_models") else ref

    out = {}
    for name, mod in REGISTRY.items():
        ref = mod.DEMO_MODEL
        out[name] = {k: swap(v) for k, v in ref.items()} if isinstance(ref, dict) else swap(ref)
    return out
