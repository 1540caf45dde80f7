"""§3.1 content dedup on whole corpora: the fast (symusic) hash equals the pretty_midi reference
on every demo and real MIDI file; dedup groups equal the demo's planted ground truth; every broken
demo file lands in rejects."""

import pandas as pd
import pytest

from emsync.labeling import matching, stage
from emsync.music.midi_input import inspect_file
from emsync.labeling.scan import list_midi, scan

BROKEN = ("corrupt", "truncated", "empty", "zero_notes")


@pytest.fixture(scope="module")
def demo_scan(demo_corpus):
    paths = list_midi(demo_corpus.midi_dir)
    return demo_corpus, scan(paths, workers=2), scan(paths, workers=2, fast=False)


def test_fast_equals_reference_on_demo_corpus(demo_scan):
    _, fast, ref = demo_scan
    assert len(fast) == len(ref) > 40
    for a, b in zip(fast, ref):
        assert (a["midi_id"], a["valid"], a["reason"], a["content_hash"]) == (b["midi_id"], b["valid"], b["reason"], b["content_hash"])
        if a["valid"]:
            assert a["parser"] == "fast" and b["parser"] == "reference"
            assert (a["tempo"], a["duration"], a["n_notes"]) == (b["tempo"], b["duration"], b["n_notes"])


def test_broken_demo_files_all_rejected(demo_scan):
    corpus, fast, _ = demo_scan
    valid, rejects = stage.split_scan(fast)
    kinds = {h: e["kind"] for h, e in corpus.ground_truth["files"].items()}
    broken = {h for h, k in kinds.items() if k in BROKEN}
    assert broken and set(rejects["midi_id"]) == broken
    assert set(valid["midi_id"]) == {h for h, k in kinds.items() if k in ("ok", "duplicate")}
    # reasons follow the damage: random bytes/bad chunks unreadable, cut files truncated
    r = rejects.set_index("midi_id")["reason"]
    for h in broken:
        expect = {"empty": {"empty"}, "zero_notes": {"zero_notes"}, "truncated": {"truncated"}, "corrupt": {"unreadable", "truncated"}}[
            kinds[h]
        ]
        assert r[h] in expect, (h, kinds[h], r[h])


def test_dedup_groups_equal_planted_ground_truth(demo_scan):
    corpus, fast, _ = demo_scan
    valid, _ = stage.split_scan(fast)
    groups = valid.groupby("content_hash")["midi_id"].apply(lambda s: sorted(s))
    found = sorted(g for g in groups if len(g) > 1)
    planted = sorted(sorted(g) for g in corpus.ground_truth["duplicate_groups"])
    assert found == planted


def test_dedup_keeps_the_best_matched_file(demo_scan):
    corpus, fast, _ = demo_scan
    valid, _ = stage.split_scan(fast)
    scores = matching.load_match_scores(corpus.root / "lmd" / "match_scores.json")
    best = matching.best_matches(scores).set_index("midi_id")["match_score"]
    d = matching.dedup(valid, best)
    for g in corpus.ground_truth["duplicate_groups"]:
        kept = d[d["midi_id"].isin(g) & d["is_unique"]]["midi_id"].tolist()
        assert len(kept) == 1
        s = best.reindex(g).fillna(-1)
        assert kept[0] == sorted(g, key=lambda m: (-s[m], m))[0]
        assert set(d[d["midi_id"].isin(g) & ~d["is_unique"]]["duplicate_of"]) == {kept[0]}


def test_dedup_tie_break_and_unmatched_rank_last():
    files = pd.DataFrame({"midi_id": ["a", "b", "c", "d"], "content_hash": ["h1", "h1", "h1", "h2"]})
    d = matching.dedup(files, pd.Series({"b": 0.7, "c": 0.7})).set_index("midi_id")
    assert d.loc["b", "is_unique"] and not d.loc["a", "is_unique"] and not d.loc["c", "is_unique"]
    assert d.loc["a", "duplicate_of"] == "b" and d.loc["d", "is_unique"] and d.loc["a", "group_size"] == 3


@pytest.mark.shared_data
def test_fast_equals_reference_on_real_midi(shared_data):
    paths = list_midi(shared_data / "midi")
    assert len(paths) >= 9
    for p in paths:
        a, b = inspect_file(p), inspect_file(p, fast=False)
        assert a["valid"] and b["valid"], p
        assert a["parser"] == "fast", (p, a["detail"])
        for k in ("content_hash", "tempo", "duration", "n_notes", "n_instruments", "has_drums"):
            assert a[k] == b[k], (p.name, k)
