"""Boundary offsets for training (§4.1, Fig. 4.1): for every token, the time left until the next
boundary, capped at `max_offset_s`.

In training the boundaries are the strong chords, i.e. the CHORD tokens still in the sequence
(CHORD dropout removes a chord's token and its boundary together, so a dropped chord is music
the model learns to play without a boundary). As in Algorithm 1, a CHORD token uses up its own
boundary: tokens up to the CHORD token see offset 0 when they share its time step, the CHORD
token and its chord notes already look at the next boundary. Instead of the inference-time
cursor, all offsets are computed at once on the time grid `cumsum(TIMESHIFT_MS[ids])`.
"""

import numpy as np

from emsync.music import vocab as V


def token_times_s(ids) -> np.ndarray:
    """(T,) float64 time (s) of every token: the sum of the TIMESHIFTs before and at it."""
    return np.cumsum(V.TIMESHIFT_MS[np.asarray(ids, np.int64)]) / 1000.0


def boundary_offsets(ids, max_offset_s: float) -> np.ndarray:
    """(T,) float32 seconds from each token to the next not-yet-used boundary, capped."""
    ids = np.asarray(ids, np.int64)
    t = token_times_s(ids)  # (T,)
    is_chord = ids == V.CHORD
    b = np.append(t[is_chord], np.inf)  # (M+1,) boundary times, sentinel "no more boundaries"
    k = np.cumsum(is_chord)  # (T,) boundaries used up so far, counting this token
    return np.minimum(b[k] - t, max_offset_s).astype(np.float32)
