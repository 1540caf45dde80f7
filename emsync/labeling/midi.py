"""One MIDI file -> validity, content hash and features (thesis §3.1, eq. 3.1).

Two parsers give the same answer:

- **reference**: pretty_midi, literally as §3.1 describes the dedup: each instrument's piano roll
  (`Instrument.get_piano_roll(fs)`), instruments in name order, concatenated along time into one
  (128, W) matrix, hashed.
- **fast**: symusic (C++) parses the file; note times are converted from ticks with pretty_midi's
  own arithmetic (same float operations, so the same doubles) and the concatenated matrix is built
  sparsely. symusic pairs note-on/off first-in-first-out while pretty_midi ends every sounding
  note of a key at the next note-off; `pretty_midi_pairing` converts one into the other. Where
  pretty_midi reshapes a roll (sustain-pedal ranges, pitch bends) the same per-cell float
  operations run on a column-compressed roll (one column per stretch of frames where nothing
  starts or ends; `_banded_roll`), vectorised over all pedal ranges and all bends. Files where symusic's reading could
  differ in ways the bytes reveal cheaply (tempo events outside track 0, several track names in a
  track, non-ASCII names) go to `parse_hybrid` (pretty_midi's parse, sparse hashing).
  tests/test_labeling_dedup.py checks that fast and reference agree on the demo corpus and every
  real MIDI file. Known blind spots (pretty_midi keeps, symusic loses): a key struck again while
  sounding with no note-off left for the second note, and a program change between a note's on
  and off (pretty_midi files the note under the later program). `verify_every` re-reads a sample
  with the reference to measure this on a real corpus.

The hash is an md5 over a lossless encoding of the concatenated matrix (its width, then every
cell where a row changes value: row, column, new value, in row-major order), so two files get the
same hash exactly when their matrices are equal, without ever hashing megabytes of zeros.

Two details §3.1 leaves open, fixed here: instruments with the *same* name are ordered by their
own roll's digest (so track order never matters), and drum instruments keep pretty_midi's all-zero
roll (their notes do not enter the hash, only their length).
"""

import hashlib
import io
import warnings
from dataclasses import dataclass, field

import numpy as np

FS = 100  # piano-roll frames per second (pretty_midi's default; §3.1 does not state one)
MAX_TICK = 10_000_000  # pretty_midi rejects files whose last event is later than this tick

REASONS = ("empty", "unreadable", "truncated", "zero_notes", "absurd_tempo", "absurd_length", "too_large")


class MidiReject(Exception):
    """A file that fails validation; `reason` is one of REASONS."""

    def __init__(self, reason, detail=""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason, self.detail = reason, detail


@dataclass
class Inst:
    """One instrument as pretty_midi sees it: notes in seconds, plus its roll's sparse form."""

    name: str
    program: int
    is_drum: bool
    n_notes: int
    end_time: float  # pretty_midi Instrument.get_end_time(): last note end, bend or CC
    width: int = 0  # roll columns: int(FS * end_time)
    rows: np.ndarray = field(default=None, repr=False)  # change points of the roll (see module doc)
    cols: np.ndarray = field(default=None, repr=False)
    vals: np.ndarray = field(default=None, repr=False)
    digest: str = ""  # roll digest; the fast path fills it only to break a name tie (_order)


@dataclass
class Parsed:
    resolution: int  # ticks per beat
    tick_scales: list  # [(tick, seconds per tick)] as pretty_midi's _tick_scales
    tick_scale_times: np.ndarray  # start time (s) of each tick scale
    instruments: list
    content_hash: str
    parser: str  # "fast" | "reference"


# --------------------------------------------------------------------------------------------
# the lossless sparse encoding of a piano roll and the content hash


def encode_dense(roll):
    """(128, W) matrix -> (rows, cols, vals) of every cell that differs from its left neighbour
    (column 0 compares with 0), row-major."""
    prev = np.zeros_like(roll)
    prev[:, 1:] = roll[:, :-1]
    r, c = np.nonzero(roll != prev)
    return r.astype(np.int64), c.astype(np.int64), roll[r, c].astype(np.float64)


def _digest(width, rows, cols, vals) -> str:
    h = hashlib.md5(b"128x%d|" % width)
    h.update(np.ascontiguousarray(rows, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(cols, dtype="<i8").tobytes())
    h.update(np.ascontiguousarray(vals, dtype="<f8").tobytes())
    return h.hexdigest()


def _order(instruments):
    """§3.1: instruments in name order; equal names by their roll digest (computed here, only
    for names that occur more than once: the digest is only a tie-break)."""
    from collections import Counter

    names = Counter(i.name for i in instruments)
    for i in instruments:
        if names[i.name] > 1 and not i.digest:
            i.digest = _digest(i.width, i.rows, i.cols, i.vals)
    return sorted(instruments, key=lambda i: (i.name, i.digest))


def merge_encoded(instruments):
    """Encoding of the column-wise concatenation of several encoded rolls (in the given order)."""
    prev_last = np.zeros(128)
    offset = 0
    rr, cc, vv = [], [], []
    for ins in instruments:
        if ins.width == 0:
            continue
        r, c, v = ins.rows, ins.cols, ins.vals
        at0 = c == 0
        v0 = np.zeros(128)
        v0[r[at0]] = v[at0]
        last = np.zeros(128)
        if len(r):
            ends = np.r_[np.nonzero(np.diff(r))[0], len(r) - 1]  # last change point of each row
            last[r[ends]] = v[ends]
        keep = ~at0
        new0 = np.nonzero(v0 != prev_last)[0]  # rows whose value changes at the boundary
        rr += [r[keep], new0]
        cc += [c[keep] + offset, np.full(len(new0), offset, dtype=np.int64)]
        vv += [v[keep], v0[new0]]
        prev_last = last
        offset += ins.width
    if not rr:
        return 0, np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    r, c, v = np.concatenate(rr), np.concatenate(cc), np.concatenate(vv)
    o = np.lexsort((c, r))
    return offset, r[o], c[o], v[o]


# --------------------------------------------------------------------------------------------
# structural scan of the raw bytes (cheap; decides 'truncated' the same way for both parsers)


def scan_chunks(data: bytes):
    """Split SMF bytes into (header fields, [track chunk bytes]); raise MidiReject on damage."""
    if len(data) == 0:
        raise MidiReject("empty", "0 bytes")
    if data[:4] != b"MThd":
        raise MidiReject("unreadable", "no MThd header")
    if len(data) < 14:
        raise MidiReject("truncated", f"header cut at {len(data)} bytes")
    hlen = int.from_bytes(data[4:8], "big")
    if hlen < 6:
        raise MidiReject("unreadable", f"header length {hlen} < 6")
    fmt, ntracks, division = (int.from_bytes(data[8 + 2 * k : 10 + 2 * k], "big") for k in range(3))
    if division & 0x8000:
        raise MidiReject("unreadable", "SMPTE time division is not supported")
    if division == 0:
        raise MidiReject("unreadable", "0 ticks per beat")
    pos, chunks = 8 + hlen, []
    while len(chunks) < ntracks:
        if pos + 8 > len(data):
            raise MidiReject("truncated", f"{len(chunks)} of {ntracks} track chunks present")
        cid, clen = data[pos : pos + 4], int.from_bytes(data[pos + 4 : pos + 8], "big")
        if cid != b"MTrk":
            raise MidiReject("unreadable", f"chunk id {cid!r} at byte {pos} is not MTrk")
        if pos + 8 + clen > len(data):
            raise MidiReject("truncated", f"track chunk {len(chunks)} declares {clen} bytes, {len(data) - pos - 8} present")
        chunks.append(data[pos + 8 : pos + 8 + clen])
        pos += 8 + clen
    return (fmt, ntracks, division), chunks


# --------------------------------------------------------------------------------------------
# reference parser: pretty_midi


def _load_pm(data: bytes):
    import pretty_midi

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return pretty_midi.PrettyMIDI(io.BytesIO(data))
        except Exception as e:
            raise MidiReject("unreadable", f"{type(e).__name__}: {e}") from None


def _check_length(end_time, max_duration_s):
    """Reject absurd lengths before any roll is made (a roll is FS columns per second)."""
    if end_time > max_duration_s:
        raise MidiReject("absurd_length", f"{end_time:.0f} s > {max_duration_s:g}")


def parse_reference(data: bytes, fs=FS, max_duration_s=float("inf")) -> Parsed:
    pm = _load_pm(data)
    _check_length(max((i.get_end_time() for i in pm.instruments), default=0.0), max_duration_s)
    insts, rolls = [], []
    for i in pm.instruments:
        roll = i.get_piano_roll(fs=fs)
        r, c, v = encode_dense(roll)
        ins = Inst(i.name, int(i.program), bool(i.is_drum), len(i.notes), float(i.get_end_time()), roll.shape[1], r, c, v)
        ins.digest = _digest(ins.width, r, c, v)
        insts.append(ins)
        rolls.append(roll)
    order = sorted(range(len(insts)), key=lambda k: (insts[k].name, insts[k].digest))
    matrix = np.hstack([rolls[k] for k in order]) if rolls else np.zeros((128, 0))  # (128, W)
    h = _digest(matrix.shape[1], *encode_dense(matrix))
    times = pm.get_tempo_changes()[0]
    return Parsed(pm.resolution, list(pm._tick_scales), np.asarray(times, dtype=float), insts, h, "reference")


# --------------------------------------------------------------------------------------------
# fast parser: symusic + pretty_midi's tick arithmetic


class _Fallback(Exception):
    """The fast parser cannot promise pretty_midi's reading of this file."""


def tick_scales_from_tempos(tempo_ticks, mspq, resolution):
    """pretty_midi's _load_tempo_changes on (tick, microseconds per beat) events in file order."""
    scales = [(0, 60.0 / (120.0 * resolution))]
    for tick, us in zip(tempo_ticks, mspq):
        bpm = 6e7 / int(us)
        scale = 60.0 / (bpm * resolution)
        if tick == 0:
            scales = [(0, scale)]
        elif scale != scales[-1][1]:
            scales.append((int(tick), scale))
    return scales


def tick_table(tick_scales):
    """(start ticks, seconds per tick, start times) of pretty_midi's tick scales; the start times
    accumulate exactly as pretty_midi's _update_tick_to_time does."""
    starts = np.array([t for t, _ in tick_scales], dtype=np.int64)
    scales = np.array([s for _, s in tick_scales], dtype=np.float64)
    base = np.zeros(len(starts))
    for k in range(1, len(starts)):
        base[k] = base[k - 1] + scales[k - 1] * (starts[k] - starts[k - 1])
    return starts, scales, base


def _seconds(ticks, table):
    starts, scales, base = table
    ticks = np.asarray(ticks, dtype=np.int64)
    idx = np.searchsorted(starts, ticks, side="right") - 1
    return base[idx] + scales[idx] * (ticks - starts[idx])


def _sparse_roll(pitch, s, e, velocity, width):
    """Encoding of pretty_midi's roll (no pedal, no bends): sum of velocities over [s, e)."""
    ok = s < e
    pitch, s, e, velocity = pitch[ok], s[ok], e[ok], velocity[ok].astype(np.int64)
    keys = np.concatenate([pitch * (width + 1) + s, pitch * (width + 1) + e])
    deltas = np.concatenate([velocity, -velocity])
    o = np.argsort(keys, kind="stable")
    keys, deltas = keys[o], deltas[o]
    uk, first = np.unique(keys, return_index=True)
    net = np.add.reduceat(deltas, first) if len(keys) else deltas
    value = np.cumsum(net)  # every row's deltas sum to 0, so the running sum restarts per row
    r, c = uk // (width + 1), uk % (width + 1)
    m = (net != 0) & (c < width)
    return r[m], c[m], value[m].astype(np.float64)


def _pedal_ranges(cc_num, cc_val, cc_time, fs, threshold=64):
    """pretty_midi's sustain-pedal state machine, vectorised: (on, off) column pairs in order.
    Pedal on at the first CC64 >= threshold after an off state, off at the next one below; a
    trailing 'on' without an 'off' has no effect (pretty_midi never closes it)."""
    m = np.asarray(cc_num) == 64
    if not m.any():
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    down = np.asarray(cc_val)[m] >= threshold
    cols = (np.asarray(cc_time, dtype=np.float64)[m] * fs).astype(np.int64)  # int(t * fs)
    prev = np.r_[False, down[:-1]]
    on, off = cols[down & ~prev], cols[~down & prev]  # strictly alternating, starting with on
    return on[: len(off)], off


def _pedal_matters(cc_num, cc_val, cc_time, fs):
    """True when pretty_midi's sustain-pedal pass would touch a non-empty column range."""
    on, off = _pedal_ranges(cc_num, cc_val, cc_time, fs)
    return bool(np.any(off > on))


def _bend_ops(bends, end_time, fs):
    """pretty_midi's pitch-bend pass as (c0, c1, semitones) column ranges (bends sorted by time,
    each held until the next, the last until end_time; |value| < 1 leaves the roll as is)."""
    bend_val, bend_time = bends
    o = np.argsort(np.asarray(bend_time, dtype=np.float64), kind="stable")  # sorted() is stable
    pb = np.asarray(bend_val, dtype=np.int64)[o]
    t0 = np.asarray(bend_time, dtype=np.float64)[o]
    t1 = np.r_[t0[1:], end_time]
    c0, c1 = (t0 * fs).astype(np.int64), (t1 * fs).astype(np.int64)
    k = (np.abs(pb) >= 1) & (c1 > c0)
    return c0[k], c1[k], pb[k]


def _banded_roll(pitch, vel, start, end, cc, bends, width, end_time, fs):
    """pretty_midi's `get_piano_roll` (notes, then sustain pedal, then pitch bends) on a
    column-compressed roll: one column per stretch of frames in which no note starts or ends
    and no pedal/bend range begins or ends. Every frame of a stretch holds the same column, the
    pedal's running maximum and the bend's per-column shift + interpolation give the same result
    on one copy as on each, so the compressed roll decompresses to pretty_midi's roll exactly
    (same float operations per cell). Rows: the notes' pitches +- 3 (a bend moves at most 2
    semitones and interpolates with 1 more row). Returns the roll's encoding."""
    s = (start * fs).astype(np.int64)
    e = (end * fs).astype(np.int64)
    p_on, p_off = _pedal_ranges(*cc, fs)
    kp = p_off > p_on
    p_on, p_off = np.minimum(p_on[kp], width), np.minimum(p_off[kp], width)
    b0, b1, pb = _bend_ops(bends, end_time, fs)
    b0, b1 = np.minimum(b0, width), np.minimum(b1, width)
    if not len(p_on) and not len(b0):
        return _sparse_roll(pitch, s, e, vel, width)
    ok = s < e
    if not ok.any():  # nothing sounds: the roll stays all zeros
        return _sparse_roll(pitch, s, e, vel, width)
    pitch, s, e, vel = pitch[ok], s[ok], e[ok], vel[ok].astype(np.float64)
    edges = np.unique(np.concatenate([[0], s, e, p_on, p_off, b0, b1]))
    edges = edges[edges < width]  # column k of the compressed roll = frames [edges[k], edges[k+1])
    n = len(edges)
    lo, hi = max(0, int(pitch.min()) - 3), min(128, int(pitch.max()) + 4)
    diff = np.zeros((hi - lo, n + 1))
    np.add.at(diff, (pitch - lo, np.searchsorted(edges, s)), vel)
    np.add.at(diff, (pitch - lo, np.searchsorted(edges, e)), -vel)
    roll = np.cumsum(diff, axis=1)[:, :n]  # integer velocity sums: exact
    if len(p_on):
        j0, j1 = np.searchsorted(edges, p_on), np.searchsorted(edges, p_off)
        j0, j1 = j0[j1 > j0], j1[j1 > j0]
        if np.all(j0[1:] >= j1[:-1]):  # disjoint ranges in order (CCs sorted by time)
            # one running maximum over all pedalled columns: lifting range k by k * big makes
            # each range start above everything before it, so the maximum restarts per range
            # (integer values far below 2**53: lifting and lowering are exact)
            seg = np.zeros(n, np.int64)
            np.add.at(seg, j0, 1)
            np.add.at(seg, j1[j1 < n], -1)
            cols = np.nonzero(np.cumsum(seg) > 0)[0]
            rid = np.searchsorted(j0, cols, side="right").astype(np.float64)
            big = float(roll.max()) + 1.0
            lift = rid * big
            roll[:, cols] = np.maximum.accumulate(roll[:, cols] + lift, axis=1) - lift
        else:  # overlapping ranges: pretty_midi's order, one range at a time
            for a, b in zip(j0, j1):
                roll[:, a:b] = np.maximum.accumulate(roll[:, a:b], axis=1)
    if len(b0):
        j0, j1 = np.searchsorted(edges, b0), np.searchsorted(edges, b1)
        lens = j1 - j0
        cols = np.repeat(j0 - np.cumsum(np.r_[0, lens[:-1]]), lens) + np.arange(lens.sum())
        st = 2.0 * np.repeat(pb, lens) / 8192.0  # pretty_midi.utilities.pitch_bend_to_semitones
        b_int = (np.sign(st) * np.floor(np.abs(st))).astype(np.int64)
        b_dec = np.abs(st - b_int)
        up = st >= 0
        for sign in (True, False):
            for k in np.unique(b_int[up == sign]):
                g = (up == sign) & (b_int == k)
                c, d = cols[g], b_dec[g]
                src = roll[:, c]
                bent = np.zeros(src.shape)
                if k > 0:
                    bent[k:] = src[:-k]
                elif k < 0:
                    bent[:k] = src[-k:]
                else:
                    bent = src
                if sign:
                    bent[1:] = (1 - d) * bent[1:] + d * bent[:-1]
                else:
                    bent[:-1] = (1 - d) * bent[:-1] + d * bent[1:]
                roll[:, c] = bent
    r, c, v = encode_dense(roll)
    return r + lo, edges[c], v


def encode_instrument(name, program, is_drum, vel, pitch, start, end, cc, bends, fs=FS) -> Inst:
    """Sparse form of pretty_midi's `Instrument.get_piano_roll(fs)` from note/CC/bend arrays
    (times in seconds, pretty_midi's doubles). Rolls that pretty_midi reshapes (sustain-pedal
    ranges, pitch bends) are made on a band of rows and compressed columns (`_banded_roll`)."""
    cc_num, cc_val, cc_time = cc
    bend_val, bend_time = bends
    end_time = float(max(end.max(), np.max(cc_time, initial=-1.0), np.max(bend_time, initial=-1.0)))
    ins = Inst(name, program, is_drum, len(pitch), end_time, int(fs * end_time))
    if is_drum:  # pretty_midi rolls drums as zeros
        ins.rows, ins.cols, ins.vals = np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0)
    elif np.any(np.abs(bend_val) >= 1) or _pedal_matters(cc_num, cc_val, cc_time, fs):
        ins.rows, ins.cols, ins.vals = _banded_roll(pitch, vel, start, end, cc, bends, ins.width, end_time, fs)
    else:
        s = (start * fs).astype(np.int64)
        e = (end * fs).astype(np.int64)
        ins.rows, ins.cols, ins.vals = _sparse_roll(pitch, s, e, vel, ins.width)
    return ins  # ins.digest is filled by _order when a name tie needs it


def parse_hybrid(data: bytes, fs=FS, max_duration_s=float("inf")) -> Parsed:
    """pretty_midi's parse (its note pairing), sparse roll encoding: the fast path's fallback."""
    pm = _load_pm(data)
    _check_length(max((i.get_end_time() for i in pm.instruments), default=0.0), max_duration_s)
    insts = []
    for i in pm.instruments:
        a = np.array([(n.velocity, n.pitch, n.start, n.end) for n in i.notes], dtype=float).reshape(-1, 4)
        cc = (
            np.array([c.number for c in i.control_changes], dtype=np.int64),
            np.array([c.value for c in i.control_changes], dtype=np.int64),
            np.array([c.time for c in i.control_changes], dtype=float),
        )
        bends = (np.array([b.pitch for b in i.pitch_bends], dtype=np.int64), np.array([b.time for b in i.pitch_bends], dtype=float))
        insts.append(
            encode_instrument(
                i.name, int(i.program), bool(i.is_drum), a[:, 0].astype(np.int64), a[:, 1].astype(np.int64), a[:, 2], a[:, 3], cc, bends, fs
            )
        )
    h = _digest(*merge_encoded(_order(insts)))
    return Parsed(pm.resolution, list(pm._tick_scales), np.asarray(pm.get_tempo_changes()[0], dtype=float), insts, h, "hybrid")


def pretty_midi_pairing(time, duration, pitch):
    """Note ends as pretty_midi pairs them, from symusic's first-in-first-out pairing.

    pretty_midi closes *every* sounding note of a key at its next note-off (a re-struck key gives
    two notes ending together); symusic closes the oldest one. The note-offs symusic used are its
    notes' end ticks (the ones it ignored had nothing sounding, so pretty_midi ignored them too),
    hence pretty_midi's end of a note = the first of those ticks after its start, per pitch.
    (Not recoverable: a re-struck note that symusic never closed because no further note-off
    followed on that key; pretty_midi would end it with the sounding one.)"""
    t0 = np.asarray(time, dtype=np.int64)
    t1 = t0 + np.asarray(duration, dtype=np.int64)
    p = np.asarray(pitch, dtype=np.int64)
    big = int(t1.max(initial=0)) + 1
    offs = np.sort(p * big + t1)
    idx = np.searchsorted(offs, p * big + t0, side="right")
    idx = np.minimum(idx, len(offs) - 1)
    end = offs[idx] - p * big
    return t0, np.where(end > t0, end, t1)


def parse_fast(data: bytes, chunks, resolution, fs=FS, max_duration_s=float("inf")) -> Parsed:
    import symusic

    for k, ch in enumerate(chunks):  # cheap byte guards (a false alarm only costs speed)
        if k > 0 and b"\xff\x51\x03" in ch:
            raise _Fallback("tempo event outside track 0")
        if ch.count(b"\xff\x03") > 1:
            raise _Fallback("several track names in one track")
    try:
        score = symusic.Score.from_midi(data)
    except Exception as e:
        raise _Fallback(f"symusic: {e}") from None
    tempos = score.tempos.numpy()
    scales = tick_scales_from_tempos(tempos["time"], tempos["mspq"], resolution)
    table = tick_table(scales)  # once per file, not per track
    insts = []
    max_tick = 0
    for tr in score.tracks:
        notes = tr.notes.numpy()
        keep = notes["duration"] > 0  # pretty_midi never closes a note on its own start tick
        if not keep.any():
            continue
        name = tr.name
        if not name.isascii():
            raise _Fallback("non-ASCII track name")
        t0, t1 = pretty_midi_pairing(notes["time"], notes["duration"], notes["pitch"])
        t0, t1 = t0[keep], t1[keep]
        pitch = notes["pitch"][keep].astype(np.int64)
        vel = notes["velocity"][keep].astype(np.int64)
        ctl, bend = tr.controls.numpy(), tr.pitch_bends.numpy()
        ticks_all = np.concatenate([t1, ctl["time"].astype(np.int64), bend["time"].astype(np.int64)])
        max_tick = max(max_tick, int(ticks_all.max()))
        if max_tick >= MAX_TICK:
            raise _Fallback("tick beyond pretty_midi's limit")
        start, end = _seconds(t0, table), _seconds(t1, table)
        cc = (ctl["number"], ctl["value"], _seconds(ctl["time"], table))
        bends = (bend["value"], _seconds(bend["time"], table))
        _check_length(float(max(end.max(), np.max(cc[2], initial=0.0), np.max(bends[1], initial=0.0))), max_duration_s)
        insts.append(encode_instrument(name, int(tr.program), bool(tr.is_drum), vel, pitch, start, end, cc, bends, fs))
    h = _digest(*merge_encoded(_order(insts)))
    return Parsed(resolution, scales, table[2], insts, h, "fast")


# --------------------------------------------------------------------------------------------
# features (§3.1) and validation


def estimated_tempo(tick_scale, resolution) -> float:
    """Eq. 3.1: 60 / (tick scale x resolution), in beats per minute."""
    return 60.0 / (tick_scale * resolution)


def features(p: Parsed) -> dict:
    """§3.1 MIDI features. `duration` is the end of the last note/bend/CC (seconds).

    Tempo under tempo changes: eq. 3.1 is applied to the tick scale that is in effect for the
    longest stretch of the song's duration (ties: the earliest). One label describes a whole song,
    so the tempo a listener hears most is the one that should set arousal; a count-in, an intro
    marked at another tempo or a final ritardando does not. With one tempo this is exactly eq. 3.1;
    `tempo_initial` (the tick scale at tick 0) is kept as well."""
    n_notes = sum(i.n_notes for i in p.instruments)
    duration = max((i.end_time for i in p.instruments), default=0.0)
    n_inst = len(p.instruments)
    starts = np.asarray(p.tick_scale_times, dtype=float)
    ends = np.append(starts[1:], max(duration, starts[-1]))
    held = np.clip(np.minimum(ends, duration) - starts, 0.0, None)
    k = int(np.argmax(held)) if held.max() > 0 else 0
    density = n_notes / duration if duration > 0 else 0.0
    return {
        "n_notes": int(n_notes),
        "duration": float(duration),
        "note_density": float(density),
        "n_instruments": int(n_inst),
        "avg_note_density": float(density / n_inst) if n_inst else 0.0,
        "has_drums": any(i.is_drum for i in p.instruments),
        "tempo": estimated_tempo(p.tick_scales[k][1], p.resolution),
        "tempo_initial": estimated_tempo(p.tick_scales[0][1], p.resolution),
        "n_tempo_changes": len(p.tick_scales) - 1,
        "resolution": int(p.resolution),
        "programs": sorted({(int(i.program), bool(i.is_drum)) for i in p.instruments}),
    }


def inspect_bytes(data: bytes, fast=True, fs=FS, max_tempo_bpm=1000.0, max_duration_s=3600.0) -> dict:
    """Validate one file and, when valid, hash and describe it. Never raises for bad input:
    invalid files come back with valid=False and a reason from REASONS."""
    row = {"valid": False, "reason": None, "detail": None, "content_hash": None, "parser": None}
    try:
        (_fmt, _n, division), chunks = scan_chunks(data)
        parsed = None
        if fast:
            try:
                parsed = parse_fast(data, chunks, division, fs, max_duration_s)
            except _Fallback as e:
                row["detail"] = f"fast parser skipped: {e}"
                parsed = parse_hybrid(data, fs, max_duration_s)
        if parsed is None:
            parsed = parse_reference(data, fs, max_duration_s)
        f = features(parsed)
        row.update(f)
        row["parser"], row["content_hash"] = parsed.parser, parsed.content_hash
        if f["n_notes"] == 0:
            raise MidiReject("zero_notes", "no notes with a duration")
        if not 0 < f["tempo"] <= max_tempo_bpm:
            raise MidiReject("absurd_tempo", f"{f['tempo']:.1f} bpm > {max_tempo_bpm:g}")
        if f["duration"] > max_duration_s:
            raise MidiReject("absurd_length", f"{f['duration']:.0f} s > {max_duration_s:g}")
        row["valid"] = True
    except MidiReject as e:
        row["reason"], row["detail"] = e.reason, e.detail
    except Exception as e:  # anything else a broken file can provoke is still one reject
        row["reason"], row["detail"] = "unreadable", f"{type(e).__name__}: {e}"
    return row
