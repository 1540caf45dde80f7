"""The shared vocabulary contract "emsync-v1" (§4.3): fixed ids other helpers rely on."""

import json
import math

import numpy as np
import pytest

from emsync.core.errors import InputError
from emsync.music import vocab as V


def test_fixed_ids_and_size():
    assert V.SIZE == V.Vocab.size == len(V.VOCAB) == 1021
    assert [V.PAD, V.START, V.BAR, V.CHORD, V.FEWER, V.MORE] == [0, 1, 2, 3, 4, 5]
    assert V.token_to_id("VALENCE_-2") == 6 and V.token_to_id("VALENCE_2") == 10
    assert V.token_to_id("AROUSAL_-2") == 11 and V.token_to_id("AROUSAL_2") == 15
    assert V.token_to_id("DRUMS_ON_21") == 16
    assert V.token_to_id("BASS_ON_21") == 16 + 88  # instrument-major
    assert V.token_to_id("PIANO_ON_60") == 16 + 3 * 88 + 39
    assert V.token_to_id("STRINGS_ON_108") == 455
    assert V.token_to_id("DRUMS_OFF_21") == 456 and V.token_to_id("STRINGS_OFF_108") == 895
    assert V.token_to_id("TIMESHIFT_8") == 896 and V.token_to_id("TIMESHIFT_1000") == 1020


def test_every_id_round_trips_and_properties_agree():
    for i in range(V.SIZE):
        tok = V.id_to_token(i)
        assert V.token_to_id(tok) == i
        parts = tok.split("_")
        if "_ON_" in tok or "_OFF_" in tok:
            assert V.INSTRUMENTS[V.instrument_of(i)] == parts[0]
            assert V.pitch_of(i) == int(parts[2])
            assert V.is_on(i) == (parts[1] == "ON")
            assert V.timeshift_ms(i) is None
        elif tok.startswith("TIMESHIFT_"):
            assert V.timeshift_ms(i) == int(parts[1]) == V.TIMESHIFT_MS[i]
            assert V.instrument_of(i) is None and V.pitch_of(i) is None and not V.is_on(i)
        else:
            assert V.TIMESHIFT_MS[i] == 0 and V.instrument_of(i) is None
    assert V.on_id(V.GUITAR, 64) == V.token_to_id("GUITAR_ON_64")
    assert V.off_id(V.GUITAR, 64) == V.token_to_id("GUITAR_OFF_64")
    assert V.shift_id(1000) == 1020


def test_vectorised_lookups_give_token_times():
    ids = np.array([V.START, V.token_to_id("PIANO_ON_60"), V.shift_id(1000), V.shift_id(8), V.token_to_id("PIANO_OFF_60")])
    assert np.cumsum(V.TIMESHIFT_MS[ids]).tolist() == [0, 0, 1000, 1008, 1008]
    assert V.INSTRUMENT[ids].tolist() == [-1, 3, -1, -1, 3]


@pytest.mark.parametrize(
    "x,b", [(-1.0, -2), (-0.61, -2), (-0.59, -1), (-0.2, 0), (0.0, 0), (0.19, 0), (0.2, 1), (0.6, 2), (1.0, 2), (5.0, 2), (-7, -2)]
)
def test_condition_bins_are_five_equal_bins(x, b):
    assert V.condition_bin(x) == b
    assert V.id_to_token(V.valence_token(x)) == f"VALENCE_{b}"
    assert V.id_to_token(V.arousal_token(x)) == f"AROUSAL_{b}"


def test_nan_condition_has_no_token():
    assert V.valence_token(math.nan) is None and V.arousal_token(float("nan")) is None


def test_json_round_trip_and_version_check():
    d = json.loads(json.dumps(V.to_json()))
    assert d["version"] == "emsync-v1" and len(d["tokens"]) == V.SIZE
    assert V.from_json(d) is V.VOCAB
    with pytest.raises(InputError, match="version"):
        V.from_json({**d, "version": "emsync-v0"})
    with pytest.raises(InputError, match="differs"):
        V.from_json({**d, "tokens": d["tokens"][::-1]})
    with pytest.raises(InputError, match="unknown token"):
        V.token_to_id("PIANO_ON_20")
    with pytest.raises(InputError):
        V.id_to_token(V.SIZE)
