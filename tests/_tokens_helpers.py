"""Helpers for the tokens tests: tiny MIDI files built in memory."""

import numpy as np
from symusic import Note, Score, Tempo, TimeSignature, Track

from emsync.music.lpd5 import Song


def make_midi(tracks, tpq=480, tempos=((0, 120.0),), time_sigs=()) -> bytes:
    """tracks: [(program, is_drum, [(start_tick, dur_ticks, pitch), ...])] -> MIDI bytes."""
    s = Score(tpq)
    for t, qpm in tempos:
        s.tempos.append(Tempo(int(t), qpm=float(qpm)))
    for t, num, den in time_sigs:
        s.time_signatures.append(TimeSignature(int(t), int(num), int(den)))
    for program, is_drum, notes in tracks:
        tr = Track(name="t", program=program, is_drum=is_drum)
        for a, d, p in notes:
            tr.notes.append(Note(int(a), int(d), int(p), 90))
        s.tracks.append(tr)
    return s.dumps_midi()


def song_from_notes(notes, downbeats=()) -> Song:
    """notes: [(instrument, pitch, start_s, end_s)] at 120 bpm."""
    a = np.array(notes, dtype=float).reshape(-1, 4)
    return Song(
        a[:, 0].astype(np.int8),
        a[:, 1].astype(np.int16),
        a[:, 2],
        a[:, 3],
        np.full(len(a), 90, np.int16),
        np.asarray(downbeats, float),
        np.array([0.0, 1e6]),
        np.array([0.0, 2e6]),
    )
