"""The real corpus (emsync/real_music): music21 works become MIDI in the tokenizer's instruments,
with bars where the score has them, and labels derived from the music; the sources' terms decide
what trains the shipped weights."""

import math

import numpy as np
import pandas as pd
import pytest

pytest.importorskip("music21")

from emsync.real_music import convert, labels, sources, works  # noqa: E402


@pytest.fixture(scope="module")
def all_works():
    return {w.work_id: w for w in works.list_works(sources.SHIPPED)}


def test_shipped_sources_leave_out_every_restricted_one():
    assert "essenFolksong" not in sources.SHIPPED and "palestrina" not in sources.SHIPPED
    assert all(not s.shipped for s in sources.SOURCES.values() if "non-commercial" in s.terms or "reserved" in s.terms)
    from emsync.core.config import CORPUS_SOURCES, SHIPPED_SOURCES

    assert set(CORPUS_SOURCES) == set(sources.SOURCES) and tuple(SHIPPED_SOURCES) == sources.SHIPPED


def test_a_multi_tune_abc_book_is_one_work_per_tune(all_works):
    book = [w for w in all_works.values() if w.path == "oneills1850/0001-0050.abc"]
    assert len(book) == 50 and [w.tune for w in book] == list(range(1, 51))
    assert book[0].work_id == "oneills1850-0001-0050-0001"


def test_a_chorale_maps_melody_to_strings_inner_parts_to_piano_and_doubles_the_bass(all_works, tmp_path):
    from emsync.music.lpd5 import read_song
    from emsync.music.tokenizer import encode
    from emsync.music.vocab import BASS, PIANO, STRINGS

    out = convert.convert_work(all_works["bach-bwv101.7"], works.corpus_root())
    f = out.facts
    assert (f["n_parts"], f["key"], f["mode"], f["time_signature"]) == (4, "D minor", "minor", "4/4")
    path = tmp_path / "c.mid"
    path.write_bytes(out.midi)
    song = read_song(path)
    counts = {g: int((song.instrument == g).sum()) for g in (STRINGS, PIANO, BASS)}
    assert counts[PIANO] == f["n_notes"] - counts[STRINGS]  # every part but the melody on the keyboard
    assert 0 < counts[BASS] < counts[PIANO]  # the bass line, doubled
    assert song.pitch[song.instrument == STRINGS].mean() > song.pitch[song.instrument == BASS].mean() + 12
    enc = encode(song)
    assert enc.ids[0] == 5 and len(enc.chord_steps) > 0  # MORE_INSTRUMENTS; cadence chords are strong chords


def test_a_pickup_bar_is_padded_so_bar_lines_fall_on_the_score_s_barlines(all_works, tmp_path):
    from emsync.music.lpd5 import read_song

    out = convert.convert_work(all_works["bach-bwv1.6"], works.corpus_root())  # 1-beat pickup in 4/4, quarter = 76
    assert out.facts["pickup_ql"] == 3.0 and out.facts["tempo_source"] == "score" and out.facts["tempo_qpm"] == 76.0
    path = tmp_path / "p.mid"
    path.write_bytes(out.midi)
    song = read_song(path)
    beat = 60 / 76
    assert np.isclose(song.start_s.min(), 3 * beat, atol=1e-3)  # the pickup note sits on beat 4 of bar 0
    assert np.allclose(song.downbeats_s[:3], [0, 4 * beat, 8 * beat], atol=1e-3)


def test_a_tune_is_one_string_part_with_its_metronome_mark(all_works):
    out = convert.convert_work(all_works["airdsAirs-book1-0001"], works.corpus_root())  # Q:1/2=112 in 2/2
    f = out.facts
    assert (f["n_parts"], f["tempo_qpm"], f["tempo_source"], f["time_signature"]) == (1, 224.0, "score", "2/2")
    assert f["key"] == "G major"


def test_labels_follow_mode_tempo_and_density():
    assert labels.valence_from_mode("major", 0.9) == 0.9 and labels.valence_from_mode("minor", 0.9) == -0.9
    assert math.isnan(labels.valence_from_mode("dorian", 0.9))
    assert labels.arousal_from_tempo_density(100.0, 2.0) == pytest.approx(0.0)  # both terms at their centre
    assert labels.arousal_from_tempo_density(150.0, 8.0) == 1.0 and labels.arousal_from_tempo_density(40.0, 0.25) == -1.0
    assert labels.arousal_from_tempo_density(120.0, 4.0) > labels.arousal_from_tempo_density(120.0, 1.0)


def test_the_split_holds_out_five_percent_of_works_in_md5_order():
    ids = [f"w{i:04d}" for i in range(200)]
    split = labels.split_by_work(ids, 0.05)
    test = sorted(w for w, s in split.items() if s == "test")
    assert len(test) == 10 and split == labels.split_by_work(list(reversed(ids)), 0.05)
    assert test != ids[-10:]  # not the alphabetically last ones


def test_the_labels_table_has_the_thesis_layout():
    facts = pd.DataFrame(
        [
            {
                "work_id": "a",
                "source": "bach",
                "mode": "major",
                "key": "C major",
                "key_r": 0.8,
                "tempo_qpm": 120.0,
                "tempo_source": "score",
                "notes_per_s_per_part": 2.0,
            },
            {
                "work_id": "b",
                "source": "bach",
                "mode": "minor",
                "key": "A minor",
                "key_r": 0.7,
                "tempo_qpm": 60.0,
                "tempo_source": "default",
                "notes_per_s_per_part": 1.0,
            },
        ]
    )
    t = labels.labels_table(facts, 0.5)
    assert list(t.columns[:4]) == ["midi_id", "split", "valence", "arousal"]
    assert t.set_index("midi_id")["valence"].to_dict() == {"a": 0.8, "b": -0.7}
    assert sorted(t["split"]) == ["test", "train"]


def test_a_fermata_is_held_and_its_bar_lengthened_so_later_bars_stay_on_the_barlines(all_works, tmp_path):
    from emsync.music.lpd5 import read_song
    from emsync.music.tokenizer import encode

    out = convert.convert_work(all_works["bach-bwv101.7"], works.corpus_root())  # six quarter-note fermatas, 4/4
    assert out.facts["fermatas"] == 6
    path = tmp_path / "f.mid"
    path.write_bytes(out.midi)
    song = read_song(path)
    bars = np.diff(song.downbeats_s) / 0.5  # quarter = 120 (no mark): bar lengths in beats
    assert set(np.round(bars, 6)) == {4.0, 5.0} and int((np.round(bars) == 5).sum()) >= 5  # each held bar is 5/4
    enc = encode(song)
    assert len(enc.chord_steps) >= 5  # the held cadence chords are strong chords (>= 3 piano notes, >= 2 beats)


def test_warp_holds_notes_ending_on_a_fermata_and_moves_later_ones():
    ends, holds = np.array([4.0]), np.array([1.0])
    assert convert.warp([3.0, 4.0, 4.5, 8.0], ends, holds).tolist() == [3.0, 5.0, 5.5, 9.0]
    notes = np.array([[3.0, 1.0, 60.0, 1.0], [0.0, 4.0, 48.0, 0.0], [4.0, 1.0, 62.0, 0.0]])
    e, h = convert.fermata_holds(notes)
    assert e.tolist() == [4.0] and h.tolist() == [1.0]
