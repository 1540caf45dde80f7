"""Event tokenizer: a merged LPD-5 `Song` <-> token ids of vocabulary "emsync-v1" (§2.1, §4.1, §4.3).

Sequence layout:

    FEWER_INSTRUMENTS | MORE_INSTRUMENTS   (<= 2 / >= 3 instrument groups with notes, §4.3)
    START
    then per 8 ms time step that has events, in this order:
        TIMESHIFT...  (gap since the previous event step; 1000 ms tokens then the remainder)
        BAR           (a downbeat falls on this step; silent bars are kept)
        <I>_OFF_<p>   (notes ending here)
        CHORD         (a strong chord starts here: right before its first ON, §4.1)
        <I>_ON_<p>    (notes starting here)
    Within one kind, tokens are in id order (instrument-major, then pitch).

Rules that make the round trip exact (decode(encode(song)) == canonical_notes(song), note for note):
- times are rounded to the nearest 8 ms step (halves up); a note that rounds to zero length lasts one step;
- pitches outside 21..108 are dropped and counted (`dropped_pitch`);
- OFF comes before ON on the same step, so back-to-back repeats of a pitch decode as two notes;
- overlapping notes of one pitch on one instrument (common after merging tracks): a new onset
  ends the sounding note there ("retrigger", as a synthesizer does); notes with the same onset
  are one note, the longest (`duplicates`, `truncated` count these edits).
Bars: BAR tokens at every downbeat (tempo and time-signature changes followed) before the last
note ends, silent bars included.

Velocity (decision): tokens carry no velocity (the vocabulary has none, as upstream). Decoding
gives every note a fixed velocity per instrument (`VELOCITY`), and the ON tokens that follow a
CHORD token up to the next TIMESHIFT get `chord_boost` more (§4.1: chord notes louder at
generation; 0 by default, GenerateParams.chord_velocity_boost at generation).

    >>> from emsync.music.lpd5 import read_song
    >>> enc = encode(read_song("../shared/data/midi/Aicha.mid"))
    >>> dec = decode(enc.ids); assert dec.notes == enc.notes
"""

from dataclasses import dataclass, field

import numpy as np

from emsync.core.errors import InputError
from emsync.music import chords
from emsync.music import vocab as V
from emsync.music.lpd5 import Song

STEP_S = V.TIME_STEP_MS / 1000.0
MAX_SHIFT_STEPS = V.MAX_SHIFT_MS // V.TIME_STEP_MS  # 125
VELOCITY = {V.DRUMS: 90, V.BASS: 90, V.GUITAR: 80, V.PIANO: 80, V.STRINGS: 70}
PROGRAM = {V.BASS: 33, V.GUITAR: 25, V.PIANO: 0, V.STRINGS: 48}  # GM programs used when writing MIDI
# event kinds, in their order within one time step
_BAR, _OFF, _CHORD, _ON = range(4)


@dataclass
class Notes:
    """Notes on the 8 ms grid, sorted by (on, instrument, pitch). `==` compares every note."""

    instrument: np.ndarray  # (N,) int64
    pitch: np.ndarray  # (N,) int64
    on: np.ndarray  # (N,) int64 steps of 8 ms
    off: np.ndarray  # (N,) int64, > on

    def __len__(self):
        return len(self.pitch)

    def table(self) -> np.ndarray:
        """(N, 4) int64: instrument, pitch, on, off."""
        return np.stack([self.instrument, self.pitch, self.on, self.off], axis=1).astype(np.int64)

    def __eq__(self, other):
        return isinstance(other, Notes) and np.array_equal(self.table(), other.table())

    @classmethod
    def from_arrays(cls, instrument, pitch, on, off):
        a = [np.asarray(x, np.int64) for x in (instrument, pitch, on, off)]
        order = np.argsort((a[2] << 10) | (a[0] << 7) | a[1], kind="stable")  # (on, instrument, pitch)
        return cls(*(x[order] for x in a))


@dataclass
class Encoded:
    ids: np.ndarray  # (T,) int16 token ids
    notes: Notes  # the canonical notes the ids encode
    bar_steps: np.ndarray  # BAR positions (8 ms steps)
    chord_steps: np.ndarray  # strong chord onsets (8 ms steps) = training boundaries
    stats: dict = field(default_factory=dict)

    @property
    def chord_times_s(self) -> np.ndarray:
        return self.chord_steps * STEP_S


@dataclass
class Decoded:
    notes: Notes
    bar_steps: np.ndarray
    chord_steps: np.ndarray
    n_instruments_token: int | None  # FEWER / MORE id if present
    velocity: np.ndarray  # (N,) per note, aligned with `notes`
    stats: dict = field(default_factory=dict)


def to_steps(seconds) -> np.ndarray:
    """Nearest 8 ms step (halves round up; 1e-6 step of slack so 0.412 s is step 51.5 -> 52)."""
    return np.floor(np.asarray(seconds, np.float64) * (1000 / V.TIME_STEP_MS) + 0.5 + 1e-6).astype(np.int64)


def canonical_notes(song: Song) -> tuple[Notes, dict]:
    """Quantise to 8 ms, drop out-of-range pitches, apply the same-pitch overlap rule."""
    st = {"notes_in": len(song), "dropped_program": int(song.dropped_program)}
    inr = (song.pitch >= V.PITCH_MIN) & (song.pitch <= V.PITCH_MAX)
    st["dropped_pitch"] = int((~inr).sum())
    ins = song.instrument[inr].astype(np.int64)
    pit = song.pitch[inr].astype(np.int64)
    on = to_steps(song.start_s[inr])
    off = to_steps(song.end_s[inr])
    short = off <= on
    st["lengthened"] = int(short.sum())
    off = np.where(short, on + 1, off)
    # same (instrument, pitch, on): keep the longest
    if len(off) and off.max() < 1 << 24:  # one packed int64 key sorts faster than lexsort (README "Speed")
        order = np.argsort((((ins << 7 | pit) << 24 | on) << 24) | ((1 << 24) - 1 - off))
    else:  # songs over 37 hours
        order = np.lexsort((-off, on, pit, ins))
    ins, pit, on, off = ins[order], pit[order], on[order], off[order]
    same_key = np.zeros(len(on), bool)
    same_key[1:] = (ins[1:] == ins[:-1]) & (pit[1:] == pit[:-1])
    dup = same_key.copy()
    dup[1:] &= on[1:] == on[:-1]
    st["duplicates"] = int(dup.sum())
    ins, pit, on, off, same_key = ins[~dup], pit[~dup], on[~dup], off[~dup], same_key[~dup]
    # retrigger: a later onset of the same key ends the sounding note
    nxt_same = np.append(same_key[1:], False)
    nxt_on = np.append(on[1:], 0)
    cut = nxt_same & (off > nxt_on)
    st["truncated"] = int(cut.sum())
    off = np.where(cut, nxt_on, off)
    return Notes.from_arrays(ins, pit, on, off), st


def _shift_tokens(gaps: np.ndarray):
    """Per gap (steps, >= 0): how many TIMESHIFT tokens, and the id of the last (remainder) one."""
    n_full = np.where(gaps > 0, (gaps - 1) // MAX_SHIFT_STEPS, 0)
    rem = gaps - n_full * MAX_SHIFT_STEPS
    count = np.where(gaps > 0, n_full + 1, 0)
    last = V.SHIFT_OFFSET + np.maximum(rem, 1) - 1
    return count, last


def events_to_ids(steps, kinds, ids, head) -> np.ndarray:
    """Sort events by (step, kind, id) and interleave TIMESHIFT tokens; prefix `head`."""
    key = (steps.astype(np.int64) << 12) | (kinds.astype(np.int64) << 10) | ids  # ids < 1024
    key.sort()
    steps, ids = key >> 12, key & 1023
    gaps = np.diff(steps, prepend=0)
    count, last = _shift_tokens(gaps)
    csum = np.cumsum(count)
    n = len(ids) + int(csum[-1]) if len(ids) else 0
    out = np.full(n, V.SHIFT_OFFSET + MAX_SHIFT_STEPS - 1, np.int16)  # TIMESHIFT_1000 by default
    pos = np.arange(len(ids)) + csum  # where each event lands
    out[pos] = ids
    has = count > 0
    out[pos[has] - 1] = last[has]  # the remainder shift sits right before its event
    return np.concatenate([np.asarray(head, np.int16), out])


def encode(song: Song, params=None) -> Encoded:
    """Tokenize a merged song. `params`: TokensParams (chord rule); defaults follow §4.1."""
    min_notes = getattr(params, "chord_min_notes", 3)
    min_beats = getattr(params, "chord_min_beats", 2.0)
    notes, st = canonical_notes(song)
    end = int(notes.off.max()) if len(notes) else 0
    bars = np.unique(to_steps(song.downbeats_s))
    bars = bars[(bars >= 0) & (bars < end)]
    dur_beats = song.beats_at(notes.off * STEP_S) - song.beats_at(notes.on * STEP_S)
    chord_steps = chords.strong_chord_steps(notes.instrument, notes.pitch, notes.on, dur_beats, min_notes, min_beats)
    base = notes.instrument * V.N_PITCHES + notes.pitch - V.PITCH_MIN
    steps = np.concatenate([bars, notes.off, chord_steps, notes.on])
    kinds = np.concatenate(
        [np.full(len(bars), _BAR), np.full(len(notes), _OFF), np.full(len(chord_steps), _CHORD), np.full(len(notes), _ON)]
    )
    ids = np.concatenate([np.full(len(bars), V.BAR), V.OFF_OFFSET + base, np.full(len(chord_steps), V.CHORD), V.ON_OFFSET + base])
    n_instr = len(np.unique(notes.instrument))
    head = [V.FEWER if n_instr <= 2 else V.MORE, V.START]
    out = events_to_ids(steps, kinds, ids, head)
    st.update(
        notes=len(notes),
        tokens=len(out),
        bars=len(bars),
        chords=len(chord_steps),
        instruments=n_instr,
        duration_s=end * STEP_S,
        tempo_changes=int(song.n_tempo_changes),
    )
    return Encoded(out, notes, bars, chord_steps, st)


def decode(ids, chord_boost: int = 0) -> Decoded:
    """Token ids -> notes, bars and chord onsets. Tolerant of model output: an ON of a sounding
    pitch retriggers it, an OFF of a silent pitch is ignored (`stray_off`), notes still sounding
    at the end close at the last time step, zero-length notes are dropped (`zero_length`)."""
    ids = np.asarray(ids, dtype=np.int64)
    if len(ids) and (ids.min() < 0 or ids.max() >= V.SIZE):
        raise InputError(f"token ids outside the vocabulary 0..{V.SIZE - 1}")
    steps = np.cumsum(V.TIMESHIFT_MS[ids]) // V.TIME_STEP_MS  # (T,) time step of every token
    end = int(steps[-1]) if len(ids) else 0
    n_keys = V.N_INSTRUMENTS * V.N_PITCHES
    open_on = [-1] * n_keys
    open_vel = [0] * n_keys
    out_key, out_on, out_off, out_vel = [], [], [], []
    st = {"stray_off": 0, "zero_length": 0}
    boost_until = -1  # ON tokens after a CHORD and before this index (its next TIMESHIFT) are chord notes
    sel = np.flatnonzero(V.IS_NOTE[ids] | (ids == V.CHORD))
    shift_pos = np.flatnonzero(V.IS_SHIFT[ids])
    for i, t, s in zip(sel.tolist(), ids[sel].tolist(), steps[sel].tolist()):
        if t == V.CHORD:
            k = int(np.searchsorted(shift_pos, i))
            boost_until = int(shift_pos[k]) if k < len(shift_pos) else len(ids)
            continue
        if t >= V.OFF_OFFSET:
            k = t - V.OFF_OFFSET
            if open_on[k] < 0:
                st["stray_off"] += 1
                continue
        else:
            k = t - V.ON_OFFSET
        if open_on[k] >= 0:  # OFF, or ON retriggering a sounding pitch
            if s > open_on[k]:
                out_key.append(k), out_on.append(open_on[k]), out_off.append(s), out_vel.append(open_vel[k])
            else:
                st["zero_length"] += 1
            open_on[k] = -1
        if t < V.OFF_OFFSET:
            open_on[k] = s
            ins = k // V.N_PITCHES
            open_vel[k] = min(127, VELOCITY[ins] + (chord_boost if i < boost_until else 0))
    for k in range(n_keys):
        if open_on[k] >= 0:
            if end > open_on[k]:
                out_key.append(k), out_on.append(open_on[k]), out_off.append(end), out_vel.append(open_vel[k])
            else:
                st["zero_length"] += 1
    key = np.asarray(out_key, np.int64)
    on, off, vel = (np.asarray(x, np.int64) for x in (out_on, out_off, out_vel))
    ins, pit = key // V.N_PITCHES, key % V.N_PITCHES + V.PITCH_MIN
    order = np.lexsort((pit, ins, on))
    notes = Notes(ins[order], pit[order], on[order], off[order])
    head = [int(t) for t in ids[:2] if t in (V.FEWER, V.MORE)]
    return Decoded(notes, steps[ids == V.BAR], steps[ids == V.CHORD], head[0] if head else None, vel[order], st)


def to_score(dec: Decoded, tpq: int = 480, bpm: float = 120.0):
    """A symusic Score (one track per instrument group, GM drums on channel 10)."""
    from symusic import Note, Score, Tempo, Track

    score = Score(tpq)
    score.tempos.append(Tempo(0, qpm=bpm))
    ticks_per_step = STEP_S * bpm / 60.0 * tpq
    n = dec.notes
    for ins, name in enumerate(V.INSTRUMENTS):
        m = n.instrument == ins
        if not m.any():
            continue
        tr = Track(name=name.title(), program=PROGRAM.get(ins, 0), is_drum=ins == V.DRUMS)
        on = np.rint(n.on[m] * ticks_per_step).astype(int)
        off = np.rint(n.off[m] * ticks_per_step).astype(int)
        for a, b, p, v in zip(on.tolist(), off.tolist(), n.pitch[m].tolist(), dec.velocity[m].tolist()):
            tr.notes.append(Note(a, max(b - a, 1), p, v))
        score.tracks.append(tr)
    return score


def write_midi(dec: Decoded, path, bpm: float = 120.0) -> None:
    """Write decoded notes as a MIDI file (atomic). With 480 ticks per beat at 120 bpm one tick is
    ~1.04 ms, so every 8 ms step lands on its own tick and re-reading gives the same notes."""
    from emsync.core.io import atomic_path

    with atomic_path(path, suffix=".mid") as tmp:
        tmp.write_bytes(to_score(dec, bpm=bpm).dumps_midi())  # dump_midi(path) ignores write errors (a full disk)
