"""What the §6.3.3 survey asks and how the versions are laid out on the page.

Thesis §6.3.3: for each video the three music versions sit side by side under anonymous names
(Method A, B, C), "each method's output appearing an equal number of times in the left, center,
and right positions"; participants rank them 1 (best) to 3 (worst) on five criteria and report
whether they understand music theory (the two groups of Tables 6.2 and 6.3).
"""

import random
from dataclasses import dataclass

from emsync.core.errors import InputError

# The batch `soundtrack` stage's conditions (data/soundtrack/<video_id>/<condition>.mp4), with the
# names the report prints. The survey pages never show them.
CONDITION_LABELS = {
    "emsync": "EMSYNC",
    "no_boundaries": "EMSYNC, no boundaries",
    "neutral": "EMSYNC, neutral emotion",
    "random_emotion": "EMSYNC, random emotion",
}
DEFAULT_CONDITIONS = ("emsync", "no_boundaries", "neutral")


@dataclass(frozen=True)
class Question:
    key: str  # form field part and DuckDB value
    label: str  # column header of Tables 6.2-6.4
    prompt: str  # the sentence of Fig. 6.4
    ranks: tuple[str, str, str]  # what rank 1, 2, 3 mean, as in Fig. 6.4


# Thesis order of Tables 6.2-6.4 (MR, MQ, EM, TM, OM); prompts and rank words from Fig. 6.4.
QUESTIONS = (
    Question(
        "richness",
        "Music Richness",
        "Please rank the musical richness and diversity, independent of the video content.",
        ("Most diverse", "Moderately diverse", "Least diverse"),
    ),
    Question(
        "quality",
        "Music Quality",
        "Please rank the musical quality (not sound quality), independent of the video content.",
        ("Highest quality", "Moderate quality", "Lowest quality"),
    ),
    Question(
        "emotion",
        "Emotion Match",
        "Please rank how well the music matches the video in terms of emotion.",
        ("Best match", "Moderate match", "Worst match"),
    ),
    Question(
        "timing",
        "Timing Match",
        "Please rank how well the music synchronizes with the video in terms of rhythm and timing.",
        ("Best match", "Moderate match", "Worst match"),
    ),
    Question(
        "overall",
        "Overall Match",
        "Please rank how well the music matches the video in overall terms.",
        ("Best match", "Moderate match", "Worst match"),
    ),
)
QUESTION_KEYS = tuple(q.key for q in QUESTIONS)
THEORY_PROMPT = "Do you have an understanding of music theory?"
SLOTS = ("A", "B", "C")  # left, centre, right: "Method A", "Method B", "Method C"


def condition_label(condition: str) -> str:
    return CONDITION_LABELS.get(condition, condition)


def parse_conditions(text: str) -> tuple[str, ...]:
    """`emsync,no_boundaries,neutral` -> a tuple of three distinct known condition names."""
    conds = tuple(c.strip() for c in text.split(",") if c.strip())
    unknown = [c for c in conds if c not in CONDITION_LABELS]
    if unknown:
        raise InputError(f"--conditions: unknown condition {unknown[0]!r} (known: {', '.join(CONDITION_LABELS)})")
    if len(set(conds)) != len(conds):
        raise InputError(f"--conditions {text}: a condition is listed twice")
    if len(conds) != len(SLOTS):
        raise InputError(f"--conditions {text}: the survey compares exactly {len(SLOTS)} versions side by side, got {len(conds)}")
    return conds


def williams_rows(n: int) -> list[list[int]]:
    """A balanced Latin square (Williams design) of `n` treatments: row i = the left-to-right order.

    Every treatment takes every position equally often, and (the "balanced" part) every treatment
    sits immediately left of every other equally often. For odd n that needs the square plus its
    mirror image: 2n rows (for n = 3 all six orders). The first n rows, and the last n, are each a
    Latin square, so any run of n consecutive rows is position-balanced."""
    first, lo, hi = [0], 1, n - 1
    while len(first) < n:  # 0, 1, n-1, 2, n-2, ...
        first.append(lo)
        lo += 1
        if len(first) < n:
            first.append(hi)
            hi -= 1
    rows = [[(x + i) % n for x in first] for i in range(n)]
    if n % 2:
        rows += [row[::-1] for row in rows]
    return rows


def layouts(conditions, n_videos: int, seed: int = 0) -> list[tuple[str, ...]]:
    """Left-to-right condition order for each of `n_videos` videos: consecutive Williams rows (so each
    condition is in each position exactly n_videos / 3 times when 3 divides n_videos, else within
    one), the row sequence rotated by a seeded offset."""
    rows = williams_rows(len(conditions))
    start = random.Random(seed).randrange(len(rows) // len(conditions)) * len(conditions)
    return [tuple(conditions[j] for j in rows[(start + i) % len(rows)]) for i in range(n_videos)]
