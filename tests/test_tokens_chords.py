"""Strong chords (§4.1): found where they are, CHORD right before the chord's first ON."""

import numpy as np
import pytest

from emsync.core.errors import InputError
from emsync.music import vocab as V
from emsync.music.lpd5 import read_midi, read_song
from emsync.music.tokenizer import decode, encode
from tests._tokens_helpers import make_midi

Q = 480  # ticks per beat; 120 bpm -> one beat = 0.5 s


def chord_times(tracks, **kw):
    return encode(read_midi(make_midi(tracks, **kw))).chord_times_s.tolist()


def test_strong_chord_rule():
    triad = [60, 64, 67]
    assert chord_times([(0, False, [(4 * Q, 2 * Q, p) for p in triad])]) == [2.0]  # piano, 3 notes, 2 beats
    assert chord_times([(27, False, [(2 * Q, 3 * Q, p) for p in triad + [72]])]) == [1.0]  # guitar, 4 notes
    assert chord_times([(0, False, [(0, 2 * Q - 60, p) for p in triad])]) == []  # 1.875 beats: too short
    assert chord_times([(0, False, [(0, 2 * Q, p) for p in triad[:2]])]) == []  # 2 notes
    assert chord_times([(48, False, [(0, 4 * Q, p) for p in triad])]) == []  # strings never make chords
    assert chord_times([(0, True, [(0, 4 * Q, p) for p in (36, 38, 42)])]) == []  # nor drums
    # one note per track, two piano tracks + one guitar: merged per group, so piano has only 2
    split = [(0, False, [(0, 2 * Q, 60)]), (1, False, [(0, 2 * Q, 64)]), (25, False, [(0, 2 * Q, 67)])]
    assert chord_times(split) == []
    # two beats at a slower tempo are longer in seconds: 60 bpm, 2 beats = 2 s, starting at 1 s
    assert chord_times([(0, False, [(Q, 2 * Q, p) for p in triad])], tempos=[(0, 60)]) == [1.0]


def test_chord_token_sits_right_before_the_chords_first_on():
    tracks = [
        (0, False, [(0, 2 * Q, 60), (0, 2 * Q, 64), (0, 2 * Q, 67), (2 * Q, 2 * Q, 62), (2 * Q, 2 * Q, 65), (2 * Q, 2 * Q, 69)]),
        (33, False, [(0, 4 * Q, 40)]),
    ]
    enc = encode(read_midi(make_midi(tracks)))
    toks = [V.id_to_token(i) for i in enc.ids]
    assert toks[:10] == [
        "FEWER_INSTRUMENTS",
        "START",
        "BAR",
        "CHORD",
        "BASS_ON_40",
        "PIANO_ON_60",
        "PIANO_ON_64",
        "PIANO_ON_67",
        "TIMESHIFT_1000",
        "PIANO_OFF_60",
    ]
    assert toks[10:16] == ["PIANO_OFF_64", "PIANO_OFF_67", "CHORD", "PIANO_ON_62", "PIANO_ON_65", "PIANO_ON_69"]
    assert enc.chord_times_s.tolist() == [0.0, 1.0]
    assert decode(enc.ids).chord_steps.tolist() == [0, 125]


@pytest.mark.shared_data
def test_real_files_chords_are_real_chords(shared_data):
    enc = encode(read_song(shared_data / "midi" / "Mr._Blue_Sky.mid"))
    assert len(enc.chord_steps) == 9
    n = enc.notes
    for s in enc.chord_steps:  # every reported chord has >= 3 guitar/piano notes starting on that step
        at = (n.on == s) & np.isin(n.instrument, [V.GUITAR, V.PIANO])
        assert np.bincount(n.instrument[at]).max() >= 3


def test_planted_demo_chords_are_found_at_their_times(demo_corpus):
    files = demo_corpus.ground_truth["files"]
    checked = 0
    for md5, gt in files.items():
        path = demo_corpus.midi_dir / f"{md5}.mid"
        if gt["kind"] not in ("ok", "duplicate"):
            if gt["kind"] in ("corrupt", "truncated", "empty"):
                with pytest.raises(InputError):
                    read_song(path)
            continue
        song = read_song(path)
        enc = encode(song)
        dec = decode(enc.ids)
        assert dec.notes == enc.notes, md5  # round trip on every valid demo file
        got, want = enc.chord_times_s, np.asarray(gt["chord_times"])
        assert len(got) == len(want), md5  # no distractor (1-beat or 2-note) chord is taken
        assert np.all(np.abs(got - want) <= 0.008), md5  # within one 8 ms step
        checked += 1
    assert checked >= 40
