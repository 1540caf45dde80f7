"""Strong chords (§4.1): on guitar or piano, at least `min_notes` notes of distinct pitches that
start on the same 8 ms step and each last at least `min_beats` beats. Their onset times are the
musical boundaries used for training (a CHORD token goes before the chord's first ON).

"Beats" are quarter-note beats at the song's own tempo (tempo changes included); a note counts
as lasting two beats if it is at most BEAT_TOLERANCE shorter (one LPD time step at 24 steps per
beat), so a chord held for exactly two beats survives the 8 ms quantisation.
"""

import numpy as np

from emsync.music.vocab import GUITAR, PIANO

CHORD_INSTRUMENTS = (GUITAR, PIANO)
BEAT_TOLERANCE = 1.0 / 24


def strong_chord_steps(instrument, pitch, on, dur_beats, min_notes=3, min_beats=2.0) -> np.ndarray:
    """Sorted unique onset steps of strong chords. Arrays are one entry per (canonical) note:
    instrument index, MIDI pitch, onset step, duration in beats."""
    instrument, pitch, on, dur_beats = map(np.asarray, (instrument, pitch, on, dur_beats))
    keep = np.isin(instrument, CHORD_INSTRUMENTS) & (dur_beats >= min_beats - BEAT_TOLERANCE)
    if not keep.any():
        return np.zeros(0, np.int64)
    # distinct (instrument, onset, pitch) triples, then count pitches per (instrument, onset)
    trip = np.unique(np.stack([instrument[keep].astype(np.int64), on[keep].astype(np.int64), pitch[keep].astype(np.int64)], axis=1), axis=0)
    groups, counts = np.unique(trip[:, :2], axis=0, return_counts=True)
    return np.unique(groups[counts >= min_notes, 1])
