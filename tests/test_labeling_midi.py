"""Validation, eq. 3.1 tempo, features and the content hash on small MIDI files made here (§3.1)."""

import io

import mido
import numpy as np
import pytest

from emsync.labeling.midi import inspect_bytes, merge_encoded, encode_dense, Inst


def midi_bytes(parts, tempos=((0, 500000),), tpb=96, names=None, extra=None):
    """parts: list of (channel, program, [(pitch, vel, start_tick, end_tick)]) -> type-1 SMF bytes."""
    mf = mido.MidiFile(type=1, ticks_per_beat=tpb)
    cond = [(t, mido.MetaMessage("set_tempo", tempo=us)) for t, us in tempos]
    mf.tracks.append(_track(cond))
    for k, (ch, prog, notes) in enumerate(parts):
        ev = [
            (0, mido.MetaMessage("track_name", name=(names or {}).get(k, f"part{k}"))),
            (0, mido.Message("program_change", channel=ch, program=prog)),
        ]
        for p, v, s, e in notes:
            ev.append((s, mido.Message("note_on", channel=ch, note=p, velocity=v)))
            ev.append((e, mido.Message("note_off", channel=ch, note=p, velocity=0)))
        ev += (extra or {}).get(k, [])
        mf.tracks.append(_track(ev))
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def _track(events):
    tr, last = mido.MidiTrack(), 0
    for t, msg in sorted(events, key=lambda e: (e[0], e[1].type == "note_on")):  # offs before ons
        tr.append(msg.copy(time=t - last))
        last = t
    return tr


SONG = [
    (0, 0, [(60, 90, 0, 96), (64, 80, 96, 192), (67, 70, 192, 384)]),
    (1, 33, [(36, 100, 0, 192), (43, 100, 192, 384)]),
    (9, 0, [(36, 110, 0, 10), (38, 110, 96, 106), (42, 90, 192, 202)]),
]


@pytest.fixture(params=[True, False], ids=["fast", "reference"])
def fast(request):
    return request.param


def test_features_and_tempo_eq_3_1(fast):
    r = inspect_bytes(midi_bytes(SONG), fast=fast)
    assert r["valid"] and r["reason"] is None
    assert r["tempo"] == pytest.approx(120.0)
    assert r["n_instruments"] == 3 and r["has_drums"] is True and r["n_notes"] == 8
    assert r["duration"] == pytest.approx(2.0)  # 384 ticks at 96 tpb, 120 bpm
    assert r["note_density"] == pytest.approx(8 / 2.0)
    assert r["avg_note_density"] == pytest.approx(8 / 2.0 / 3)


def test_listing_3_1_tempo_value():
    """714285 µs per beat is Listing 3.1's 84.000084000084 bpm (60 / (tick scale x resolution))."""
    r = inspect_bytes(midi_bytes(SONG, tempos=((0, 714285),), tpb=480))
    assert r["tempo"] == 84.000084000084


def test_tempo_change_uses_the_longest_held_tempo(fast):
    # 1 beat at 60 bpm (1 s), then 63 beats at 140 bpm (27 s): the song is at 140 bpm
    notes = [(0, 0, [(60, 90, 96 * k, 96 * k + 48) for k in range(64)])]
    r = inspect_bytes(midi_bytes(notes, tempos=((0, 1_000_000), (96, int(6e7 / 140)))), fast=fast)
    assert r["tempo"] == pytest.approx(140.0, abs=1e-3)
    assert r["tempo_initial"] == pytest.approx(60.0)
    assert r["n_tempo_changes"] == 1


def _truncated():
    data = midi_bytes(SONG)
    return data[: len(data) - 20]


@pytest.mark.parametrize(
    "data,reason",
    [
        (b"", "empty"),
        (b"RIFF\x00\x00\x00\x04WAVE", "unreadable"),
        (b"MThd\x00\x00\x00\x02\x00\x01", "truncated"),
        (b"MThd\x00\x00\x00\x02\x00\x01\x00\x01\x00\x60", "unreadable"),
        (b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x00\x60MTrx\x00\x00\x00\x00", "unreadable"),
        (_truncated(), "truncated"),
        (midi_bytes([(0, 0, [])]), "zero_notes"),
        (midi_bytes(SONG, tempos=((0, 10),)), "absurd_tempo"),
        (midi_bytes([(0, 0, [(60, 90, 0, 96 * 10000)])], tempos=((0, 2_000_000),)), "absurd_length"),
    ],
    ids=["empty", "no-header", "short-header", "header-len-2", "bad-chunk-id", "truncated", "zero-notes", "absurd-tempo", "absurd-length"],
)
def test_rejects_with_reason(data, reason, fast):
    r = inspect_bytes(data, fast=fast, max_duration_s=3600.0)
    assert r["valid"] is False
    assert r["reason"] == reason, r


def test_random_bytes_never_raise():
    rng = np.random.default_rng(0)
    good = midi_bytes(SONG)
    for k in range(30):
        data = bytearray(good)
        for pos in rng.integers(14, len(data), size=int(rng.integers(1, 8))):
            data[pos] = int(rng.integers(0, 256))  # flip bytes inside the track chunks
        fast, ref = inspect_bytes(bytes(data)), inspect_bytes(bytes(data), fast=False)
        assert fast["valid"] in (True, False) and ref["valid"] in (True, False)
        if fast["valid"] and ref["valid"]:  # symusic and mido may disagree on what is damaged
            assert fast["content_hash"] == ref["content_hash"]


# --- the content hash ------------------------------------------------------------------------


def h(data, fast=True):
    r = inspect_bytes(data, fast=fast)
    assert r["valid"], r
    return r["content_hash"]


def test_hash_ignores_track_order_metadata_and_resolution(fast):
    base = h(midi_bytes(SONG), fast)
    assert h(midi_bytes(SONG[::-1], names={0: "part2", 1: "part1", 2: "part0"}), fast) == base  # same names, other order
    doubled = [(c, p, [(n, v, 2 * s, 2 * e) for n, v, s, e in notes]) for c, p, notes in SONG]
    assert h(midi_bytes(doubled, tpb=192), fast) == base  # every tick x2 with the resolution
    assert h(midi_bytes(SONG, extra={0: [(5, mido.MetaMessage("text", text="hi"))]}), fast) == base


def test_hash_sees_notes_velocity_and_instrument_names(fast):
    base = h(midi_bytes(SONG), fast)
    louder = [(0, 0, [(60, 91, 0, 96)] + SONG[0][2][1:])] + SONG[1:]
    assert h(midi_bytes(louder), fast) != base
    moved = [(0, 0, [(61, 90, 0, 96)] + SONG[0][2][1:])] + SONG[1:]
    assert h(midi_bytes(moved), fast) != base
    # §3.1 concatenates in *name* order: renaming so that the order changes changes the matrix
    assert h(midi_bytes(SONG, names={0: "zz", 1: "aa", 2: "mm"}), fast) != base


EDGE_CASES = {
    "overlap-same-pitch": [(0, 0, [(60, 80, 0, 40), (60, 70, 20, 60)])],
    "pedal": (
        lambda: (
            [(0, 0, [(60, 80, 0, 20), (64, 80, 30, 40)])],
            {0: [(0, mido.Message("control_change", control=64, value=127)), (90, mido.Message("control_change", control=64, value=0))]},
        )
    ),
    "pitch-bend": (
        lambda: (
            [(0, 0, [(60, 80, 0, 96), (62, 80, 96, 192)])],
            {0: [(48, mido.Message("pitchwheel", pitch=4096)), (120, mido.Message("pitchwheel", pitch=-8192))]},
        )
    ),
    "bends-at-pitch-edges": (
        lambda: (
            [(0, 0, [(0, 80, 0, 96), (1, 70, 10, 90), (127, 60, 20, 96), (125, 50, 0, 60)])],
            {
                0: [
                    (5, mido.Message("pitchwheel", pitch=8191)),
                    (40, mido.Message("pitchwheel", pitch=-8192)),
                    (70, mido.Message("pitchwheel", pitch=-3000)),
                    (80, mido.Message("pitchwheel", pitch=0)),
                ]
            },
        )
    ),
    "pedal-and-bends-in-two-places": (
        lambda: (
            [(0, 0, [(60, 80, 0, 20), (64, 80, 30, 40), (67, 90, 200, 230), (60, 50, 300, 380)])],
            {
                0: [
                    (0, mido.Message("control_change", control=64, value=100)),
                    (50, mido.Message("control_change", control=64, value=10)),
                    (210, mido.Message("pitchwheel", pitch=2000)),
                    (240, mido.Message("pitchwheel", pitch=0)),
                    (350, mido.Message("control_change", control=64, value=64)),
                ]
            },
        )
    ),
    "drums-only-end": [(9, 0, [(36, 100, 0, 500)]), (0, 0, [(60, 80, 0, 96)])],
    "two-channels-one-track": None,
    "tempo-changes": None,
}


@pytest.mark.parametrize("case", list(EDGE_CASES))
def test_fast_and_reference_agree_on_edge_cases(case):
    spec = EDGE_CASES[case]
    if case == "two-channels-one-track":
        mf = mido.MidiFile(type=0, ticks_per_beat=96)
        mf.tracks.append(
            mido.MidiTrack(
                [
                    mido.Message("note_on", channel=0, note=60, velocity=80, time=0),
                    mido.Message("note_on", channel=1, note=60, velocity=70, time=0),
                    mido.Message("note_off", channel=0, note=60, time=50),
                    mido.Message("note_off", channel=1, note=60, time=50),
                ]
            )
        )
        buf = io.BytesIO()
        mf.save(file=buf)
        data = buf.getvalue()
    elif case == "tempo-changes":
        data = midi_bytes(SONG, tempos=((0, 500000), (100, 400000), (250, 700001)))
    elif callable(spec):
        parts, extra = spec()
        data = midi_bytes(parts, extra=extra)
    else:
        data = midi_bytes(spec)
    fast, ref = inspect_bytes(data), inspect_bytes(data, fast=False)
    assert fast["parser"] == "fast"
    assert fast["valid"] and ref["valid"]
    for k in ("content_hash", "tempo", "duration", "n_notes", "note_density", "n_instruments", "has_drums"):
        assert fast[k] == ref[k], k


def test_merge_encoded_equals_dense_concatenation():
    rng = np.random.default_rng(3)
    rolls = [np.where(rng.random((128, w)) < 0.05, rng.integers(1, 4, (128, w)), 0).astype(float) for w in (7, 0, 1, 12)]
    rolls[2][:, 0] = rolls[0][:, -1]  # equal values across an instrument boundary
    insts = []
    for r in rolls:
        rr, cc, vv = encode_dense(r)
        insts.append(Inst("x", 0, False, 1, 0.0, r.shape[1], rr, cc, vv))
    w, rr, cc, vv = merge_encoded(insts)
    full = np.hstack(rolls)
    er, ec, ev = encode_dense(full)
    assert w == full.shape[1] and np.array_equal(rr, er) and np.array_equal(cc, ec) and np.array_equal(vv, ev)


def test_cli_midi_inspect_prints_one_json_line_per_file(tmp_path, capsys):
    import json

    from emsync.cli import main

    good, bad = tmp_path / "good.mid", tmp_path / "bad.mid"
    good.write_bytes(midi_bytes(SONG))
    bad.write_bytes(b"MThd\x00\x00\x00\x06\x00\x01\x00\x05\x00\x60")
    assert main(["midi", "inspect", str(good), str(bad)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["midi_id"] for x in lines] == ["good", "bad"]
    assert set(lines[0]) == {
        "midi_id",
        "valid",
        "reason",
        "content_hash",
        "note_density",
        "tempo",
        "n_instruments",
        "has_drums",
        "duration",
    }
    assert lines[0]["valid"] and lines[0]["tempo"] == 120.0 and lines[0]["has_drums"] is True
    assert lines[1] == {
        **{k: None for k in lines[0]},
        "midi_id": "bad",
        "valid": False,
        "reason": "truncated",
        "detail": "0 of 5 track chunks present",
    }


def test_known_divergence_is_caught_by_verification(tmp_path):
    """A key struck again while sounding, with one note-off for both: pretty_midi ends both notes,
    symusic drops the second. The fast path cannot see this; `verify_every` re-reads a sample of
    files with the reference and keeps the reference row when they disagree."""
    from emsync.labeling.scan import scan

    mf = mido.MidiFile(type=0, ticks_per_beat=96)
    mf.tracks.append(
        mido.MidiTrack(
            [
                mido.Message("note_on", note=60, velocity=80, time=0),
                mido.Message("note_on", note=60, velocity=70, time=10),
                mido.Message("note_off", note=60, time=10),
                mido.Message("note_on", note=62, velocity=80, time=5),
                mido.Message("note_off", note=62, time=10),
            ]
        )
    )
    path = tmp_path / "restruck.mid"
    mf.save(path)
    assert inspect_bytes(path.read_bytes())["n_notes"] == 2  # fast: the re-struck note is lost
    ref = inspect_bytes(path.read_bytes(), fast=False)
    assert ref["n_notes"] == 3
    (row,) = scan([path], verify_every=1)
    assert row["verified"] is False and row["content_hash"] == ref["content_hash"] and row["parser"] == "reference"


@pytest.mark.parametrize("seed", range(6))
def test_sparse_pedal_and_bends_equal_pretty_midi_roll(seed):
    """The fast path's roll under sustain pedal and pitch bends (column-compressed, vectorised)
    is pretty_midi's dense `get_piano_roll` cell for cell: random notes that overlap on a key,
    pedal presses that touch, repeat or (CCs out of order) overlap, bends at +-8192, 0 and
    |value| < 1 at shared times."""
    import pretty_midi

    from emsync.labeling.midi import encode_instrument

    rng = np.random.default_rng(seed)
    ins = pretty_midi.Instrument(0)
    for _ in range(int(rng.integers(5, 60))):
        s = float(rng.integers(0, 900)) / 97.0
        vel, pitch = int(rng.integers(1, 128)), int(rng.integers(0, 128))
        ins.notes.append(pretty_midi.Note(vel, pitch, s, s + float(rng.integers(0, 300)) / 89.0))
    t = np.sort(rng.integers(0, 1000, int(rng.integers(0, 40)))) / 103.0
    for x in t:  # pedal: in time order, values around the threshold, repeats included
        num, val = int(rng.choice([64, 64, 7])), int(rng.choice([0, 63, 64, 127]))
        ins.control_changes.append(pretty_midi.ControlChange(num, val, float(x)))
    if seed % 2:  # out of time order: pedal ranges overlap, applied one after another
        rng.shuffle(ins.control_changes)
    for x in rng.integers(0, 1000, int(rng.integers(0, 40))) / 103.0:  # bends: unsorted on purpose
        val = int(rng.choice([-8192, -8191, -4096, -1, 0, 0, 1, 2731, 8191]))
        ins.pitch_bends.append(pretty_midi.PitchBend(val, float(x)))
    roll = ins.get_piano_roll(fs=100)  # (128, W)

    def col(xs, attr, dtype):
        return np.array([getattr(x, attr) for x in xs], dtype=dtype)

    n, c, pb = ins.notes, ins.control_changes, ins.pitch_bends
    got = encode_instrument(
        "x",
        0,
        False,
        col(n, "velocity", np.int64),
        col(n, "pitch", np.int64),
        col(n, "start", float),
        col(n, "end", float),
        (col(c, "number", np.int64), col(c, "value", np.int64), col(c, "time", float)),
        (col(pb, "pitch", np.int64), col(pb, "time", float)),
    )
    er, ec, ev = encode_dense(roll)
    assert got.width == roll.shape[1]
    assert np.array_equal(got.rows, er) and np.array_equal(got.cols, ec) and np.array_equal(got.vals, ev)
