"""Feature tables of one video -> classifier inputs (thesis §5.2.2.1, §5.2.3.1).

Modality sources (extractor table under `data/features/<extractor>/<video_id>.parquet`):

| task | modality | table | kind |
|---|---|---|---|
| emotion | clip | clip | one vector per sampled frame |
| emotion | audio or beats | audio / beats | one vector per 3 s window (thesis set: BEATs, 768-d; demo: the 128-d tagger) |
| emotion | faces | faces | one vector per frame with a face; faceless frames masked |
| emotion | asr, ocr | sentiment (source asr / ocr) | one vector; masked when the text is empty |
| genre | clip, audio, music | clip, audio, music | sequences |
| genre | asr, ocr | tokens (source asr / ocr) | DistilBERT token vectors; masked when the text is empty |
| baseline | vit, ast | vit, ast | ViT vector per frame, AST vector per 10 s chunk (the ViT + AST baseline, §5.2.3.2) |

Which modalities a classifier reads is a list of names (`classify.emotion_inputs`; the genre models
read `DEFAULT_INPUTS["genre"]`): a sequential extractor reads its own table, `asr` / `ocr` read the
task's text table. A trained model's inputs are the keys of its `cfg.dims`.

A missing table raises `MissingFeatures` (a recorded skip for the caller, never a crash of the
stage); an empty modality (no audio stream, no face, no words) is a masked one.
"""

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from emsync.core.errors import InputError

SEQUENTIAL = ("clip", "audio", "beats", "music", "faces", "vit", "ast")  # extractor tables with one vector per step
TEXT_TABLE = {"emotion": "sentiment", "genre": "tokens"}  # the table holding the asr / ocr vectors
# "baseline": the ViT + AST genre baseline (§5.2.3.2) reads the frozen ViT / AST tables only
DEFAULT_INPUTS = {
    "emotion": ("clip", "audio", "faces", "asr", "ocr"),
    "genre": ("clip", "audio", "music", "asr", "ocr"),
    "baseline": ("vit", "ast"),
}
THESIS_INPUTS = {
    "emotion": ("clip", "beats", "faces", "asr", "ocr"),
    "genre": ("clip", "audio", "music", "asr", "ocr"),
    "baseline": ("vit", "ast"),
}  # §5.2.2.1, §5.2.3.1, §5.2.3.2


def sources(task: str, inputs=None) -> dict:
    """{modality: (table, source filter or None)} for a list of input names (default: the demo set's)."""
    out = {}
    for m in DEFAULT_INPUTS[task] if inputs is None else inputs:
        if m in ("asr", "ocr"):
            out[m] = (TEXT_TABLE[task], m)
        elif m in SEQUENTIAL:
            out[m] = (m, None)
        else:
            raise InputError(f"{task} classifier input {m!r}: choose from {', '.join(SEQUENTIAL + ('asr', 'ocr'))}")
    return out


SOURCES = {task: sources(task) for task in DEFAULT_INPUTS}  # the demo set's inputs
SINGULAR = {"emotion": ("asr", "ocr"), "genre": (), "baseline": ()}


class MissingFeatures(InputError):
    """A feature table the classifier needs does not exist for this video."""


@dataclass
class VideoFeatures:
    video_id: str
    x: dict  # modality -> (T, D) float32, or (D,) for singular modalities
    valid: dict  # modality -> (T,) bool, or () bool
    notes: dict = field(default_factory=dict)  # modality -> why it is (partly) masked


def tables_for(task: str, inputs=None) -> list:
    return sorted({t for t, _ in sources(task, inputs).values()})


def read_tables(features_dir, video_id: str, task: str, inputs=None) -> dict:
    """{table name: DataFrame} for one video; MissingFeatures names the first absent table."""
    out = {}
    for name in tables_for(task, inputs):
        p = Path(features_dir) / name / f"{video_id}.parquet"
        if not p.exists():
            raise MissingFeatures(f"video {video_id}: feature table {name} is missing ({p})")
        out[name] = pd.read_parquet(p)
    return out


def _stack(vectors, dim: int) -> np.ndarray:
    rows = [np.asarray(v, dtype=np.float32) for v in vectors]
    return np.stack(rows) if rows else np.zeros((0, dim), np.float32)


AUDIO_MODALITIES = ("audio", "beats", "music", "ast")
AUDITORY = AUDIO_MODALITIES + ("asr",)  # every modality computed from the audio track (speech text included)
EXCLUDED_NOTE = "excluded: auditory feature (§6.3.1 leakage control)"


def video_features(tables: dict, video_id: str, task: str, dims: dict, has_audio: bool = True, exclude=()) -> VideoFeatures:
    """Classifier inputs of one video from its tables (see the module table); `dims` gives each
    modality's width (needed when a modality has no row at all) and, by its keys, the inputs read.
    The audio extractors encode a missing audio stream as silence to keep their row count;
    `has_audio=False` masks them instead. Modalities in `exclude` are masked whatever their tables
    hold (their tables need not exist): §6.3.1's "we exclude auditory features" is `exclude=AUDITORY`."""
    x, valid, notes = {}, {}, {}
    for m in exclude:
        if m in dims:
            singular = m in SINGULAR[task]
            x[m] = np.zeros(dims[m] if singular else (0, dims[m]), np.float32)
            valid[m], notes[m] = (np.array(False) if singular else np.zeros(0, bool)), EXCLUDED_NOTE
    for m, (table, source) in sources(task, list(dims)).items():
        if m in x:
            continue
        df = tables[table]
        if source is not None:
            df = df[df["source"] == source]
        order = "t" if "t" in df else ("chunk" if "chunk" in df else None)
        if order is not None and len(df):
            df = df.sort_values(order, kind="stable")
        d = dims[m]
        if m in SINGULAR[task]:
            texts = df["text"].fillna("").astype(str).str.strip() if "text" in df else pd.Series([], dtype=str)
            ok = len(df) > 0 and bool(texts.iloc[0])
            x[m] = np.asarray(df["embedding"].iloc[0], np.float32) if ok else np.zeros(d, np.float32)
            valid[m] = np.array(ok)
            if not ok:
                notes[m] = "no text"
            continue
        if table == "faces":
            has = (df["n_faces"].fillna(0) > 0).to_numpy() if len(df) else np.zeros(0, bool)
            vecs = [v if h else np.zeros(d, np.float32) for v, h in zip(df["embedding"], has)]
            x[m], valid[m] = _stack(vecs, d), has.astype(bool)
            if not has.any():
                notes[m] = "no face"
            continue
        if table == "tokens":
            text_ok = len(df) > 0 and not set(df["token"]) <= {"[CLS]", "[SEP]", "[PAD]"}
            x[m] = _stack(list(df["embedding"]), d) if text_ok else np.zeros((0, d), np.float32)
            valid[m] = np.ones(len(x[m]), bool)
            if not text_ok:
                notes[m] = "no text"
            continue
        x[m] = _stack(list(df["embedding"]), d)
        valid[m] = np.full(len(x[m]), has_audio or m not in AUDIO_MODALITIES)
        if m in AUDIO_MODALITIES and not has_audio:
            notes[m] = "no audio stream"
        elif not len(x[m]):
            notes[m] = "no rows (no audio stream?)" if m in AUDIO_MODALITIES else "no rows"
    for m, a in x.items():
        if a.shape[-1] != dims[m]:
            raise InputError(f"video {video_id}: {m} vectors are {a.shape[-1]}-d, the classifier expects {dims[m]}")
    return VideoFeatures(video_id, x, valid, notes)


def infer_dims(features_dir, video_ids, task: str, inputs=None) -> dict:
    """Each modality's vector width, read from the first table that has a row of it."""
    srcs = sources(task, inputs)
    dims = {}
    for vid in video_ids:
        try:
            tables = read_tables(features_dir, vid, task, inputs)
        except MissingFeatures:
            continue
        for m, (table, source) in srcs.items():
            df = tables[table]
            if source is not None:
                df = df[df["source"] == source]
            if m not in dims and len(df) and df["embedding"].iloc[0] is not None:
                dims[m] = int(len(df["embedding"].iloc[0]))
        if len(dims) == len(srcs):
            break
    return dims


def select_steps(n: int, k: int, rng: np.random.Generator | None) -> np.ndarray:
    """Indices of k of n steps: random sorted positions (training, rng given) or equidistant
    (test; §5.2.2.3). All steps when n <= k."""
    if n <= k:
        return np.arange(n)
    if rng is not None:
        return np.sort(rng.choice(n, size=k, replace=False))
    return np.unique(np.linspace(0, n - 1, k).round().astype(int))


def crop(vf: VideoFeatures, max_len: dict | int | None, rng: np.random.Generator | None = None) -> VideoFeatures:
    """Limit each sequence to max_len steps (an int for all, or per modality; None = full length).
    Sequences of one length share their picks: a frame and the audio chunk centred on it (one per
    sampled frame, §5.2.2.1) stay together."""
    if max_len is None:
        return vf
    x, valid, picks = dict(vf.x), dict(vf.valid), {}
    for m, a in vf.x.items():
        k = max_len if isinstance(max_len, int) else max_len.get(m)
        if a.ndim == 2 and k is not None and len(a) > k:
            idx = picks.setdefault((len(a), k), select_steps(len(a), k, rng))
            x[m], valid[m] = a[idx], vf.valid[m][idx]
    return VideoFeatures(vf.video_id, x, valid, vf.notes)


def collate(items: list, dims: dict) -> tuple:
    """Pad a list of VideoFeatures into ({m: (B, T, D) or (B, D)}, {m: (B, T) or (B,) bool})."""
    x, mask = {}, {}
    for m, d in dims.items():
        if items[0].x[m].ndim == 1:
            x[m] = torch.from_numpy(np.stack([it.x[m] for it in items]))
            mask[m] = torch.from_numpy(np.stack([it.valid[m] for it in items]).astype(bool))
            continue
        T = max(1, max(len(it.x[m]) for it in items))
        xb = np.zeros((len(items), T, d), np.float32)
        mb = np.zeros((len(items), T), bool)
        for i, it in enumerate(items):
            n = len(it.x[m])
            xb[i, :n], mb[i, :n] = it.x[m], it.valid[m]
        x[m], mask[m] = torch.from_numpy(xb), torch.from_numpy(mb)
    return x, mask


def minmax_stats(items: list) -> dict:
    """{modality: {"min", "max"}} over the valid values of the training videos (§5.2.2.2)."""
    lo, hi = {}, {}
    for it in items:
        for m, a in it.x.items():
            v = a[it.valid[m]] if a.ndim == 2 else (a[None] if bool(it.valid[m]) else a[:0][None][:0])
            if v.size:
                lo[m] = min(lo.get(m, np.inf), float(v.min()))
                hi[m] = max(hi.get(m, -np.inf), float(v.max()))
    return {m: {"min": lo[m], "max": hi[m]} for m in lo}
