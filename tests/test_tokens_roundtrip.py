"""Encode/decode (§2.1, §4.3): exact round trip, bars, the overlap rules and bad inputs."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emsync.core.errors import InputError
from emsync.music import vocab as V
from emsync.music.lpd5 import read_midi, read_song
from emsync.music.tokenizer import decode, encode, to_steps, write_midi
from tests._tokens_helpers import make_midi, song_from_notes

REAL_SUFFIXES = (".mid", ".kar", ".npz")


def toks(ids):
    return [V.id_to_token(i) for i in ids]


def assert_round_trip(song):
    enc = encode(song)
    dec = decode(enc.ids)
    assert dec.notes == enc.notes  # every note: instrument, pitch, onset and offset step
    assert np.array_equal(dec.bar_steps, enc.bar_steps)
    assert np.array_equal(dec.chord_steps, enc.chord_steps)
    return enc, dec


def test_times_round_to_the_nearest_8ms_step_halves_up():
    assert to_steps([0.0, 0.0039, 0.004, 0.412, 0.5, 1.0, 36000.0]).tolist() == [0, 0, 1, 52, 63, 125, 4_500_000]


def real_files(shared_data):
    return sorted(p for p in (shared_data / "midi").iterdir() if p.suffix in REAL_SUFFIXES)


@pytest.mark.shared_data
def test_round_trip_is_exact_on_every_real_file(shared_data, tmp_path):
    files = real_files(shared_data)
    assert len(files) >= 10
    for path in files:
        song = read_song(path, npz_assume_4_4=True)  # the one .npz is LPD cleansed (all 4/4)
        enc, dec = assert_round_trip(song)
        st = enc.stats
        assert st["notes"] == st["notes_in"] - st["dropped_pitch"] - st["duplicates"] > 100, path.name
        # against the file itself: every in-range note's onset survives (to 8 ms) ...
        inr = (song.pitch >= 21) & (song.pitch <= 108)
        raw_on = set(zip(song.instrument[inr].tolist(), song.pitch[inr].tolist(), to_steps(song.start_s[inr]).tolist()))
        assert raw_on == set(zip(dec.notes.instrument.tolist(), dec.notes.pitch.tolist(), dec.notes.on.tolist()))
        # ... and so does its offset, unless the same pitch started again before it ended
        q_off = np.maximum(to_steps(song.end_s[inr]), to_steps(song.start_s[inr]) + 1)
        changed = set(zip(song.instrument[inr].tolist(), song.pitch[inr].tolist(), q_off.tolist())) - set(
            zip(dec.notes.instrument.tolist(), dec.notes.pitch.tolist(), dec.notes.off.tolist())
        )
        assert len(changed) <= st["truncated"] + st["duplicates"], path.name
        assert len(enc.bar_steps) >= 40 and enc.ids[0] in (V.FEWER, V.MORE) and enc.ids[1] == V.START
    # the decoded MIDI file, read again, encodes to the same notes
    dec = decode(encode(read_song(files[0])).ids)
    write_midi(dec, tmp_path / "out.mid")
    assert encode(read_song(tmp_path / "out.mid")).notes == dec.notes


@pytest.mark.shared_data
def test_lpd_npz_is_merged_into_five_groups(shared_data):
    song = read_song(shared_data / "midi" / "b97c529ab9ef783a849b896816001748.npz", npz_assume_4_4=True)  # LPD cleansed
    counts = np.bincount(song.instrument, minlength=5)
    assert (counts > 0).all()  # 17 LPD tracks -> drums, bass, guitar, piano, strings all present
    assert song.dropped_program > 0  # synth effects / percussive / sound effects tracks are dropped
    assert len(song.downbeats_s) > 100 and np.allclose(np.diff(song.downbeats_s[:3]), 240 / 122.0018, atol=1e-3)
    enc = encode(song)
    assert enc.stats["instruments"] == 5 and enc.ids[0] == V.MORE


@pytest.mark.shared_data
def test_the_4_4_bar_fallback_is_only_for_a_set_declared_all_4_4(shared_data):
    """An LPD-cleansed file marks only its first downbeat; outside an all-4/4 set the fallback
    would invent bars, so the file becomes a reject naming the setting."""
    from emsync.core.config import TokensParams
    from emsync.music.corpus import tokenize_batch

    path = shared_data / "midi" / "b97c529ab9ef783a849b896816001748.npz"
    with pytest.raises(InputError, match="marks 1 downbeat.*tokens.npz_assume_4_4"):
        read_song(path)
    out = tokenize_batch([("b97c", path)], TokensParams())
    assert out["rows"] == [] and "npz_assume_4_4" in out["rejects"][0]["reason"]
    out = tokenize_batch([("b97c", path)], TokensParams(npz_assume_4_4=True))
    assert out["rejects"] == [] and out["rows"][0]["bars"] > 100


def test_token_sequence_of_a_small_song():
    # piano C4 (0-0.5 s) then C4 again (0.5-1.0 s) back to back; bass A1 under a silent second bar
    song = song_from_notes([(V.PIANO, 60, 0.0, 0.5), (V.PIANO, 60, 0.5, 1.0), (V.BASS, 33, 4.0, 5.0)], downbeats=[0.0, 2.0, 4.0, 6.0])
    enc, dec = assert_round_trip(song)
    assert toks(enc.ids) == [
        "FEWER_INSTRUMENTS",
        "START",
        "BAR",
        "PIANO_ON_60",
        "TIMESHIFT_504",  # 0.5 s = step 62.5 -> 63
        "PIANO_OFF_60",
        "PIANO_ON_60",
        "TIMESHIFT_496",  # OFF before ON: two notes, not one
        "PIANO_OFF_60",
        "TIMESHIFT_1000",
        "BAR",  # the silent bar at 2 s is kept
        "TIMESHIFT_1000",
        "TIMESHIFT_1000",
        "BAR",
        "BASS_ON_33",
        "TIMESHIFT_1000",
        "BASS_OFF_33",
    ]
    assert dec.notes.table().tolist() == [[3, 60, 0, 63], [3, 60, 63, 125], [1, 33, 500, 625]]


def test_overlapping_same_pitch_notes_follow_the_retrigger_rule():
    song = song_from_notes(
        [
            (V.GUITAR, 64, 0.0, 1.0),
            (V.GUITAR, 64, 0.5, 1.5),  # overlap -> cut at 0.5
            (V.GUITAR, 67, 0.0, 0.2),
            (V.GUITAR, 67, 0.0, 0.8),  # same onset -> the longer
            (V.PIANO, 64, 0.2, 0.4),
        ]
    )  # other instrument: untouched
    enc, dec = assert_round_trip(song)
    assert dec.notes.table().tolist() == [[2, 64, 0, 63], [2, 67, 0, 100], [3, 64, 25, 50], [2, 64, 63, 188]]
    assert enc.stats["truncated"] == 1 and enc.stats["duplicates"] == 1


def test_out_of_range_pitches_are_dropped_and_counted():
    song = song_from_notes([(V.PIANO, 20, 0, 1), (V.PIANO, 21, 0, 1), (V.PIANO, 108, 0, 1), (V.PIANO, 109, 0, 1), (V.DRUMS, 127, 0, 1)])
    enc, dec = assert_round_trip(song)
    assert enc.stats["dropped_pitch"] == 3 and dec.notes.pitch.tolist() == [21, 108]


def test_zero_length_notes_last_one_step():
    song = song_from_notes([(V.DRUMS, 36, 1.0, 1.0), (V.DRUMS, 38, 1.0, 1.003)])
    enc, dec = assert_round_trip(song)
    assert dec.notes.table().tolist() == [[0, 36, 125, 126], [0, 38, 125, 126]]
    assert enc.stats["lengthened"] == 2


def test_bars_follow_tempo_and_time_signature_changes():
    # 2 bars of 4/4 at 120 bpm (2 s each), then 3/4 at 60 bpm (3 s bars) from tick 3840
    midi = make_midi(
        [(0, False, [(0, 240, 60), (3840 + 3 * 1440, 480, 62)])], tempos=[(0, 120), (3840, 60)], time_sigs=[(0, 4, 4), (3840, 3, 4)]
    )
    song = read_midi(midi)
    assert np.allclose(song.downbeats_s[:5], [0, 2, 4, 7, 10])
    enc, dec = assert_round_trip(song)
    assert (dec.bar_steps * 0.008).round(3).tolist() == [0, 2, 4, 7, 10, 13]  # silent bars included
    assert np.isclose(dec.notes.on[1] * 0.008, 4 + 3 * 3, atol=0.004)


def test_thousands_of_tempo_changes():
    tempos = [(i * 48, 60 + (i % 120)) for i in range(5000)]
    midi = make_midi([(0, False, [(i * 480, 240, 60 + i % 12) for i in range(400)])], tempos=tempos)
    song = read_midi(midi)
    assert song.n_tempo_changes == 5000
    enc, _ = assert_round_trip(song)
    # reference time of note 100 (tick 48000): sum over the 1000 tempo segments before it
    ref = sum(48 / 480 * 60 / (60 + i % 120) for i in range(1000))
    assert abs(enc.notes.on[100] * 0.008 - ref) <= 0.004


def test_ten_hour_file_and_drum_only_and_single_note():
    # one drum hit per minute for 10 hours
    midi = make_midi([(0, True, [(i * 120 * 480, 60, 36) for i in range(601)])])
    enc, dec = assert_round_trip(read_midi(midi))
    assert dec.notes.on[-1] * 0.008 == pytest.approx(36000.0) and enc.ids[0] == V.FEWER
    assert enc.stats["bars"] == 18001  # 2 s bars at 120 bpm (0 .. 36000 s), silent ones kept
    single = read_midi(make_midi([(0, False, [(480, 480, 60)])]))
    enc, dec = assert_round_trip(single)
    assert toks(enc.ids) == ["FEWER_INSTRUMENTS", "START", "BAR", "TIMESHIFT_504", "PIANO_ON_60", "TIMESHIFT_496", "PIANO_OFF_60"]


def test_empty_and_broken_files(tmp_path):
    enc = encode(read_midi(make_midi([])))
    assert toks(enc.ids) == ["FEWER_INSTRUMENTS", "START"] and len(decode(enc.ids).notes) == 0
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x02garbage")
    with pytest.raises(InputError, match="bad.mid"):
        read_song(bad)
    with pytest.raises(InputError, match="not found"):
        read_song(tmp_path / "missing.mid")


def test_decode_tolerates_model_output_and_boosts_chord_notes():
    ids = [
        V.token_to_id(t)
        for t in [
            "START",
            "PIANO_OFF_60",
            "CHORD",
            "PIANO_ON_60",
            "PIANO_ON_64",
            "PIANO_ON_67",
            "BASS_ON_40",
            "TIMESHIFT_80",
            "PIANO_ON_72",
            "PIANO_ON_60",
            "TIMESHIFT_8",
            "PIANO_ON_72",
        ]
    ]
    dec = decode(ids, chord_boost=20)
    # an OFF with no sounding note is ignored; the last PIANO_ON_72 starts at the very end (zero length)
    assert dec.stats == {"stray_off": 1, "zero_length": 1}
    assert dec.notes.table().tolist() == [
        [1, 40, 0, 11],
        [3, 60, 0, 10],
        [3, 64, 0, 11],
        [3, 67, 0, 11],
        [3, 60, 10, 11],
        [3, 72, 10, 11],
    ]  # ON of a sounding pitch retriggers
    vel = dict(zip(map(tuple, dec.notes.table()[:, [1, 2]].tolist()), dec.velocity.tolist()))
    assert vel[(64, 0)] == 100 and vel[(40, 0)] == 110 and vel[(60, 10)] == 80  # chord notes (and bass) +20


note = st.tuples(st.integers(0, 4), st.integers(0, 127), st.integers(0, 20_000), st.integers(0, 3000))


@settings(max_examples=150, deadline=None)
@given(st.lists(note, max_size=60), st.lists(st.integers(0, 25_000), max_size=8))
def test_round_trip_on_generated_note_sets(notes, downbeats_ms):
    song = song_from_notes([(i, p, a / 1000, (a + d) / 1000) for i, p, a, d in notes], sorted(x / 1000 for x in downbeats_ms))
    enc, dec = assert_round_trip(song)
    n = dec.notes
    assert (n.off > n.on).all() and ((n.pitch >= 21) & (n.pitch <= 108)).all()
    key = n.instrument * 200 + n.pitch
    for k in np.unique(key):  # no two notes of one key overlap
        on, off = n.on[key == k], n.off[key == k]
        assert (on[1:] >= off[:-1]).all()
    inr = {(i, p, int(np.floor(a / 8 + 0.5))) for i, p, a, d in notes if 21 <= p <= 108}
    assert inr == set(zip(n.instrument.tolist(), n.pitch.tolist(), n.on.tolist()))
    assert np.cumsum(V.TIMESHIFT_MS[enc.ids])[-1] == (n.off.max() * 8 if len(n) else 0)


@pytest.mark.shared_data
def test_truncated_npz_is_an_input_error(shared_data, tmp_path):
    raw = (shared_data / "midi" / "b97c529ab9ef783a849b896816001748.npz").read_bytes()
    bad = tmp_path / "cut.npz"
    bad.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(InputError, match="cut.npz"):
        read_song(bad)


def test_lpd5_npz_layout_written_here_reads_back(tmp_path):
    """A 5-track LPD-5 file in the pypianoroll 0.x layout (CSC time x pitch per track)."""
    import json
    import zipfile

    res, n_steps = 24, 8 * 24  # 8 beats
    rolls = {name: np.zeros((n_steps, 128), np.uint8) for name in ("Drums", "Piano", "Guitar", "Bass", "Strings")}
    rolls["Piano"][0:48, [60, 64, 67]] = 100  # a 2-beat triad at 0: a strong chord
    rolls["Bass"][48:72, 36] = 90  # beat 2-3
    rolls["Drums"][0:2, 36] = 80
    rolls["Strings"][96:192, [20, 72]] = 70  # beats 4-8; pitch 20 is dropped
    arrays = {"tempo": np.full(n_steps, 120.0), "downbeat": np.arange(n_steps) % (4 * res) == 0}
    info = {"beat_resolution": res, "name": "x"}
    programs = {"Drums": 0, "Piano": 0, "Guitar": 24, "Bass": 32, "Strings": 48}
    for i, (name, roll) in enumerate(rolls.items()):
        cols = [np.flatnonzero(roll[:, p]) for p in range(128)]
        arrays[f"pianoroll_{i}_csc_data"] = np.concatenate([roll[c, p] for p, c in enumerate(cols)])
        arrays[f"pianoroll_{i}_csc_indices"] = np.concatenate(cols).astype(np.int32)
        arrays[f"pianoroll_{i}_csc_indptr"] = np.concatenate([[0], np.cumsum([len(c) for c in cols])]).astype(np.int32)
        arrays[f"pianoroll_{i}_csc_shape"] = np.array([n_steps, 128])
        info[str(i)] = {"program": programs[name], "is_drum": name == "Drums", "name": name}
    path = tmp_path / "song.npz"
    np.savez_compressed(path, **arrays)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("info.json", json.dumps(info))
    enc, dec = assert_round_trip(read_song(path))
    # 120 bpm, 24 steps per beat: step = 1/48 s; 8 ms grid: beat 1 = 0.5 s = step 63 (62.5 rounded up)
    assert dec.notes.table().tolist() == [
        [0, 36, 0, 5],
        [3, 60, 0, 125],
        [3, 64, 0, 125],
        [3, 67, 0, 125],
        [1, 36, 125, 188],
        [4, 72, 250, 500],
    ]
    assert enc.stats["dropped_pitch"] == 1 and enc.chord_times_s.tolist() == [0.0]
    assert dec.bar_steps.tolist() == [0, 250]  # downbeats at 0 and 2 s; the music ends at 4 s
