"""Dataset adapters (thesis §5.2.2.1, §5.2.3.3) and the Ekman-6 blacklist (§5.2.2.4)."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from emsync.classify.cleaning import apply_blacklist, load_blacklist
from emsync.classify.datasets import (
    THESIS_FENCES,
    demo_table,
    duration_filter,
    ekman6_table,
    iqr_fences,
    iqr_filter,
    movienet_split,
    movienet_table,
    multi_hot,
    upper_whisker,
)
from emsync.core.errors import InputError
from emsync.models.classifier_blocks import GENRES


def test_movienet_split_reproduces_published_file(shared_data):
    d = shared_data / "movienet"
    table = movienet_table(d / "trailers_genres_clean.csv")  # no splits file given: computed
    published = json.loads((d / "splits.json").read_text())
    computed = movienet_split(table["video_id"])
    assert computed["train"] == published["trn"]
    assert computed["val"] == published["val"]
    assert computed["test"] == published["tst"]
    assert [len(computed[k]) for k in ("train", "val", "test")] == [18488, 2642, 5282]
    from_file = movienet_table(d / "trailers_genres_clean.csv", d / "splits.json")
    assert (from_file["split"] == table["split"]).all()


def test_movienet_labels_on_real_metadata(shared_data):
    t = movienet_table(shared_data / "movienet" / "trailers_genres_clean.csv")
    assert len(t) == 26412
    row = t.set_index("video_id").loc["f0yEkRCpCmw"]  # Intolerance (1916): Drama, History
    assert row["genres"] == ["Drama", "History"]
    assert multi_hot(row["genres"]).nonzero()[0].tolist() == [GENRES.index("Drama"), GENRES.index("History")]
    counts = pd.Series([g for gs in t["genres"] for g in gs]).value_counts()
    assert set(counts.index) == set(GENRES) and counts["Drama"] == 12713 and counts["Western"] == 353
    # the one malformed genre in the file is kept aside, not dropped silently
    assert t["unknown_genres"].map(len).sum() == 1
    # the published table is already inside the thesis's duration fences (19.6 s .. 214.4 s)
    assert t["duration"].min() >= 19.6 and t["duration"].max() <= 214.4


def test_iqr_fences_and_whisker():
    v = np.array([1, 2, 3, 4, 5, 6, 7, 8, 100.0])
    lo, hi = iqr_fences(v)
    q1, q3 = np.percentile(v, [25, 75])
    assert (lo, hi) == (q1 - 1.5 * (q3 - q1), q3 + 1.5 * (q3 - q1))
    kept, dropped = iqr_filter(pd.DataFrame({"duration": v}))
    assert dropped["duration"].tolist() == [100.0] and len(kept) == 8
    assert upper_whisker(v) == 8  # largest value inside the fence, not the fence itself
    with pytest.raises(InputError):
        upper_whisker([])


def test_duration_filter_keeps_the_published_set_and_cuts_raw_metadata(shared_data):
    """§5.2.3.3: the filter keeps what lies inside the fences of the 32,647 trailers (19.6 / 214.4 s),
    which the published 26,412-row CSV already is; fences computed on that CSV would cut 122 more."""
    t = movienet_table(shared_data / "movienet" / "trailers_genres_clean.csv")
    kept, dropped = duration_filter(t, "thesis_fences")
    assert THESIS_FENCES == (19.6, 214.4) and len(kept) == 26412 and len(dropped) == 0
    assert len(duration_filter(t, "iqr")[1]) == 122  # a second cut the thesis did not make
    raw = pd.concat([t.head(40), pd.DataFrame({"video_id": ["short", "long"], "duration": [5.0, 400.0], "genres": [[], []]})])
    kept, dropped = duration_filter(raw, "thesis_fences")
    assert list(dropped["video_id"]) == ["short", "long"] and len(kept) == 40
    assert dropped["reason"].iloc[0] == "duration 5.0 s outside the §5.2.3.3 fences 19.6-214.4 s (thesis_fences)"
    assert len(duration_filter(raw, "none")[0]) == 42 and "long" in set(duration_filter(raw, "iqr")[1]["video_id"])


def test_the_genre_stage_applies_the_duration_filter(tmp_path):
    from emsync.classify.stage import genre_dataset
    from emsync.core.config import params_from_dict

    ids = [f"id{i:03d}" for i in range(10)]
    csv = pd.DataFrame({"imdb_id": ids, "youtube_id": ids, "genres": ["['Drama']"] * 10, "title": ids,
                        "duration": [100.0] * 8 + [12.0, 230.0]})  # fmt: skip
    csv.to_csv(tmp_path / "movienet.csv", index=False)
    p = params_from_dict({"classify": {"genre_dataset": "movienet", "movienet_csv": str(tmp_path / "movienet.csv"), "movienet_splits": ""}})
    kept, dropped = genre_dataset(p)
    assert len(kept) == 8 and list(dropped["video_id"]) == ["id008", "id009"]


def _ekman(tmp_path, train, test):
    for rel in train + test:
        p = tmp_path / (rel + ".mp4")
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(b"")
    (tmp_path / "train.txt").write_text("\n".join(train) + "\n")
    (tmp_path / "test.txt").write_text("\n".join(test) + "\n")
    return tmp_path


def test_ekman6_table_and_blacklist(tmp_path):
    root = _ekman(
        tmp_path,
        ["joy/joy_beach_01", "joy/joyride_car_02", "anger/angry_crowd_03"],
        ["sadness/pensive_man_04", "fear/fear_spider_05", "surprise/astonishing_feats_06"],
    )
    t = ekman6_table(root)
    assert t["split"].tolist() == ["train"] * 3 + ["test"] * 3
    assert t.loc[t.video_id == "angry_crowd_03", "label"].item() == 0
    assert t["path"].tolist()[0] == "joy/joy_beach_01.mp4"
    kept, dropped = apply_blacklist(t)
    assert sorted(dropped["video_id"]) == ["astonishing_feats_06", "joyride_car_02", "pensive_man_04"]
    assert dropped.set_index("video_id").loc["joyride_car_02", "reason"] == "joy keyword 'joyride'"
    assert "joy_beach_01" in kept["video_id"].tolist()
    # a keyword of another class does not count: "pensive" under joy is kept
    bl = load_blacklist()
    assert bl["version"] >= 1
    k2, d2 = apply_blacklist(pd.DataFrame({"video_id": ["pensive_joy"], "emotion": ["joy"]}), bl)
    assert len(d2) == 0 and len(k2) == 1
    k3, d3 = apply_blacklist(pd.DataFrame({"video_id": ["x1"], "emotion": ["joy"]}), {**bl, "ids": ["x1"]})
    assert d3["reason"].tolist() == ["listed id"]


def test_ekman6_bad_layout_names_the_problem(tmp_path):
    with pytest.raises(InputError, match="train.txt"):
        ekman6_table(tmp_path)
    root = _ekman(tmp_path, ["happiness/x"], [])
    with pytest.raises(InputError, match="train.txt:1: 'happiness/x'"):
        ekman6_table(root)


def test_demo_table_reads_planted_labels(tmp_path):
    gt = {f"demo{i:02d}": {"emotion": e, "genres": ["Comedy"]} for i, e in enumerate(["joy", "fear", "joy", "fear"])}
    (tmp_path / "videos.json").write_text(json.dumps(gt))
    t = demo_table(tmp_path / "videos.json")
    assert t["label"].tolist() == [3, 2, 3, 2] and t["split"].tolist() == ["train", "train", "test", "test"]
    (tmp_path / "old.json").write_text(json.dumps({"demo00": {"duration": 1}}))
    with pytest.raises(InputError, match="no planted emotion"):
        demo_table(tmp_path / "old.json")


def test_one_folder_per_dataset(tmp_path):
    """The thesis set keeps each dataset in its own folder under features.videos_dir (the stage reads
    them all) and scores evaluation videos from another folder, so no training video is scored."""
    from emsync.classify.stage import has_audio_stream
    from emsync.core.config import load_params
    from emsync.video.stage import list_videos
    from tests._root import ROOT
    from tests._videos import scenes

    p = load_params(ROOT / "params" / "thesis.yaml")
    videos, ekman, evaluation = (Path(x) for x in (p.features.videos_dir, p.classify.ekman6_dir, p.soundtrack.videos_dir))
    assert ekman.parent == videos and not evaluation.is_relative_to(videos) and not videos.is_relative_to(evaluation)
    (tmp_path / "ekman6" / "joy").mkdir(parents=True)
    (tmp_path / "movienet").mkdir()
    scenes(tmp_path / "ekman6" / "joy" / "joy_01.mp4", [("testsrc2", 1.0)], size="64x48")
    scenes(tmp_path / "movienet" / "abcDEF12345.mp4", [("testsrc2", 1.0)], size="64x48", audio=None)
    (tmp_path / "ekman6" / "train.txt").write_text("joy/joy_01\n")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "x.mp4").write_bytes(b"")
    assert [v.relative_to(tmp_path).as_posix() for v in list_videos(tmp_path)] == ["ekman6/joy/joy_01.mp4", "movienet/abcDEF12345.mp4"]
    assert has_audio_stream(tmp_path, "joy_01") and not has_audio_stream(tmp_path, "abcDEF12345")
    from emsync.video.stage import probe_videos

    (tmp_path / "other").mkdir()
    scenes(tmp_path / "other" / "joy_01.mp4", [("testsrc2", 1.0)], size="64x48")  # the same id in a second dataset
    videos_found, rejects = probe_videos(tmp_path)
    assert sorted(videos_found) == ["abcDEF12345", "joy_01"] and videos_found["joy_01"]["rel_path"].endswith("ekman6/joy/joy_01.mp4")
    assert [r["video_id"] for r in rejects] == ["joy_01"] and "video id already taken by" in rejects[0]["reason"]
