"""Dataset adapters: Ekman-6 (§5.2.2.1), MovieNet trailers (§5.2.3.1, §5.2.3.3) and the demo videos.

Each adapter returns one table keyed by `video_id` with the labels and the split, so the training
tasks never see a dataset's own layout.

- **Ekman-6**: a copy of the release laid out as `<root>/<emotion>/<name>.<ext>`, with the provided
  split as `<root>/train.txt` and `<root>/test.txt`, one `<emotion>/<name>` (or file path relative to
  root) per line (819 / 818 videos, §5.2.2.3). `video_id` = the file stem.
- **MovieNet**: `trailers_genres_clean.csv` (`imdb_id, youtube_id, genres, title, duration`) and the
  published `splits.json` (`trn` / `val` / `tst`). `video_id` = the YouTube id. Without `splits.json`
  the split is computed the same way (`movienet_split`).
- **demo**: `data/demo/ground_truth/videos.json`, whose `emotion` / `genres` the demo generator plants.
"""

import ast
import json
from pathlib import Path

import numpy as np
import pandas as pd

from emsync.core.errors import InputError
from emsync.models.classifier_blocks import GENRES
from emsync.models.vemoclap import EMOTIONS

VIDEO_EXTS = (".mp4", ".avi", ".mkv", ".webm", ".mov", ".flv", ".wmv", ".mpg", ".3gp")


# --- MovieNet -------------------------------------------------------------------------------------


def movienet_split(video_ids, train_ratio: float = 0.7, test_ratio: float = 0.2) -> dict:
    """{"train", "val", "test"}: YouTube ids sorted (they are random, so sorting is an unbiased
    shuffle, §5.2.3.3), the first int(train_ratio n) train, the last round(test_ratio n) test, the
    rest validation. On the 26,412 MovieNet trailers: 18,488 / 2,642 / 5,282 (the published split)."""
    ids = sorted(set(video_ids))
    n = len(ids)
    n_train, n_test = int(train_ratio * n), int(round(test_ratio * n))
    return {"train": ids[:n_train], "val": ids[n_train : n - n_test], "test": ids[n - n_test :]}


def parse_genres(text) -> list:
    """ "['Drama', 'History']" -> ['Drama', 'History'] (the CSV stores Python list literals)."""
    if isinstance(text, list):
        return text
    try:
        value = ast.literal_eval(str(text))
    except (ValueError, SyntaxError):
        raise InputError(f"genres {text!r} is not a list literal") from None
    if not isinstance(value, (list, tuple)):
        raise InputError(f"genres {text!r} is not a list")
    return [str(g) for g in value]


def multi_hot(genres, labels=GENRES) -> np.ndarray:
    index = {g: i for i, g in enumerate(labels)}
    y = np.zeros(len(labels), dtype=np.float32)
    for g in genres:
        if g in index:
            y[index[g]] = 1.0
    return y


def movienet_table(csv_path, splits_path=None) -> pd.DataFrame:
    """MovieNet trailers: `video_id, imdb_id, title, duration, genres, unknown_genres, split`.
    `genres` keeps the 21 thesis genres (§5.2.3.3); any other name goes to `unknown_genres`
    (the real CSV has one malformed entry), so nothing is silently dropped."""
    csv_path = Path(csv_path)
    if not csv_path.exists():
        raise InputError(f"MovieNet metadata {csv_path} not found")
    df = pd.read_csv(csv_path, dtype={"youtube_id": str, "imdb_id": str})
    missing = {"youtube_id", "genres", "duration"} - set(df.columns)
    if missing:
        raise InputError(f"{csv_path}: missing column(s) {sorted(missing)}")
    parsed = [parse_genres(g) for g in df["genres"]]
    out = pd.DataFrame(
        {
            "video_id": df["youtube_id"].astype(str),
            "imdb_id": df.get("imdb_id", pd.Series([None] * len(df))).astype(object),
            "title": df.get("title", pd.Series([None] * len(df))).astype(object),
            "duration": df["duration"].astype(float),
            "genres": [[g for g in gs if g in GENRES] for gs in parsed],
            "unknown_genres": [[g for g in gs if g not in GENRES] for gs in parsed],
        }
    )
    if out["video_id"].duplicated().any():
        dup = out.loc[out["video_id"].duplicated(), "video_id"].iloc[0]
        raise InputError(f"{csv_path}: YouTube id {dup} appears twice")
    if splits_path is not None and Path(splits_path).exists():
        raw = json.loads(Path(splits_path).read_text())
        names = {"trn": "train", "val": "val", "tst": "test", "train": "train", "test": "test"}
        split = {vid: names[k] for k, ids in raw.items() for vid in ids}
    else:
        split = {vid: k for k, ids in movienet_split(out["video_id"]).items() for vid in ids}
    out["split"] = out["video_id"].map(split)
    return out


def iqr_fences(values, k: float = 1.5) -> tuple:
    """(Q1 - k IQR, Q3 + k IQR): the inner fences of the box plot (§5.2.3.3 duration filter)."""
    q1, q3 = np.percentile(np.asarray(values, dtype=float), [25, 75])
    return float(q1 - k * (q3 - q1)), float(q3 + k * (q3 - q1))


def iqr_filter(df: pd.DataFrame, column: str = "duration", k: float = 1.5) -> tuple:
    """(kept, dropped): rows inside / outside the inner fences of `column`."""
    lo, hi = iqr_fences(df[column], k)
    inside = df[column].between(lo, hi)
    return df[inside].reset_index(drop=True), df[~inside].reset_index(drop=True)


THESIS_FENCES = (19.6, 214.4)  # §5.2.3.3: Q1 - 1.5 IQR and Q3 + 1.5 IQR of the 32,647 trailers' durations (s)


def duration_filter(df: pd.DataFrame, how: str = "thesis_fences") -> tuple:
    """(kept, dropped) trailers by the §5.2.3.3 duration filter: "thesis_fences" keeps durations
    inside the thesis's fences, "iqr" inside the fences of this table's own quartiles (for the raw
    metadata; on an already filtered table it would cut again), "none" keeps all. `dropped` carries
    a `reason`."""
    if how == "none":
        return df.reset_index(drop=True), df.iloc[:0].assign(reason=pd.Series(dtype=str))
    if how not in ("thesis_fences", "iqr"):
        raise InputError(f"duration filter {how!r}: choose thesis_fences, iqr or none")
    lo, hi = THESIS_FENCES if how == "thesis_fences" else iqr_fences(df["duration"])
    inside = df["duration"].between(lo, hi)
    dropped = df[~inside].reset_index(drop=True)
    reason = [f"duration {d:.1f} s outside the §5.2.3.3 fences {lo:.1f}-{hi:.1f} s ({how})" for d in dropped["duration"]]
    return df[inside].reset_index(drop=True), dropped.assign(reason=reason)


def upper_whisker(values, k: float = 1.5) -> int:
    """The box plot's upper adjacent value: the largest value <= Q3 + k IQR (§5.2.3.3: the
    per-modality maximum sequence length, e.g. 216 CLIP frames on MovieNet)."""
    v = np.asarray(values, dtype=float)
    if v.size == 0:
        raise InputError("no sequence lengths to compute a maximum from")
    _, hi = iqr_fences(v, k)
    return int(v[v <= hi].max())


# --- Ekman-6 --------------------------------------------------------------------------------------


def ekman6_table(root) -> pd.DataFrame:
    """Ekman-6: `video_id, emotion, label, split, path` (path relative to root)."""
    root = Path(root)
    rows, seen = [], set()
    for split in ("train", "test"):
        listing = root / f"{split}.txt"
        if not listing.exists():
            raise InputError(f"Ekman-6 split list {listing} not found (expected train.txt and test.txt)")
        for n, line in enumerate(listing.read_text().splitlines(), 1):
            entry = line.strip()
            if not entry:
                continue
            rel = Path(entry)
            emotion = rel.parts[0].lower() if len(rel.parts) > 1 else ""
            if emotion not in EMOTIONS:
                raise InputError(f"{listing}:{n}: '{entry}' is not under one of the folders {', '.join(EMOTIONS)}")
            path = _find_video(root, rel)
            if rel.stem in seen:
                raise InputError(f"{listing}:{n}: video id '{rel.stem}' listed twice")
            seen.add(rel.stem)
            rows.append(
                {
                    "video_id": rel.stem,
                    "emotion": emotion,
                    "label": EMOTIONS.index(emotion),
                    "split": split,
                    "path": path.relative_to(root).as_posix() if path else None,
                }
            )
    return pd.DataFrame(rows, columns=["video_id", "emotion", "label", "split", "path"])


def _find_video(root: Path, rel: Path):
    if rel.suffix and (root / rel).exists():
        return root / rel
    for ext in VIDEO_EXTS:
        if (root / rel).with_suffix(ext).exists():
            return (root / rel).with_suffix(ext)
    return None  # listed but absent: the feature step records it as a skip


# --- demo -----------------------------------------------------------------------------------------


def demo_table(ground_truth_path, test_fraction: float = 0.5) -> pd.DataFrame:
    """The demo videos with their planted labels: `video_id, emotion, label, genres, split`; within
    each emotion (ids sorted) the last round(test_fraction n) videos are test, so every emotion is
    in both splits."""
    gt = json.loads(Path(ground_truth_path).read_text())
    rows = []
    for vid, entry in sorted(gt.items()):
        if "emotion" not in entry:
            raise InputError(f"{ground_truth_path}: {vid} has no planted emotion (rebuild the demo data)")
        rows.append(
            {
                "video_id": vid,
                "emotion": entry["emotion"],
                "label": EMOTIONS.index(entry["emotion"]),
                "genres": list(entry.get("genres", [])),
                "split": "train",
            }
        )
    df = pd.DataFrame(rows, columns=["video_id", "emotion", "label", "genres", "split"])
    for _, group in df.groupby("emotion"):
        n_test = int(round(test_fraction * len(group)))
        if n_test:
            df.loc[group.index[-n_test:], "split"] = "test"
    return df
