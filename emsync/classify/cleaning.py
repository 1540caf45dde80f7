"""Ekman-6 dataset cleaning (thesis §5.2.2.4): a versioned blacklist of off-label videos.

The thesis viewed every video and traced the bad ones to search keywords in their file names
(a single person "annoying" under anger, "joyride" / "Ode to Joy" under joy, "pensive" under
sadness, ...). `ekman6_blacklist.json` holds those keywords per class plus explicit ids; bump its
`version` whenever it changes (the version is written next to every result that used it). Videos
of people named Joy cannot be told from file names alone; list their ids under `ids`.

    kept, dropped = apply_blacklist(table)       # table: video_id, emotion, [path]
"""

import json
import re
from pathlib import Path

import pandas as pd

from emsync.core.errors import InputError

DEFAULT_BLACKLIST = Path(__file__).with_name("ekman6_blacklist.json")


def load_blacklist(path=None) -> dict:
    path = Path(path) if path else DEFAULT_BLACKLIST
    try:
        bl = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"blacklist {path}: {e}") from None
    for key in ("version", "keywords", "ids"):
        if key not in bl:
            raise InputError(f"blacklist {path}: missing '{key}'")
    return bl


def _words(name: str) -> str:
    return " " + re.sub(r"[\s_\-.]+", " ", name.lower()).strip() + " "


def blacklist_reason(video_id: str, emotion: str, blacklist: dict, name: str | None = None) -> str | None:
    """Why this video is blacklisted, or None."""
    if video_id in set(blacklist["ids"]):
        return "listed id"
    text = _words(name or video_id)
    for kw in blacklist["keywords"].get(emotion, []):
        if _words(kw) in text:
            return f"{emotion} keyword '{kw}'"
    return None


def apply_blacklist(table: pd.DataFrame, blacklist: dict | None = None) -> tuple:
    """(kept, dropped): `dropped` has the rows removed plus a `reason` column."""
    bl = blacklist or load_blacklist()
    names = table["path"] if "path" in table else table["video_id"]
    reasons = [
        blacklist_reason(v, e, bl, Path(str(n)).stem if n is not None else None)
        for v, e, n in zip(table["video_id"], table["emotion"], names)
    ]
    hit = pd.Series([r is not None for r in reasons], index=table.index)
    dropped = table[hit].copy()
    dropped["reason"] = [r for r in reasons if r is not None]
    return table[~hit].reset_index(drop=True), dropped.reset_index(drop=True)
