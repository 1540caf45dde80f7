"""§4.3 label rules at their edges, the split, matching tables and the search pick rule."""

import json
import math

import numpy as np
import pandas as pd
import pytest

from emsync.core.config import LabelingParams
from emsync.labeling import matching
from emsync.labeling.labels import arousal_from_density, arousal_from_tempo, build_labels, test_split as split_of, valence_label

nan = math.nan


@pytest.mark.parametrize(
    "tempo,drums,expect",
    [
        (50.0, True, -1.0),
        (150.0, True, 1.0),
        (100.0, True, 0.0),
        (49.999, True, nan),
        (150.001, True, nan),
        (100.0, False, nan),
        (nan, True, nan),
        (None, True, nan),
    ],
)
def test_arousal_from_tempo_edges(tempo, drums, expect):
    got = arousal_from_tempo(tempo, drums, 50.0, 150.0)
    assert (math.isnan(got) and math.isnan(expect)) or got == pytest.approx(expect)


@pytest.mark.parametrize(
    "v,zero_missing,expect",
    [
        (0.0, True, nan),
        (0.0, False, -1.0),
        (1.0, True, 1.0),
        (0.5, True, 0.0),
        (nan, True, nan),
        (None, True, nan),
        ("0.75", True, 0.5),
        (1.2, True, nan),
        (-0.1, True, nan),
    ],
)
def test_valence_edges(v, zero_missing, expect):
    got = valence_label(v, zero_missing)
    assert (math.isnan(got) and math.isnan(expect)) or got == pytest.approx(expect)


def test_density_arousal_is_clipped_to_unit_range():
    assert arousal_from_density(0.0, 4.0) == -1.0
    assert arousal_from_density(2.0, 4.0) == 0.0
    assert arousal_from_density(9.0, 4.0) == 1.0
    assert math.isnan(arousal_from_density(nan, 4.0))


def test_split_is_last_five_percent_by_name():
    ids = [f"{k:03d}" for k in range(100)][::-1]
    assert split_of(ids, 0.05) == {"095", "096", "097", "098", "099"}
    assert split_of([f"{k:02d}" for k in range(21)], 0.05) == {"19", "20"}  # 1.05 rounds up
    assert split_of([], 0.05) == set()


def _files():
    return pd.DataFrame(
        {
            "midi_id": list("abcdef"),
            "tempo": [50.0, 150.0, 120.0, 120.0, 160.0, 90.0],
            "has_drums": [True, True, False, True, True, True],
            "avg_note_density": [1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
            "duration": [60.0] * 6,
        }
    )


def test_build_labels_tempo_mode():
    matches = pd.DataFrame({"midi_id": list("abcde")})
    feats = pd.DataFrame({"midi_id": list("abcd"), "valence": [0.0, 1.0, 0.25, nan]})
    lab = build_labels(_files(), matches, feats, LabelingParams()).set_index("midi_id")
    assert np.isnan(lab.loc["a", "valence"]) and lab.loc["b", "valence"] == 1.0 and lab.loc["c", "valence"] == -0.5
    assert lab.loc["a", "arousal"] == -1.0 and lab.loc["b", "arousal"] == 1.0
    assert np.isnan(lab.loc["c", "arousal"]) and np.isnan(lab.loc["e", "arousal"])  # no drums / > 150
    assert lab["split"].to_dict() == {"a": "train", "b": "train", "c": "train", "d": "train", "e": "test", "f": "train"}
    assert not lab.loc["f", "matched"] and np.isnan(lab.loc["f", "valence"])


def test_build_labels_density_mode():
    p = LabelingParams(arousal_feature="note_density")
    lab = build_labels(_files(), pd.DataFrame({"midi_id": list("abcde")}), pd.DataFrame(columns=["midi_id", "valence"]), p)
    a = lab.set_index("midi_id")["arousal"]
    assert a["c"] == pytest.approx(2 * 3.0 / np.percentile([1, 2, 3, 4, 5], 99) - 1)
    assert a["f"] == 1.0 and a.notna().all()


# --- matching tables --------------------------------------------------------------------------


def test_best_match_ties_and_missing_fields(tmp_path):
    (tmp_path / "s.json").write_text(json.dumps({"TRB": {"m1": 0.8, "m2": 0.5}, "TRA": {"m1": 0.8}, "TRC": {"m2": 0.9, "m3": None}}))
    s = matching.load_match_scores(tmp_path / "s.json")
    best = matching.best_matches(s).set_index("midi_id")
    assert best.loc["m1", "track_id"] == "TRA" and best.loc["m2", "track_id"] == "TRC" and "m3" not in best.index
    pd.DataFrame(
        {
            "track_id": ["TRA", "TRA", "TRC"],
            "title": ["Café del Mar", "dup", "夜の街"],
            "artist": ["Ünïcode", "x", None],
            "release": ["", "r", None],
        }
    ).to_parquet(tmp_path / "meta.parquet")
    meta = matching.load_msd_metadata(tmp_path / "meta.parquet").set_index("track_id")
    assert meta.loc["TRA", "title"] == "Café del Mar" and pd.isna(meta.loc["TRA", "release"]) and pd.isna(meta.loc["TRC", "artist"])
    (tmp_path / "map.csv").write_text("track_id,spotify_id\nTRA,id1\nTRA,id1\nTRA,id2\nTRC,\n", encoding="utf-8")
    mp = matching.load_spotify_map(tmp_path / "map.csv")
    assert mp.to_dict("records") == [{"track_id": "TRA", "spotify_id": "id1"}]
    m = matching.match_table(["m1", "m2"], s, matching.load_msd_metadata(tmp_path / "meta.parquet"), mp).set_index("midi_id")
    assert m.loc["m1", "spotify_id"] == "id1" and m.loc["m1", "spotify_source"] == "map"
    assert pd.isna(m.loc["m2", "spotify_id"]) and m.loc["m2", "title"] == "夜の街"


def test_search_queries_get_looser():
    q = matching.search_queries("Hello (Remastered 2009) - Live", "Adele", "25")
    assert q == [
        'track:"Hello (Remastered 2009) - Live" artist:"Adele" album:"25"',
        'track:"Hello (Remastered 2009) - Live" artist:"Adele"',
        'track:"Hello" artist:"Adele"',
        "Hello Adele",
        'track:"Hello"',
    ]
    assert matching.search_queries("Song", None, None) == ['track:"Song"']
    assert matching.search_queries(None, "A") == []


def test_pick_rule():
    res = [
        {"id": "x", "name": "Cafe Del Mar", "artists": [{"name": "Other"}]},
        {"id": "y", "name": "Café del Mar - Remastered", "artists": [{"name": "Energy 52"}]},
        {"id": "z", "name": "Café del Mar", "artists": [{"name": "Energy 52"}, {"name": "X"}]},
    ]
    item, score = matching.pick(res, "Café Del Mar", "Energy 52")
    assert item["id"] == "z" and score == 2.0  # the exact title beats the remaster, Spotify's rank aside
    assert matching.pick(res[1:2], "Café Del Mar (Original Mix)", "Energy 52")[0]["id"] == "y"  # cleaned titles equal
    assert matching.pick(res[:1], "Café Del Mar", "Energy 52")[0] is None  # wrong artist never picked
    assert matching.pick(res, "Café del Mar", None)[0]["id"] == "x"  # no artist: equal title, first in rank
    assert matching.pick(res[1:2], "Café del Mar (Live)", None)[0] is not None
    assert matching.pick(res[1:2], "Cafe del Sol", None)[0] is None


def test_pick_rule_uses_duration_between_namesakes():
    res = [
        {"id": "a", "name": "Night", "artists": [{"name": "Mara Quinn"}], "duration_ms": 300_000},
        {"id": "b", "name": "Night", "artists": [{"name": "Mara Quinn"}], "duration_ms": 181_000},
    ]
    assert matching.pick(res, "Night", "Mara Quinn", 180.0)[0]["id"] == "b"  # closest duration
    assert matching.pick(res[:1], "Night", "Mara Quinn", 180.0)[0] is None  # another recording
    assert matching.pick(res[:1], "Night", "Mara Quinn", None)[0]["id"] == "a"  # unknown duration: names decide
