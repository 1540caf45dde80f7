"""One music21 work -> a standard MIDI file in the tokenizer's instruments, plus the facts its
labels are derived from.

Part -> instrument mapping (the LPD-5 groups of emsync/music/lpd5.py; decision, stated in the
data card). The corpus is voices and fiddle tunes, not band arrangements, so parts are mapped by
register the way a chorale or a quartet is accompanied from a keyboard (basso continuo):

    one part (a tune)        -> STRINGS (GM 48): the melody
    two or more parts:
      the highest part       -> STRINGS (GM 48): the melody line
      every other part       -> PIANO (GM 0): the inner voices and the bass, as a keyboard plays them
      the lowest part, again -> BASS (GM 32): the continuo bass line doubles it

"Highest"/"lowest" is by mean MIDI pitch. This gives every multi-part work three groups
(MORE_INSTRUMENTS), and lets §4.1's strong chords exist: a piano chord of >= 3 notes held >= 2
beats is, in a 4-part chorale, the alto, tenor and bass holding a cadence (fermata) chord. A tune
is one group (FEWER_INSTRUMENTS) and has no strong chords. No drums, no guitar.

Timing: notes keep the score's metrical positions (ties merged), except that a fermata is held
for its written value once more (the bar that holds it gets a longer time signature, e.g. 5/4, so
the bar lines after it stay on the score's barlines); tempo from the score's metronome marks (music21's default 120 quarter notes per minute where there is none, recorded as
`tempo_source`); time signatures become MIDI time-signature events; a pickup bar is padded with
rest so that bar lines fall where the score has them (the tokenizer's BAR tokens follow them).
Repeats are not expanded. Grace notes (zero length) are dropped.
"""

from dataclasses import dataclass, field

import numpy as np

from emsync.core.errors import EmsyncError

TICKS = 480  # MIDI ticks per quarter note
PROGRAMS = {"strings": 48, "piano": 0, "bass": 32}
CHANNELS = {"strings": 0, "piano": 1, "bass": 2}
DEFAULT_QPM = 120.0  # music21's tempo when a score has none


@dataclass
class Converted:
    midi: bytes
    facts: dict = field(default_factory=dict)


def parse_work(work, root) -> object:
    """The music21 Score of one Work (a tune of a multi-tune ABC file is parsed on its own)."""
    from pathlib import Path

    from music21 import converter

    from emsync.real_music.works import abc_tunes

    path = Path(root) / work.path
    if work.tune:
        header, tunes = abc_tunes(path.read_text(encoding="utf-8", errors="replace"))
        return converter.parse(header + tunes[work.tune - 1], format="abc")
    return converter.parse(str(path))


def part_notes(part, pad: float) -> np.ndarray:
    """(N, 4) float: onset and duration in quarter notes (shifted by `pad`), MIDI pitch, fermata
    (1.0 on a note or chord marked with one); one row per sounding pitch, ties merged, zero-length
    notes dropped."""
    from music21 import expressions

    rows = []
    for n in part.stripTies(inPlace=False).flatten().notes:
        ql = float(n.quarterLength)
        if ql <= 0:
            continue
        held = float(any(isinstance(e, expressions.Fermata) for e in n.expressions))
        for p in n.pitches:
            rows.append((float(n.offset) + pad, ql, float(p.midi), held))
    return np.asarray(rows, np.float64).reshape(-1, 4)


def fermata_holds(notes: np.ndarray, max_hold: float = 4.0) -> tuple[np.ndarray, np.ndarray]:
    """(end times, extra quarter notes) of the fermatas: a note under a fermata is held for its
    written value once more (at most `max_hold`), the common way of performing a chorale's or a
    tune's fermata; one hold per end time (the longest)."""
    f = notes[notes[:, 3] > 0]
    holds: dict = {}
    for on, dur, _, _ in f:
        end = round(on + dur, 6)
        holds[end] = max(holds.get(end, 0.0), min(dur, max_hold))
    ends = np.array(sorted(holds))
    return ends, np.array([holds[e] for e in ends])


def warp(t, ends: np.ndarray, holds: np.ndarray) -> np.ndarray:
    """Quarter-note positions after the fermata holds: every hold that ends at or before t adds
    its length (a note ending on a fermata is held; a note starting there moves on)."""
    t = np.asarray(t, np.float64)
    if not len(ends):
        return t
    cum = np.concatenate([[0.0], np.cumsum(holds)])
    return t + cum[np.searchsorted(ends, t + 1e-6, side="right")]


def pickup_pad(score) -> float:
    """Quarter notes of rest to put before a pickup bar so the next bar starts on a downbeat."""
    from music21 import stream

    for part in score.parts:
        measures = part.getElementsByClass(stream.Measure)
        if not len(measures):
            continue
        m0 = measures[0]
        bar = float(m0.barDuration.quarterLength)
        pad = float(m0.paddingLeft or 0.0)
        if pad == 0.0 and float(m0.duration.quarterLength) < bar and m0.number == 0:
            pad = bar - float(m0.duration.quarterLength)
        return pad if 0.0 < pad < bar else 0.0
    return 0.0


def tempo_map(score, pad: float) -> tuple[list, str]:
    """[(onset in quarter notes, quarter notes per minute)] from the metronome marks, and where it
    came from ('score', or 'default' when the score has no mark)."""
    from music21 import tempo

    if not len(score.flatten().getElementsByClass(tempo.MetronomeMark)):
        return [(0.0, DEFAULT_QPM)], "default"
    marks = {}
    for start, _end, mm in score.metronomeMarkBoundaries():
        qpm = mm.getQuarterBPM()
        if qpm and np.isfinite(qpm) and 10.0 <= qpm <= 400.0:
            marks[0.0 if start <= 0 else float(start) + pad] = float(qpm)  # the last mark at an onset wins (warped by the caller)
    if not marks:
        return [(0.0, DEFAULT_QPM)], "default"
    out = sorted(marks.items())
    if out[0][0] > 0:
        out.insert(0, (0.0, out[0][1]))
    return out, "score"


def bars(part, pad: float) -> list:
    """[(start, length in quarter notes, TimeSignature)] of a part's bars in the padded timeline:
    a pickup measure is a whole bar from 0; consecutive short measures that add up to one bar
    (a phrase split at a fermata or a repeat sign, as chorales and ABC tunes write them) are one
    bar; a short measure left over stays as it is."""
    from music21 import stream

    out, acc, last = [], None, None
    for i, m in enumerate(part.getElementsByClass(stream.Measure)):
        ts = m.timeSignature or last
        if ts is None:
            continue
        last, bar = ts, float(ts.barDuration.quarterLength)
        start, length = float(m.offset) + pad, float(m.duration.quarterLength)
        if i == 0 and pad > 0:
            start, length = 0.0, length + pad
        if acc is not None:
            start, length = acc[0], acc[1] + length
        if length < bar - 1e-6:
            acc = (start, length)
            continue
        out.append((start, length, ts))
        acc = None
    if acc is not None:
        out.append((acc[0], acc[1], last))
    return out


def time_signatures(score, pad: float, ends=np.zeros(0), holds=np.zeros(0)) -> list:
    """[(onset in quarter notes, numerator, denominator)] from the first part's bars (see `bars`)
    after the fermata holds: a bar that holds one gets its longer signature (e.g. 5/4) and the next
    bar its own back, so every bar line stays where the score has it. Denominators MIDI cannot
    write (not a power of two) are skipped."""
    for part in score.parts:
        out = []
        for start, length, ts in bars(part, pad):
            if ts.denominator <= 0 or ts.denominator & (ts.denominator - 1):
                continue
            a, b = warp([start, start + length], ends, holds)
            sig = _signature(b - a, int(ts.denominator))
            if sig and (not out or out[-1][1:] != sig):
                out.append((float(a), *sig))
        if out:
            out[0] = (0.0, *out[0][1:])  # the first meter holds from the (padded) start
            return out
    return [(0.0, 4, 4)]


def _signature(length_ql: float, denominator: int):
    """(numerator, denominator) of a bar `length_ql` quarter notes long, with the smallest power-of-two
    denominator >= the given one that makes the numerator whole (None if none up to 64)."""
    d = denominator
    while d <= 64:
        n = length_ql * d / 4.0
        if abs(n - round(n)) < 1e-6 and round(n) >= 1:
            return int(round(n)), d
        d *= 2
    return None


def seconds_at(ql, tempos) -> np.ndarray:
    """Seconds at quarter-note positions `ql` under the piecewise-constant tempo map."""
    ql = np.asarray(ql, np.float64)
    starts = np.array([t for t, _ in tempos])
    spq = np.array([60.0 / q for _, q in tempos])  # seconds per quarter in each segment
    base = np.concatenate([[0.0], np.cumsum(np.diff(starts) * spq[:-1])])  # seconds at each segment start
    k = np.searchsorted(starts, ql, side="right") - 1
    return base[k] + (ql - starts[k]) * spq[k]


def assign_parts(parts: list) -> dict:
    """{group: [note arrays]} by the register rule in the module docstring."""
    if len(parts) == 1:
        return {"strings": parts}
    order = sorted(range(len(parts)), key=lambda i: -float(parts[i][:, 2].mean()))  # high -> low
    return {"strings": [parts[order[0]]], "piano": [parts[i] for i in order[1:]], "bass": [parts[order[-1]]]}


def midi_bytes(groups: dict, tempos: list, signatures: list) -> bytes:
    """A type-1 MIDI file: a conductor track (tempo, time signatures) and one track per group."""
    import io

    import mido

    mf = mido.MidiFile(type=1, ticks_per_beat=TICKS)
    meta = [(round(t * TICKS), 0, mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(q), time=0)) for t, q in tempos]
    meta += [(round(t * TICKS), 1, mido.MetaMessage("time_signature", numerator=n, denominator=d, time=0)) for t, n, d in signatures]
    mf.tracks.append(_track(sorted(meta, key=lambda e: e[:2])))
    for name, arrays in groups.items():
        ch = CHANNELS[name]
        events = [(0, 0, mido.Message("program_change", channel=ch, program=PROGRAMS[name], time=0))]
        for notes in arrays:
            for on, dur, pitch in notes:
                a, b = round(on * TICKS), round((on + dur) * TICKS)
                events.append((a, 2, mido.Message("note_on", channel=ch, note=int(pitch), velocity=80, time=0)))
                events.append((max(b, a + 1), 1, mido.Message("note_off", channel=ch, note=int(pitch), velocity=0, time=0)))
        mf.tracks.append(_track(sorted(events, key=lambda e: e[:2])))  # at one tick: offs before ons
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def _track(events):
    """A mido track from (absolute tick, order, message) events, with delta times."""
    import mido

    track, now = mido.MidiTrack(), 0
    for tick, _, msg in events:
        track.append(msg.copy(time=tick - now))
        now = tick
    track.append(mido.MetaMessage("end_of_track", time=0))
    return track


def key_facts(score) -> dict:
    """Krumhansl-Schmuckler key finding (music21's default weights): key, mode and the
    correlation of the winning key profile (how clearly the work is in that key)."""
    k = score.analyze("key")
    return {"key": f"{k.tonic.name} {k.mode}", "mode": str(k.mode), "key_r": float(k.correlationCoefficient)}


def convert_work(work, root) -> Converted:
    """Parse, map parts, write MIDI; raises EmsyncError with the reason for a work that cannot be used."""
    try:
        score = parse_work(work, root)
    except Exception as e:  # music21 raises many kinds for a bad encoding
        raise EmsyncError(f"{work.work_id}: music21 cannot parse {work.path} ({type(e).__name__}: {str(e)[:200]})") from None
    pad = pickup_pad(score)
    written = [a for a in (part_notes(p, pad) for p in score.parts) if len(a)]
    if not written:
        raise EmsyncError(f"{work.work_id}: no notes with a duration")
    ends, holds = fermata_holds(np.concatenate(written))
    parts = [_held(a, ends, holds) for a in written]  # (N, 3): onset, duration, pitch after the holds
    marks, tempo_source = tempo_map(score, pad)
    tempos = [(float(warp(t, ends, holds)), q) for t, q in marks]
    signatures = time_signatures(score, pad, ends, holds)
    allnotes = np.concatenate(parts)
    end_s = float(seconds_at(allnotes[:, 0] + allnotes[:, 1], tempos).max() - seconds_at([pad], tempos)[0])
    facts = {
        **work.to_dict(),
        **key_facts(score),
        "n_parts": len(parts),
        "n_notes": int(len(allnotes)),
        "duration_s": end_s,
        "tempo_qpm": dominant_tempo(tempos, float(allnotes[:, 0].min()), float((allnotes[:, 0] + allnotes[:, 1]).max())),
        "tempo_source": tempo_source,
        "notes_per_s_per_part": float(len(allnotes) / max(end_s, 1e-6) / len(parts)),
        "time_signature": "{1}/{2}".format(*signatures[0]),
        "pickup_ql": pad,
        "fermatas": int(len(ends)),
        "title": str(score.metadata.title or "") if score.metadata else "",
        "composer": str(score.metadata.composer or "") if score.metadata else "",
    }
    return Converted(midi_bytes(assign_parts(parts), tempos, signatures), facts)


def _held(notes: np.ndarray, ends, holds) -> np.ndarray:
    """(N, 3) onset, duration, pitch of written notes (N, 4) after the fermata holds."""
    on, off = warp(notes[:, 0], ends, holds), warp(notes[:, 0] + notes[:, 1], ends, holds)
    return np.stack([on, off - on, notes[:, 2]], axis=1)


def dominant_tempo(tempos: list, start: float, end: float) -> float:
    """The tempo in effect for the most quarter notes between start and end (the labelling stage's
    rule for songs with tempo changes, emsync/labeling/midi.py features())."""
    onsets = [t for t, _ in tempos] + [end]
    held = [max(0.0, min(b, end) - max(a, start)) for a, b in zip(onsets, onsets[1:])]
    return float(tempos[int(np.argmax(held))][1]) if max(held, default=0) > 0 else float(tempos[0][1])
