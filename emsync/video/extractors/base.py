"""Shared pieces of the extractors: the loaded-model handle, ref merging, table helpers."""

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from emsync.core.errors import InputError


@dataclass
class Handle:
    """What `load` returns: the loaded models by role, plus their ids/versions for the table."""

    models: dict  # role -> emsync.video.loading.Pretrained (or None where a role is disabled)
    device: str = "cpu"
    options: dict = field(default_factory=dict)  # extractor-specific run options (batch size, decoding...)

    @property
    def model_id(self) -> str:
        return _join({r: (m.ref if m is not None else "none") for r, m in self.models.items()})

    @property
    def model_version(self) -> str:
        return _join({r: (m.version if m is not None else "") for r, m in self.models.items()})

    def __getitem__(self, role) -> Any:
        return self.models[role]


def _join(d: dict) -> str:
    return next(iter(d.values())) if len(d) == 1 else ";".join(f"{k}={v}" for k, v in d.items())


def merge_refs(default: dict, ref) -> dict:
    """{role: ref}: a str replaces the first (main) role; a mapping overrides the roles it names."""
    out = dict(default)
    if isinstance(ref, str):
        out[next(iter(default))] = ref
    elif isinstance(ref, dict):
        unknown = set(ref) - set(default)
        if unknown:
            raise InputError(f"unknown model role(s) {sorted(unknown)} (known: {', '.join(default)})")
        out.update(ref)
    else:
        raise InputError(f"model reference must be a string or a mapping, got {ref!r}")
    return out


def frame(rows: list[dict], columns: list[str]) -> pd.DataFrame:
    """A DataFrame with exactly `columns` (also when there are no rows)."""
    return pd.DataFrame(rows, columns=columns) if rows else pd.DataFrame({c: pd.Series(dtype=object) for c in columns})


def vectors(x) -> list:
    """(n, d) array -> n float32 arrays (stored as list<float32>)."""
    return [np.asarray(v, dtype=np.float32) for v in np.asarray(x, dtype=np.float32)]


def penultimate(model, **inputs):
    """Activations entering the model's final linear layer (thesis §5.2.1: the layer just
    before the classification layer) and the model's logits."""
    import torch

    last = [m for m in model.modules() if isinstance(m, torch.nn.Linear)][-1]
    seen = {}

    def grab(mod, args, out):  # returns None so the layer's output is left untouched
        seen["x"] = args[0]

    hook = last.register_forward_hook(grab)
    try:
        with torch.inference_mode():
            out = model(**inputs)
    finally:
        hook.remove()
    return seen["x"].float(), out.logits.float()


def video_texts(upstream: dict | None) -> dict:
    """{"asr": text, "ocr": text} for one video from the asr / ocr tables (§5.2.2.1: the ASR text is
    one block; the per-frame OCR texts are concatenated, repeated consecutive frames once)."""
    upstream = upstream or {}
    out = {}
    for source in ("asr", "ocr"):
        df = upstream.get(source)
        if df is None:
            raise ValueError(f"the {source} table is needed first (run the {source} extractor)")
        texts = [str(x).strip() for x in (df.sort_values("t")["text"] if "t" in df else df["text"]) if x is not None]
        kept = [x for i, x in enumerate(texts) if x and (i == 0 or x != texts[i - 1])]
        out[source] = " ".join(kept)
    return out
