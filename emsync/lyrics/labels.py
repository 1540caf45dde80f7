"""Label sets of the lyrics classifier (§3.2.1.1, Table 3.2) and the lyric-label table layout.

A lyric-label table has one row per `midi_id` with the raw sigmoid outputs of both models, no
threshold applied (§3.2.3.2): `p7_<label>` for the 7 Ekman + neutral labels and `p28_<label>` for
the 28 GoEmotions labels.
"""

import json
from pathlib import Path

from emsync.core.errors import InputError

# GoEmotions' 28 labels in id order (emotions.txt: 27 emotions, then neutral)
GO28 = [
    "admiration",
    "amusement",
    "anger",
    "annoyance",
    "approval",
    "caring",
    "confusion",
    "curiosity",
    "desire",
    "disappointment",
    "disapproval",
    "disgust",
    "embarrassment",
    "excitement",
    "fear",
    "gratitude",
    "grief",
    "joy",
    "love",
    "nervousness",
    "optimism",
    "pride",
    "realization",
    "relief",
    "remorse",
    "sadness",
    "surprise",
    "neutral",
]
# the 7-label set in id order (ekman/labels.txt)
EKMAN7 = ["anger", "disgust", "fear", "joy", "neutral", "sadness", "surprise"]

# Table 3.2 (= GoEmotions' ekman_mapping.json; neutral maps to itself)
TABLE_3_2 = {
    "anger": ["anger", "annoyance", "disapproval"],
    "disgust": ["disgust"],
    "fear": ["fear", "nervousness"],
    "joy": [
        "admiration",
        "amusement",
        "approval",
        "caring",
        "desire",
        "excitement",
        "gratitude",
        "joy",
        "love",
        "optimism",
        "pride",
        "relief",
    ],
    "sadness": ["sadness", "disappointment", "embarrassment", "grief", "remorse"],
    "surprise": ["confusion", "curiosity", "realization", "surprise"],
}

LABEL_SETS = {7: EKMAN7, 28: GO28}


def columns(n_labels: int) -> list:
    """Probability column names of a lyric-label table for the 7- or 28-label model."""
    return [f"p{n_labels}_{name}" for name in LABEL_SETS[n_labels]]


def read_mapping(path) -> dict:
    """GoEmotions' ekman_mapping.json as {fine label: Ekman group} (neutral -> neutral)."""
    path = Path(path)
    try:
        groups = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as e:
        raise InputError(f"{path}: cannot read the Ekman mapping ({e})") from e
    out = {"neutral": "neutral"}
    for group, fine in groups.items():
        for f in fine:
            out[f] = group
    return out


def to_ekman(fine_ids: list, mapping: dict | None = None) -> list:
    """28-label ids -> sorted 7-label ids under Table 3.2 (or `mapping`, fine name -> group)."""
    if mapping is None:
        mapping = {f: g for g, fs in TABLE_3_2.items() for f in fs} | {"neutral": "neutral"}
    return sorted({EKMAN7.index(mapping[GO28[i]]) for i in fine_ids})
