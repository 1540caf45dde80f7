"""Boundary offsets (§4.1): the vectorised time-grid version equals Algorithm 1 run token by token."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from emsync.music import vocab as V
from emsync.music.lpd5 import read_song
from emsync.music.offsets import boundary_offsets


def reference_offsets(ids, max_offset_s):
    """Algorithm 1 with the chord times as boundaries and a sensitivity of half a step: a loop
    with a time cursor; a CHORD token removes its boundary before its own offset is taken."""
    cursor, bounds, out = 0.0, [], []
    for t in ids:  # boundary list: the time of every CHORD token
        cursor += V.TIMESHIFT_MS[t] / 1000
        if t == V.CHORD:
            bounds.append(cursor)
    bounds = [round(b, 6) for b in bounds]
    cursor = 0.0
    for t in ids:
        cursor = round(cursor + V.TIMESHIFT_MS[t] / 1000, 6)
        if t == V.CHORD:
            for k, b in enumerate(bounds):
                if abs(cursor - b) < 0.004:
                    bounds[k] = math.inf
                    break
        ahead = [b - cursor for b in bounds if b - cursor >= 0]
        out.append(min(min(ahead, default=math.inf), max_offset_s))
    return np.array(out)


@pytest.mark.shared_data
def test_offsets_equal_the_reference_on_real_songs(shared_data):
    from emsync.music.tokenizer import encode

    for name in ("Mr._Blue_Sky.mid", "Schubert_Standchen.mid"):
        ids = encode(read_song(shared_data / "midi" / name)).ids
        assert (ids == V.CHORD).sum() >= 3
        for cap in (2.0, 10.0):
            np.testing.assert_allclose(boundary_offsets(ids, cap), reference_offsets(ids, cap), atol=1e-5)


token = st.sampled_from(
    [V.CHORD, V.BAR, V.token_to_id("PIANO_ON_60"), V.token_to_id("PIANO_OFF_60"), V.shift_id(8), V.shift_id(496), V.shift_id(1000)]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(token, max_size=200), st.floats(0.5, 20.0))
def test_offsets_equal_the_reference_on_generated_sequences(ids, cap):
    ids = np.array(ids, dtype=np.int64)
    # at most one CHORD per time step, as the encoder writes them
    steps = np.cumsum(V.TIMESHIFT_MS[ids])
    first = np.ones(len(ids), bool)
    chord = np.flatnonzero(ids == V.CHORD)
    if len(chord):
        _, keep = np.unique(steps[chord], return_index=True)
        first[chord] = False
        first[chord[keep]] = True
    ids = ids[first]
    got = boundary_offsets(ids, cap)
    assert got.dtype == np.float32 and got.shape == ids.shape
    np.testing.assert_allclose(got, reference_offsets(ids, cap), atol=1e-4)


def test_offsets_worked_example():
    ids = [V.START, V.shift_id(1000), V.BAR, V.CHORD, V.token_to_id("PIANO_ON_60"), V.shift_id(496), V.CHORD]
    # times: 0, 1, 1, 1, 1, 1.496, 1.496 ; chords at 1.0 and 1.496
    assert boundary_offsets(ids, 10.0).tolist() == pytest.approx([1.0, 0.0, 0.0, 0.496, 0.496, 0.0, 10.0])
    assert boundary_offsets(ids, 0.25).tolist() == pytest.approx([0.25, 0.0, 0.0, 0.25, 0.25, 0.0, 0.25])
