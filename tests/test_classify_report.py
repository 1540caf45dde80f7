"""reports/classifiers.md prints each emotion accuracy beside its own thesis counterpart (§5.2.2.4,
Table 5.1) and the blacklist's removals beside the thesis's 128 / 130."""

import pandas as pd

from emsync.classify.cleaning import apply_blacklist
from emsync.classify.report import blacklist_counts, classifiers_markdown
from emsync.models.vemoclap import EMOTIONS


def _metrics(cleaned: bool) -> dict:
    emotion = {
        "train": {"n": 20, "accuracy": 0.9},
        "test": {"n": 10, "accuracy": 0.6, "confusion": [[0.0] * 6 for _ in range(6)]},
        "test_cleaned": {"n": 8, "accuracy": 0.625, "blacklist_version": 1},
        "trained_on_cleaned": cleaned,
        "blacklist_removed": {"test": 2, "train": 3},
    }
    return {"emotion": emotion, "genre": {}}


def test_cleaned_model_is_not_printed_beside_the_unedited_result():
    md = classifiers_markdown(_metrics(cleaned=True), {"emotion_dataset": "ekman6", "genre_dataset": "movienet"}, list(EMOTIONS))
    assert "| test (as labelled) | 10 | 60.00 | - |" in md  # 65.28 is an unedited-trained model's number
    assert "| test, blacklist v1 applied | 8 | 62.50 | 65.28 + 2.6 (§5.2.2.4 gives the gain only) |" in md
    assert "removes 3 training and 2 test videos of this dataset; the thesis removed 128 and 130" in md
    md = classifiers_markdown(_metrics(cleaned=False), {"emotion_dataset": "ekman6", "genre_dataset": "movienet"}, list(EMOTIONS))
    assert "| test (as labelled) | 10 | 60.00 | 65.28 |" in md and "| test, blacklist v1 applied | 8 | 62.50 | - |" in md


def test_blacklist_counts_per_split():
    table = pd.DataFrame(
        {
            "video_id": ["annoying_kid", "joyride_3", "happy_dog", "pensive_man", "sad_movie"],
            "emotion": ["anger", "joy", "joy", "sadness", "sadness"],
            "split": ["train", "test", "test", "train", "test"],
        }
    )
    kept, dropped = apply_blacklist(table)
    assert sorted(dropped["video_id"]) == ["annoying_kid", "joyride_3", "pensive_man"]
    assert blacklist_counts(table, dropped) == {"test": 1, "train": 2}
