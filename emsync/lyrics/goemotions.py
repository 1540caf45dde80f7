"""GoEmotions in its published TSV form (§3.2.1.1): `{train,dev,test}.tsv`, no header, columns
text, comma-separated label ids (into emotions.txt's 28 names), comment id.

The 7-label set is the 28-label one under Table 3.2 (the published ekman/ files are exactly that;
tests/test_lyrics_archive.py checks it), so one folder in the original layout serves both models.

    splits = load_goemotions("../shared/data/goemotions/data/original", n_labels=7)
    splits["train"].texts[0], splits["train"].targets.shape   # (43410, 7)
"""

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emsync.core.errors import InputError
from emsync.lyrics.labels import EKMAN7, GO28, read_mapping, to_ekman

SPLITS = ("train", "dev", "test")


@dataclass
class Split:
    texts: list
    targets: np.ndarray  # (N, L) float32 multi-hot
    ids: list  # comment ids
    labels: list  # label names, column order of `targets`


def read_tsv(path) -> list:
    """[(text, [label ids], comment id)]; a malformed line fails naming the file and line."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: GoEmotions split not found")
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("\t")
        try:
            if len(parts) != 3:
                raise ValueError(f"{len(parts)} columns, want 3 (text, label ids, id)")
            ids = [int(x) for x in parts[1].split(",")]
            if any(not 0 <= i < len(GO28) for i in ids):
                raise ValueError(f"label id outside 0..{len(GO28) - 1}")
        except ValueError as e:
            raise InputError(f"{path} line {n}: {e}") from None
        rows.append((parts[0], ids, parts[2]))
    return rows


def _check_names(folder: Path):
    f = folder / "emotions.txt"
    if f.exists():
        names = f.read_text(encoding="utf-8").split()
        if names != GO28:
            raise InputError(f"{f}: label names differ from GoEmotions' 28 ({names[:3]}...)")


def load_goemotions(folder, n_labels: int = 28, splits=SPLITS, limit: dict | None = None) -> dict:
    """{split: Split} from a folder in the original (28-label) layout; n_labels 7 maps each row
    through ekman_mapping.json when the folder has one, else Table 3.2. `limit` caps rows per split
    (the first rows, for bounded tests)."""
    folder = Path(folder)
    _check_names(folder)
    mapping = read_mapping(folder / "ekman_mapping.json") if (folder / "ekman_mapping.json").exists() else None
    names = GO28 if n_labels == 28 else EKMAN7
    if n_labels not in (7, 28):
        raise InputError(f"n_labels must be 7 or 28, not {n_labels}")
    out = {}
    for s in splits:
        rows = read_tsv(folder / f"{s}.tsv")
        if limit and limit.get(s):
            rows = rows[: limit[s]]
        y = np.zeros((len(rows), len(names)), np.float32)
        for i, (_, ids, _) in enumerate(rows):
            y[i, ids if n_labels == 28 else to_ekman(ids, mapping)] = 1.0
        out[s] = Split([r[0] for r in rows], y, [r[2] for r in rows], list(names))
    return out
