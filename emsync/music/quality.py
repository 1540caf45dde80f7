"""Objective music measures of a note list (drums excluded), the ones `emsync bench music_quality`
prints for generated and real music:

- scale consistency: the share of notes inside the best-fitting major (or, the same pitch sets,
  natural minor) scale over the 12 roots (MusPy's `scale_consistency`, Dong et al. 2020);
- pitch-class entropy: Shannon entropy (bits) of the pitch-class histogram (MusPy's; 3.58 bits =
  all 12 equally often);
- notes per second; polyphony: the mean number of pitches sounding over the 8 ms steps where at
  least one sounds (MusPy's `polyphony`);
- key and in-key ratio: the Krumhansl-Schmuckler key (duration-weighted pitch-class profile
  correlated with the Krumhansl-Kessler 1982 profiles), its mode, and the share of notes in that
  key's scale (major scale; for minor, natural minor plus the raised seventh).

`random_pitch_reference(n)` gives the same measures for uniformly random pitch classes (the
chance level the issue compared against).
"""

from dataclasses import dataclass

import numpy as np

MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR_KEY = np.array([0, 2, 3, 5, 7, 8, 10, 11])  # natural minor + the leading tone (harmonic minor)
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
STEP_S = 0.008


@dataclass
class NoteList:
    pitch: np.ndarray  # (N,) MIDI pitch of pitched (non-drum) notes
    start_s: np.ndarray  # (N,)
    end_s: np.ndarray  # (N,)
    duration_s: float  # length of the music (s)


def from_decoded(dec, duration_s: float | None = None) -> NoteList:
    """NoteList of a tokenizer `Decoded` (emsync.music.tokenizer.decode), drums dropped."""
    from emsync.music.vocab import DRUMS

    n = dec.notes
    keep = n.instrument != DRUMS
    start, end = n.on[keep] * STEP_S, n.off[keep] * STEP_S
    dur = duration_s if duration_s is not None else float(n.off.max() * STEP_S if len(n) else 0.0)
    return NoteList(n.pitch[keep].astype(np.int64), start, end, dur)


def from_midi(path) -> NoteList:
    """NoteList of a MIDI file (pretty_midi), drum tracks dropped; duration = its end time."""
    import pretty_midi

    pm = pretty_midi.PrettyMIDI(str(path))
    notes = [(n.pitch, n.start, n.end) for inst in pm.instruments if not inst.is_drum for n in inst.notes]
    a = np.array(notes, dtype=np.float64).reshape(-1, 3)
    return NoteList(a[:, 0].astype(np.int64), a[:, 1], a[:, 2], float(pm.get_end_time()))


def excerpt(notes: NoteList, seconds: float) -> NoteList:
    """The notes starting in the first `seconds` (clipped there)."""
    k = notes.start_s < seconds
    return NoteList(notes.pitch[k], notes.start_s[k], np.minimum(notes.end_s[k], seconds), min(notes.duration_s, seconds))


def scale_consistency(pc: np.ndarray) -> float:
    if len(pc) == 0:
        return float("nan")
    hist = np.bincount(pc % 12, minlength=12)
    return float(max(hist[(MAJOR + r) % 12].sum() for r in range(12)) / len(pc))


def pitch_class_entropy(pc: np.ndarray) -> float:
    if len(pc) == 0:
        return float("nan")
    p = np.bincount(pc % 12, minlength=12) / len(pc)
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def polyphony(notes: NoteList) -> float:
    if len(notes.pitch) == 0:
        return float("nan")
    on = np.round(notes.start_s / STEP_S).astype(np.int64)
    off = np.maximum(np.round(notes.end_s / STEP_S).astype(np.int64), on + 1)
    delta = np.zeros(int(off.max()) + 1, np.int64)
    np.add.at(delta, on, 1)
    np.add.at(delta, off, -1)
    sounding = np.cumsum(delta)[:-1]
    busy = sounding[sounding > 0]
    return float(busy.mean()) if len(busy) else float("nan")


def estimate_key(notes: NoteList) -> tuple[int, str, float]:
    """(tonic pitch class, 'major' | 'minor', correlation) by Krumhansl-Schmuckler."""
    w = np.bincount(notes.pitch % 12, weights=np.maximum(notes.end_s - notes.start_s, 1e-3), minlength=12)
    best = (0, "major", -2.0)
    for r in range(12):
        for mode, prof in (("major", KK_MAJOR), ("minor", KK_MINOR)):
            c = float(np.corrcoef(w, np.roll(prof, r))[0, 1]) if w.std() > 0 else 0.0
            if c > best[2]:
                best = (r, mode, c)
    return best


def in_key_ratio(notes: NoteList, key: tuple[int, str, float]) -> float:
    if len(notes.pitch) == 0:
        return float("nan")
    scale = (MAJOR if key[1] == "major" else MINOR_KEY) + key[0]
    return float(np.isin(notes.pitch % 12, scale % 12).mean())


def measures(notes: NoteList) -> dict:
    """Every measure of one piece of music."""
    pc = notes.pitch % 12
    key = estimate_key(notes) if len(pc) else (0, "none", float("nan"))
    return {
        "notes": int(len(pc)),
        "scale_consistency": scale_consistency(pc),
        "pitch_class_entropy": pitch_class_entropy(pc),
        "notes_per_s": float(len(pc) / notes.duration_s) if notes.duration_s > 0 else float("nan"),
        "polyphony": polyphony(notes),
        "in_key_ratio": in_key_ratio(notes, key),
        "mode": key[1],
    }


def random_pitch_reference(n_notes: int, draws: int = 2000, seed: int = 0) -> dict:
    """5th-95th percentiles of scale consistency and pitch-class entropy of `n_notes` uniformly
    random pitch classes over `draws` draws."""
    rng = np.random.default_rng(seed)
    sc, ent = [], []
    for _ in range(draws):
        pc = rng.integers(0, 12, n_notes)
        sc.append(scale_consistency(pc))
        ent.append(pitch_class_entropy(pc))
    q = lambda x: [round(float(v), 3) for v in np.percentile(x, [5, 95])]  # noqa: E731
    return {"n_notes": n_notes, "scale_consistency_p5_p95": q(sc), "pitch_class_entropy_p5_p95": q(ent)}
