"""The shared token vocabulary "emsync-v1" (§2.1 event-based encoding, §4.1 CHORD, §4.2 discrete
condition tokens, §4.3 LPD-5 instruments, pitches 21-108, 8 ms TIME-SHIFTs up to 1000 ms).

The grid is part of the vocabulary, not a param: TIME_STEP_MS, MAX_SHIFT_MS, PITCH_MIN/PITCH_MAX
and N_BINS below fix every id, so a different value is a different vocabulary (and a new
VOCAB_VERSION) that no trained checkpoint reads.

Fixed id order (never reorder; bump VOCAB_VERSION instead):

    0 PAD, 1 START, 2 BAR, 3 CHORD, 4 FEWER_INSTRUMENTS, 5 MORE_INSTRUMENTS
    6..10  VALENCE_-2 .. VALENCE_2        (five equal bins over [-1, 1], central bin 0)
    11..15 AROUSAL_-2 .. AROUSAL_2
    16..455   <INSTR>_ON_<pitch>   instrument-major, INSTR in DRUMS, BASS, GUITAR, PIANO, STRINGS
    456..895  <INSTR>_OFF_<pitch>  same order
    896..1020 TIMESHIFT_<ms>       ms = 8, 16, ..., 1000

Every per-id property is also a numpy lookup array of length SIZE (TIMESHIFT_MS, IS_ON, IS_OFF,
INSTRUMENT, PITCH) so sequences can be processed without Python loops:
`np.cumsum(TIMESHIFT_MS[ids])` is the onset time (ms) of every token.

    >>> from emsync.music import vocab
    >>> vocab.token_to_id("PIANO_ON_60"), vocab.id_to_token(vocab.size - 1)
    (319, 'TIMESHIFT_1000')
"""

import json
import math

import numpy as np

from emsync.core.errors import InputError

VOCAB_VERSION = "emsync-v1"

INSTRUMENTS = ("DRUMS", "BASS", "GUITAR", "PIANO", "STRINGS")  # index order is part of the contract
DRUMS, BASS, GUITAR, PIANO, STRINGS = range(5)
N_INSTRUMENTS = len(INSTRUMENTS)
PITCH_MIN, PITCH_MAX = 21, 108  # §4.3: the piano range; other pitches are dropped
N_PITCHES = PITCH_MAX - PITCH_MIN + 1  # 88
TIME_STEP_MS = 8  # §2.1 / §4.3 (Oore et al. 2020)
MAX_SHIFT_MS = 1000
N_SHIFTS = MAX_SHIFT_MS // TIME_STEP_MS  # 125
N_BINS = 5  # §4.2 discrete-token mode

SPECIALS = ("PAD", "START", "BAR", "CHORD", "FEWER_INSTRUMENTS", "MORE_INSTRUMENTS")
PAD, START, BAR, CHORD, FEWER, MORE = range(6)

VALENCE_OFFSET = len(SPECIALS)  # 6
AROUSAL_OFFSET = VALENCE_OFFSET + N_BINS  # 11
ON_OFFSET = AROUSAL_OFFSET + N_BINS  # 16
OFF_OFFSET = ON_OFFSET + N_INSTRUMENTS * N_PITCHES  # 456
SHIFT_OFFSET = OFF_OFFSET + N_INSTRUMENTS * N_PITCHES  # 896
SIZE = SHIFT_OFFSET + N_SHIFTS  # 1021
size = SIZE


def _build_tokens():
    toks = list(SPECIALS)
    toks += [f"VALENCE_{b}" for b in range(-(N_BINS // 2), N_BINS // 2 + 1)]
    toks += [f"AROUSAL_{b}" for b in range(-(N_BINS // 2), N_BINS // 2 + 1)]
    for kind in ("ON", "OFF"):
        toks += [f"{ins}_{kind}_{p}" for ins in INSTRUMENTS for p in range(PITCH_MIN, PITCH_MAX + 1)]
    toks += [f"TIMESHIFT_{ms}" for ms in range(TIME_STEP_MS, MAX_SHIFT_MS + 1, TIME_STEP_MS)]
    return tuple(toks)


TOKENS = _build_tokens()
_INDEX = {t: i for i, t in enumerate(TOKENS)}
assert len(TOKENS) == SIZE

# --- vectorised per-id lookups (index with an int or an int array) ---------------------------
_ids = np.arange(SIZE)
TIMESHIFT_MS = np.where(_ids >= SHIFT_OFFSET, (_ids - SHIFT_OFFSET + 1) * TIME_STEP_MS, 0).astype(np.int64)
IS_ON = (_ids >= ON_OFFSET) & (_ids < OFF_OFFSET)
IS_OFF = (_ids >= OFF_OFFSET) & (_ids < SHIFT_OFFSET)
IS_NOTE = IS_ON | IS_OFF
IS_SHIFT = _ids >= SHIFT_OFFSET
_note_idx = np.where(IS_ON, _ids - ON_OFFSET, np.where(IS_OFF, _ids - OFF_OFFSET, -1))
INSTRUMENT = np.where(IS_NOTE, _note_idx // N_PITCHES, -1).astype(np.int64)  # -1: not a note
PITCH = np.where(IS_NOTE, _note_idx % N_PITCHES + PITCH_MIN, -1).astype(np.int64)  # -1: not a note
del _ids, _note_idx


def token_to_id(token: str) -> int:
    try:
        return _INDEX[token]
    except KeyError:
        raise InputError(f"unknown token {token!r} (vocabulary {VOCAB_VERSION})") from None


def id_to_token(i: int) -> str:
    if not 0 <= int(i) < SIZE:
        raise InputError(f"token id {i} outside the vocabulary (0..{SIZE - 1}, {VOCAB_VERSION})")
    return TOKENS[int(i)]


def on_id(instrument: int, pitch: int) -> int:
    return ON_OFFSET + instrument * N_PITCHES + (pitch - PITCH_MIN)


def off_id(instrument: int, pitch: int) -> int:
    return OFF_OFFSET + instrument * N_PITCHES + (pitch - PITCH_MIN)


def shift_id(ms: int) -> int:
    """TIMESHIFT id for `ms` (a multiple of 8 in 8..1000)."""
    if ms % TIME_STEP_MS or not TIME_STEP_MS <= ms <= MAX_SHIFT_MS:
        raise ValueError(f"time shift {ms} ms is not a multiple of {TIME_STEP_MS} in {TIME_STEP_MS}..{MAX_SHIFT_MS}")
    return SHIFT_OFFSET + ms // TIME_STEP_MS - 1


def timeshift_ms(i) -> int | None:
    """Milliseconds of a TIMESHIFT id, None for any other id (use TIMESHIFT_MS[ids] for arrays)."""
    ms = int(TIMESHIFT_MS[int(i)])
    return ms or None


def is_on(i) -> bool:
    return bool(IS_ON[int(i)])


def is_off(i) -> bool:
    return bool(IS_OFF[int(i)])


def instrument_of(i) -> int | None:
    """Instrument index (DRUMS=0 .. STRINGS=4) of an ON/OFF id, None otherwise."""
    v = int(INSTRUMENT[int(i)])
    return None if v < 0 else v


def pitch_of(i) -> int | None:
    v = int(PITCH[int(i)])
    return None if v < 0 else v


BIN_EDGES = tuple(round(-1.0 + 2.0 * i / N_BINS, 12) for i in range(1, N_BINS))  # -0.6, -0.2, 0.2, 0.6


def condition_bin(x: float) -> int | None:
    """Bin a value in [-1, 1] into one of 5 equal bins -2..2 (§4.2); values outside are clipped,
    NaN gives None (the model uses a learned 'missing' embedding then)."""
    if x is None or math.isnan(x):
        return None
    k = sum(float(x) >= e for e in BIN_EDGES)  # a value on an edge goes to the upper bin
    return k - N_BINS // 2


def valence_token(v: float) -> int | None:
    b = condition_bin(v)
    return None if b is None else VALENCE_OFFSET + b + N_BINS // 2


def arousal_token(a: float) -> int | None:
    b = condition_bin(a)
    return None if b is None else AROUSAL_OFFSET + b + N_BINS // 2


def to_json() -> dict:
    """The vocabulary as saved next to every tokenized dataset (data/tokens/vocab.json)."""
    return {
        "version": VOCAB_VERSION,
        "size": SIZE,
        "time_step_ms": TIME_STEP_MS,
        "max_shift_ms": MAX_SHIFT_MS,
        "instruments": list(INSTRUMENTS),
        "pitch_range": [PITCH_MIN, PITCH_MAX],
        "tokens": list(TOKENS),
    }


def from_json(d) -> "Vocab":
    """Check a saved vocabulary (dict or JSON string) is this one; return the Vocab. A different
    version or token list raises InputError (a model trained on it would misread every id)."""
    if isinstance(d, str):
        d = json.loads(d)
    if d.get("version") != VOCAB_VERSION:
        raise InputError(f"vocabulary version {d.get('version')!r} is not {VOCAB_VERSION!r}")
    if "tokens" in d and list(d["tokens"]) != list(TOKENS):
        raise InputError(f"vocabulary {VOCAB_VERSION!r}: saved token list differs from this code's")
    return VOCAB


class Vocab:
    """Object view of this module (for code that prefers `vocab.PAD` on an instance)."""

    version = VOCAB_VERSION
    size = SIZE
    PAD, START, BAR, CHORD, FEWER, MORE = PAD, START, BAR, CHORD, FEWER, MORE
    INSTRUMENTS = INSTRUMENTS
    TOKENS = TOKENS
    TIMESHIFT_MS, IS_ON, IS_OFF, IS_SHIFT, INSTRUMENT, PITCH = TIMESHIFT_MS, IS_ON, IS_OFF, IS_SHIFT, INSTRUMENT, PITCH

    def __len__(self):
        return SIZE

    token_to_id = staticmethod(token_to_id)
    id_to_token = staticmethod(id_to_token)
    on_id = staticmethod(on_id)
    off_id = staticmethod(off_id)
    shift_id = staticmethod(shift_id)
    timeshift_ms = staticmethod(timeshift_ms)
    is_on = staticmethod(is_on)
    is_off = staticmethod(is_off)
    instrument_of = staticmethod(instrument_of)
    pitch_of = staticmethod(pitch_of)
    valence_token = staticmethod(valence_token)
    arousal_token = staticmethod(arousal_token)
    to_json = staticmethod(to_json)
    from_json = staticmethod(from_json)


VOCAB = Vocab()
