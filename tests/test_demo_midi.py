"""The demo MIDI corpus: determinism, kinds, duplicates, broken files, strong chords, lyrics."""

import io
import json
import subprocess
import sys
from collections import Counter

import mido
import numpy as np
import pretty_midi
import pytest

from emsync.core.io import tree_digest
from emsync.demo.midi_corpus import build_midi_corpus, md5

PIANO_GUITAR = set(range(0, 8)) | set(range(24, 32))


def note_set(pm):
    return sorted((i.program, i.is_drum, n.pitch, n.velocity, round(n.start, 6), round(n.end, 6)) for i in pm.instruments for n in i.notes)


def strong_chords(pm, programs=PIANO_GUITAR, min_notes=3, min_beats=2.0):
    """Independent §4.1 detector: >= 3 notes starting together in one family (piano/guitar
    tracks merged), each lasting >= 2 quarter-note beats at the local tempo."""
    times, tempi = pm.get_tempo_changes()
    onsets = Counter()
    for inst in pm.instruments:
        if inst.is_drum or inst.program not in programs:
            continue
        for n in inst.notes:
            k = max(i for i in range(len(times)) if times[i] <= n.start + 1e-9)
            if (n.end - n.start) * tempi[k] / 60.0 >= min_beats - 1e-6:
                onsets[round(n.start, 6)] += 1
    return sorted(float(t) for t, c in onsets.items() if c >= min_notes)


def same_times(found, want):
    return len(found) == len(want) and np.allclose(found, want, atol=1e-5)


def test_counts_and_kinds(demo_corpus):
    gt = demo_corpus.ground_truth
    kinds = Counter(e["kind"] for e in gt["files"].values())
    assert kinds == {"ok": 40, "duplicate": 4, "corrupt": 3, "truncated": 3, "zero_notes": 2, "empty": 1}
    on_disk = sorted(p.stem for p in demo_corpus.midi_dir.glob("*.mid"))
    assert on_disk == sorted(gt["files"])
    for h in on_disk:  # LMD naming: file name = md5 of the bytes
        assert md5(demo_corpus.path(h).read_bytes()) == h
    ok = [e for e in gt["files"].values() if e["kind"] == "ok"]
    assert any(e["has_drums"] for e in ok) and not all(e["has_drums"] for e in ok)
    assert all(50 <= e["tempo_bpm"] <= 180.1 for e in ok)


def test_full_size_covers_the_brief(tmp_path):
    gt = build_midi_corpus(tmp_path, seed=1234, n_midi=200, n_duplicates=12)
    ok = [e for e in gt["files"].values() if e["kind"] == "ok"]
    assert len(gt["files"]) >= 200
    families = {"piano": range(0, 8), "guitar": range(24, 32), "bass": range(32, 40), "strings": range(40, 52)}
    progs = {p for e in ok for p, drum in e["programs"] if not drum}
    assert all(progs & set(r) for r in families.values())
    assert progs - set(range(0, 52)), "odd programs outside the LPD-5 families"
    assert sum(e["has_drums"] for e in ok) > 50 and sum(not e["has_drums"] for e in ok) > 20
    assert sum(e["tempo_changes"] for e in ok) >= 10
    assert {"3/4", "5/4", "6/8"} <= {e["time_signature"] for e in ok}
    langs = Counter(e["lyrics_lang"] for e in ok if not e["karaoke"])
    assert langs["en"] >= 20 and sum(langs[k] for k in ("de", "es", "pt")) >= 10
    assert sum(e["karaoke"] for e in ok) >= 5
    assert sum(e["n_lyric_words"] >= 50 for e in ok if e["lyrics_lang"] == "en") >= 5
    assert sum(len(e["chord_times"]) for e in ok) > 200 and sum(len(e["distractor_chord_times"]) for e in ok) > 50


def test_deterministic_across_processes(demo_corpus, tmp_path):
    code = "import sys; from emsync.demo.build import build_demo_corpus; build_demo_corpus(sys.argv[1], seed=7, n_midi=40, n_duplicates=4)"
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=True)
    files = lambda root: sorted(p for p in root.rglob("*") if p.is_file())  # noqa: E731
    a, b = files(demo_corpus.root), files(tmp_path)
    assert [p.relative_to(demo_corpus.root) for p in a] == [p.relative_to(tmp_path) for p in b]
    assert [md5(p.read_bytes()) for p in a] == [md5(p.read_bytes()) for p in b]


def test_seed_changes_the_corpus(demo_corpus, tmp_path):
    build_midi_corpus(tmp_path, seed=8, n_midi=40, n_duplicates=4)
    assert tree_digest(tmp_path.glob("*.mid"), tmp_path) != tree_digest(demo_corpus.midi_dir.glob("*.mid"), demo_corpus.midi_dir)
    other = {p.stem for p in tmp_path.glob("*.mid")}
    assert len(other & set(demo_corpus.ground_truth["files"])) == 1  # only the empty file (md5 of b"")


def test_duplicates_same_notes_other_bytes(demo_corpus):
    gt = demo_corpus.ground_truth
    assert gt["duplicate_groups"] and sum(len(g) - 1 for g in gt["duplicate_groups"]) == 4
    for g, members in enumerate(gt["duplicate_groups"]):
        assert gt["files"][members[0]]["kind"] == "ok"
        assert all(gt["files"][h]["kind"] == "duplicate" and gt["files"][h]["group"] == g for h in members[1:])
        parsed = [pretty_midi.PrettyMIDI(str(demo_corpus.path(h))) for h in members]
        assert len({demo_corpus.path(h).read_bytes() for h in members}) == len(members)
        assert all(note_set(p) == note_set(parsed[0]) for p in parsed[1:])
    # non-duplicates really differ in content
    singles = [h for h, e in gt["files"].items() if e["kind"] == "ok" and e["group"] is None][:10]
    sets = [tuple(note_set(pretty_midi.PrettyMIDI(str(demo_corpus.path(h))))) for h in singles]
    assert len(set(sets)) == len(sets)


@pytest.mark.parametrize("kind", ["corrupt", "truncated", "empty"])
def test_broken_files_fail_to_parse(demo_corpus, kind):
    hashes = demo_corpus.files_of_kind(kind)
    assert hashes
    for h in hashes:
        data = demo_corpus.path(h).read_bytes()
        with pytest.raises(Exception):
            mido.MidiFile(file=io.BytesIO(data))
        with pytest.raises(Exception):
            pretty_midi.PrettyMIDI(io.BytesIO(data))


def test_zero_note_files_parse_without_notes(demo_corpus):
    hashes = demo_corpus.files_of_kind("zero_notes")
    assert hashes  # the corpus plants zero-note files; an empty list would pass vacuously
    for h in hashes:
        pm = pretty_midi.PrettyMIDI(str(demo_corpus.path(h)))
        assert sum(len(i.notes) for i in pm.instruments) == 0


def test_strong_chords_at_recorded_times(demo_corpus):
    gt = demo_corpus.ground_truth["files"]
    n = 0
    for h, e in gt.items():
        if e["kind"] not in ("ok", "duplicate"):
            continue
        pm = pretty_midi.PrettyMIDI(str(demo_corpus.path(h)))
        want = e["chord_times"]
        assert same_times(strong_chords(pm), want), h
        # merging chromatic percussion/organ into piano, or strings into guitar, adds no chord
        assert same_times(strong_chords(pm, PIANO_GUITAR | set(range(8, 24)) | set(range(40, 56))), want), h
        assert abs(pm.get_tempo_changes()[1][0] - e["tempo_bpm"]) < 1e-3
        assert len(pm.instruments) == e["n_instruments"]
        assert any(i.is_drum for i in pm.instruments) == e["has_drums"]
        assert (len(pm.get_tempo_changes()[0]) > 1) == e["tempo_changes"]
        assert abs(pm.get_end_time() - e["duration"]) < 1e-5
        n += len(want)
    assert n > 20


def test_distractor_chords_present_but_not_strong(demo_corpus):
    seen = 0
    for h, e in demo_corpus.ground_truth["files"].items():
        if e["kind"] != "ok" or not e["distractor_chord_times"]:
            continue
        pm = pretty_midi.PrettyMIDI(str(demo_corpus.path(h)))
        two_or_more = strong_chords(pm, min_notes=2, min_beats=0.0)
        strong = strong_chords(pm)
        for t in e["distractor_chord_times"]:
            assert np.isclose(two_or_more, t, atol=1e-5).any() and not np.isclose(strong, t, atol=1e-5).any()
            seen += 1
    assert seen > 5


def test_lyrics_and_karaoke_events(demo_corpus):
    gt = demo_corpus.ground_truth["files"]
    langs = set()
    for h, e in gt.items():
        if e["kind"] != "ok":
            continue
        mf = mido.MidiFile(str(demo_corpus.path(h)))
        lyrics = [m.text for t in mf.tracks for m in t if m.type == "lyrics"]
        texts = [m.text for t in mf.tracks for m in t if m.type == "text"]
        if e["karaoke"]:
            assert "@KMIDI KARAOKE FILE" in texts and any(x.startswith("@T") for x in texts)
            assert any(x.startswith("/") for x in texts) and not lyrics
            assert len([x for x in texts if not x.startswith("@")]) == e["n_lyric_words"]
        elif e["lyrics_lang"]:
            assert len(lyrics) == e["n_lyric_words"] > 0
            langs.add(e["lyrics_lang"])
        else:
            assert not lyrics
    assert "en" in langs


def test_ground_truth_json_matches(demo_corpus):
    on_disk = json.loads((demo_corpus.root / "ground_truth" / "midi.json").read_text())
    assert on_disk == json.loads(json.dumps(demo_corpus.ground_truth))


def test_a_copy_elsewhere_has_the_same_digest(demo_corpus, tmp_path):
    """The digest (the train checkpoint's tokens_digest, the lyrics model's cache key) names files
    relative to their folder: a clone at another path trains a byte-identical checkpoint."""
    import shutil

    copy = shutil.copytree(demo_corpus.midi_dir, tmp_path / "elsewhere" / "midi")
    assert tree_digest(copy.glob("*.mid"), copy) == tree_digest(demo_corpus.midi_dir.glob("*.mid"), demo_corpus.midi_dir)
    (copy / sorted(copy.glob("*.mid"))[0].name).rename(copy / "renamed.mid")
    assert tree_digest(copy.glob("*.mid"), copy) != tree_digest(demo_corpus.midi_dir.glob("*.mid"), demo_corpus.midi_dir)
