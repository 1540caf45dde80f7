"""Seeded damaged MIDI for the validator tests: well-formed seeds, >= 1,000 mutants, a huge-delta file."""

import random
import struct

from tests._tokens_helpers import make_midi


def seeds() -> list:
    """A few small, valid files: piano + bass + drums, tempo changes, time signatures."""
    out = []
    for k in range(4):
        notes = [(i * 240, 240 + 120 * (i % 3), 48 + (i * 7 + k) % 36) for i in range(40)]
        chord = [(960 * b, 1920, p) for b in range(6) for p in (60, 64, 67)]
        drums = [(i * 480, 60, 36 + i % 3) for i in range(24)]
        out.append(
            make_midi(
                [(0, False, notes + chord), (33, False, notes[::3]), (0, True, drums)],
                tpq=[480, 96, 384, 1000][k],
                tempos=((0, 90 + 20 * k), (1920, 140)),
                time_sigs=((0, 4, 4), (3840, 3, 4)),
            )
        )
    return out


def _track_starts(data: bytes) -> list:
    pos, out = 14, []
    while pos + 8 <= len(data) and data[pos : pos + 4] == b"MTrk":
        out.append(pos)
        pos += 8 + int.from_bytes(data[pos + 4 : pos + 8], "big")
    return out


def huge_delta(data: bytes, delta=0x0FFFFFFF) -> bytes:
    """Insert an event after a delta time of `delta` ticks at the start of the first track (a
    1 KB file whose length implies years of audio), keeping the chunk length right."""
    vlq = bytearray([delta & 0x7F])
    delta >>= 7
    while delta:
        vlq.insert(0, 0x80 | (delta & 0x7F))
        delta >>= 7
    ev = bytes(vlq) + b"\x90\x3c\x40" + b"\x60\x80\x3c\x00"  # a note at the far end, held 96 ticks
    starts = _track_starts(data)
    if not starts:
        return data
    t = starts[-1]
    n = int.from_bytes(data[t + 4 : t + 8], "big")
    body = data[t + 8 : t + 8 + n]
    return data[:t] + b"MTrk" + struct.pack(">I", n + len(ev)) + ev + body + data[t + 8 + n :]


def mutate(data: bytes, rng: random.Random) -> bytes:
    """One random damage of the kinds careless tools and hostile users produce."""
    b = bytearray(data)
    kind = rng.randrange(10)
    if kind == 0:  # overwrite a few random bytes (half the time with data-byte values < 128)
        top = rng.choice([128, 256])
        for _ in range(rng.randint(1, 8)):
            b[rng.randrange(len(b))] = rng.randrange(top)
    elif kind == 1:  # truncate
        del b[rng.randrange(1, len(b)) :]
    elif kind == 2:  # insert junk
        i = rng.randrange(len(b))
        b[i:i] = bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    elif kind == 3:  # delete a range
        i = rng.randrange(len(b))
        del b[i : i + rng.randint(1, 32)]
    elif kind == 4:  # 0 ticks per beat, or an SMPTE division
        b[12:14] = rng.choice([b"\x00\x00", b"\xe7\x28"])
    elif kind == 5:  # tempo 0 (or absurdly fast) wherever a tempo event is
        i = bytes(b).find(b"\xff\x51\x03")
        if i >= 0:
            b[i + 3 : i + 6] = rng.choice([b"\x00\x00\x00", b"\x00\x00\x01", b"\xff\xff\xff"])
    elif kind == 6:  # a bad chunk id or track count
        t = rng.choice(_track_starts(bytes(b)) or [14])
        if rng.random() < 0.5:
            b[t : t + 4] = rng.choice([b"MTrK", b"RIFF", b"\x00\x00\x00\x00"])
        else:
            b[10:12] = struct.pack(">H", rng.randrange(0, 40))
    elif kind == 7:  # a huge delta time somewhere in a track
        return huge_delta(bytes(b), rng.choice([0x0FFFFFFF, 0x00FFFFFF, 0x00980000, 0x0010000]))
    elif kind == 8:  # a wrong chunk length
        t = rng.choice(_track_starts(bytes(b)) or [14])
        b[t + 4 : t + 8] = struct.pack(">I", rng.choice([0, 1, 0x7FFFFFFF, rng.randrange(1 << 16)]))
    else:  # an empty file or only the header
        return bytes(b[: rng.choice([0, 4, 14])])
    return bytes(b)


def mutants(n=1000, seed=0) -> list:
    rng = random.Random(seed)
    base = seeds()
    out = []
    while len(out) < n:
        data = rng.choice(base)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            if len(data) < 2:
                break
            data = mutate(data, rng)
        out.append(data)
    return out
