"""Re-score a re-cut video without losing the music you liked (beyond the thesis, whose pipeline
regenerates every soundtrack from scratch).

    emsync soundtrack cut1.mp4 -o scored1.mp4 --json > run1.json
    emsync soundtrack cut2.mp4 -o scored2.mp4 --keep run1.json      # cut2: cut1 re-edited after 20 s

The previous run's JSON holds its token ids, seed, emotion and boundaries. The new video is
analysed as usual and its boundaries compared with the previous ones: a boundary within
`soundtrack.keep_match_s` of one in the other run is the same boundary; the first boundary that is
not, in either run (a cut removed, added or moved), or the shorter end when the length changed, is
the first change. The generated tokens are kept up to `evaluate.hit_tolerance_s` (ξ, 1 s) before
it, note for note, and the generator continues from there (same seed, same emotion condition,
same instruments head token) with the new boundaries ahead: Algorithm 1 runs over the kept tokens
too, so the regenerated part sees the new cut coming and can place its chord within ξ of it.

A cut moved earlier than the end of the kept part is itself the first change: the kept part then
ends ξ before the cut's new place and everything after it is regenerated (the old music is never
shifted in time to follow a moved cut). With no change at all the whole previous music is kept.
"""

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emsync.core.errors import InputError

NEEDED = ("token_ids", "boundaries", "duration_s", "valence", "arousal", "seed")


@dataclass(frozen=True)
class Previous:
    """What a previous `emsync soundtrack --json` run recorded that a re-score keeps."""

    path: Path
    record: dict

    @property
    def token_ids(self) -> np.ndarray:
        return np.asarray(self.record["token_ids"], dtype=np.int64)

    @property
    def seed(self) -> int:
        return int(self.record["seed"])


def load_previous(path) -> Previous:
    """The previous run's JSON record; one clear error when it cannot be re-scored from."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"--keep {path}: file not found (the JSON that `emsync soundtrack --json` printed)")
    try:
        rec = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as e:
        raise InputError(f"--keep {path}: not a JSON record ({e})") from None
    missing = [k for k in NEEDED if not isinstance(rec, dict) or k not in rec]
    if missing:
        raise InputError(f"--keep {path}: no {', '.join(missing)} in it; keep the JSON that `emsync soundtrack --json` printed")
    if len(rec["token_ids"]) < 2:
        raise InputError(f"--keep {path}: token_ids is empty")
    return Previous(path, rec)


def first_change(old, new, old_duration: float, new_duration: float, match_s: float) -> float | None:
    """The earliest time where the two runs' boundaries differ (a boundary of either run with no
    partner within `match_s` in the other), or where the shorter one ends when the lengths differ;
    None when nothing changed."""
    changes = [b for b in old if not any(abs(b - x) <= match_s for x in new)]
    changes += [b for b in new if not any(abs(b - x) <= match_s for x in old)]
    if abs(old_duration - new_duration) > match_s:
        changes.append(min(old_duration, new_duration))
    return min(changes) if changes else None


def kept_tokens(ids, until_s: float) -> np.ndarray:
    """The tokens whose time (the cursor after them) is at most `until_s`: everything before the
    first TIMESHIFT that would cross it."""
    from emsync.music import vocab as V

    ids = np.asarray(ids, dtype=np.int64)
    times = np.cumsum(V.TIMESHIFT_MS[ids]) / 1000.0  # (T,) seconds after each token
    return ids[: int(np.searchsorted(times, until_s + 1e-9, side="right"))]


@dataclass(frozen=True)
class KeepPlan:
    """What a re-score keeps: the tokens the generator continues from, and the record for the JSON."""

    tokens: np.ndarray  # (k,) the kept ids, instruments head and primer included
    seed: int
    record: dict


def plan_keep(params, prev: Previous, video) -> KeepPlan:
    """Compare the new video's boundaries with the previous run's and cut the kept tokens."""
    sp, xi = params.soundtrack, params.evaluate.hit_tolerance_s
    old, new = [float(b) for b in prev.record["boundaries"]], list(video.boundaries)
    change = first_change(old, new, float(prev.record["duration_s"]), video.duration, sp.keep_match_s)
    until = video.duration if change is None else max(0.0, change - xi)
    tokens = kept_tokens(prev.token_ids, min(until, float(prev.record["duration_s"])))
    record = {
        "previous": str(prev.path),
        "first_change_s": change,
        "kept_until_s": round(until, 3),
        "kept_tokens": int(len(tokens)),
        "removed_boundaries": [b for b in old if not any(abs(b - x) <= sp.keep_match_s for x in new)],
        "added_boundaries": [b for b in new if not any(abs(b - x) <= sp.keep_match_s for x in old)],
    }
    return KeepPlan(tokens, prev.seed, record)


def kept_emotion(prev: Previous):
    """The previous run's emotion condition (flags, probabilities, classifier or curve), unchanged."""
    from emsync.soundtrack.emotion import EmotionChoice

    r = prev.record
    return EmotionChoice(
        float(r["valence"]), float(r["arousal"]), r.get("emotion_source") or "kept", r.get("emotion_probs") or {},
        classifier=r.get("emotion_classifier"), curve=r.get("emotion_curve"),
    )  # fmt: skip
