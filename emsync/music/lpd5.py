"""Read MIDI or Lakh Pianoroll (.npz) files into one note list merged to the five LPD-5
instrument groups (§4.3; Dong et al. 2018).

Program -> group mapping (General MIDI programs 0-127, the LPD-5 merge rule):

    drum track (channel 10)            -> DRUMS
    0-7    pianos                      -> PIANO
    24-31  guitars                     -> GUITAR
    32-39  basses                      -> BASS
    every other program < 96, and 104-111 (ethnic) -> STRINGS   (chromatic percussion, organ,
                                          strings, ensemble, brass, reed, pipe, synth lead/pad)
    96-103 synth effects, 112-127 percussive / sound effects -> dropped (counted as
                                          `dropped_program`)

A `Song` keeps times in seconds (for the 8 ms event grid) and in beats (for the "lasting two
beats" rule of strong chords, §4.1), plus the downbeat times that become BAR tokens.

    >>> song = read_song("../shared/data/midi/Aicha.mid")
"""

import json
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from emsync.core.errors import InputError
from emsync.music.vocab import BASS, DRUMS, GUITAR, PIANO, STRINGS

DEFAULT_MSPQ = 500_000  # MIDI default tempo: 120 bpm
MAX_BARS = 2_000_000  # guard against absurd time signatures (a 10-hour file at 4/4, 120 bpm has 18,000)


def program_group(program: int, is_drum: bool) -> int | None:
    """LPD-5 group index of a track (None: dropped), per the table in the module docstring."""
    if is_drum:
        return DRUMS
    family = program // 8
    if family == 0:
        return PIANO
    if family == 3:
        return GUITAR
    if family == 4:
        return BASS
    if program < 96 or 104 <= program < 112:
        return STRINGS
    return None


@dataclass
class Song:
    """All notes of a file after the LPD-5 merge; one entry per note, arrays of equal length."""

    instrument: np.ndarray  # (N,) int8, DRUMS=0 .. STRINGS=4
    pitch: np.ndarray  # (N,) int16, MIDI pitch 0..127 (range filtering happens in the tokenizer)
    start_s: np.ndarray  # (N,) float64 seconds
    end_s: np.ndarray  # (N,) float64 seconds
    velocity: np.ndarray  # (N,) int16
    downbeats_s: np.ndarray  # (B,) float64 bar starts, sorted
    beat_grid_s: np.ndarray  # (K,) knots of the seconds -> quarter-note beats map (piecewise linear)
    beat_grid: np.ndarray  # (K,)
    n_tempo_changes: int = 0
    dropped_program: int = 0  # notes of tracks outside the five groups
    source: str = ""
    meta: dict = field(default_factory=dict)

    def __len__(self):
        return len(self.pitch)

    def beats_at(self, seconds) -> np.ndarray:
        """Quarter-note beat position of times in seconds (follows every tempo change)."""
        return np.interp(seconds, self.beat_grid_s, self.beat_grid)

    @property
    def duration_s(self) -> float:
        return float(self.end_s.max()) if len(self) else 0.0


def _empty_song(downbeats=(), source="", **kw):
    z = np.zeros(0)
    return Song(
        np.zeros(0, np.int8),
        np.zeros(0, np.int16),
        z,
        z,
        np.zeros(0, np.int16),
        np.asarray(downbeats, float),
        np.array([0.0, 1.0]),
        np.array([0.0, 2.0]),
        source=source,
        **kw,
    )


# --------------------------------------------------------------------------------------------
# MIDI


def ticks_to_seconds(ticks, tempo_ticks, tempo_mspq, tpq) -> np.ndarray:
    """Seconds of tick positions under a tempo map (vectorised; handles thousands of changes).
    `tempo_ticks` sorted; a map that doesn't start at tick 0 uses 120 bpm before its first change."""
    ticks = np.asarray(ticks, dtype=np.float64)
    tt = np.asarray(tempo_ticks, dtype=np.float64)
    mspq = np.asarray(tempo_mspq, dtype=np.float64)
    if len(tt) == 0 or tt[0] > 0:
        tt = np.concatenate([[0.0], tt])
        mspq = np.concatenate([[DEFAULT_MSPQ], mspq])
    # several changes on one tick: the last one wins
    keep = np.append(tt[1:] != tt[:-1], True)
    tt, mspq = tt[keep], mspq[keep]
    mspq = np.where(mspq > 0, mspq, DEFAULT_MSPQ)
    sec_per_tick = mspq / 1e6 / tpq
    seg_start_s = np.concatenate([[0.0], np.cumsum(np.diff(tt) * sec_per_tick[:-1])])
    i = np.searchsorted(tt, ticks, side="right") - 1
    return seg_start_s[i] + (ticks - tt[i]) * sec_per_tick[i]


def downbeat_ticks(ts_ticks, numerators, denominators, tpq, end_tick) -> np.ndarray:
    """Bar starts (ticks) from time-signature changes; 4/4 before the first one. Each change
    restarts the bar grid at its own tick."""
    starts = [0.0] + [float(t) for t in ts_ticks]
    nums = [4] + [int(n) for n in numerators]
    dens = [4] + [int(d) for d in denominators]
    if len(ts_ticks) and ts_ticks[0] == 0:
        starts, nums, dens = starts[1:], nums[1:], dens[1:]
    out = []
    for k, (t0, num, den) in enumerate(zip(starts, nums, dens)):
        t1 = starts[k + 1] if k + 1 < len(starts) else float(end_tick) + 1
        if t1 <= t0:
            continue
        bar = num * tpq * 4.0 / den if num > 0 and den > 0 else 4.0 * tpq
        if bar < 1:
            bar = 4.0 * tpq
        n = int(np.ceil((t1 - t0) / bar))
        if sum(map(len, out)) + n > MAX_BARS:
            raise InputError(f"more than {MAX_BARS} bars: time signatures make no sense")
        out.append(t0 + bar * np.arange(n))
    return np.concatenate(out) if out else np.zeros(0)


def read_midi(src, source="") -> Song:
    """Parse MIDI bytes or a path (symusic), merge tracks to LPD-5 groups."""
    from symusic import Score

    source = source or ("<MIDI bytes>" if isinstance(src, (bytes, bytearray)) else str(src))
    try:
        if isinstance(src, (bytes, bytearray)):
            score = Score.from_midi(src)
        else:  # format given: symusic guesses from the suffix and refuses .kar
            score = Score.from_file(str(src), format="midi")
    except Exception as e:  # symusic raises plain RuntimeError/ValueError on malformed files
        raise InputError(f"{source}: not a readable MIDI file ({e})") from None
    tpq = int(score.ticks_per_quarter) or 480
    tempos = score.tempos.numpy()
    order = np.argsort(tempos["time"], kind="stable")
    t_ticks, t_mspq = tempos["time"][order], tempos["mspq"][order]

    cols = {k: [] for k in ("instrument", "tick", "dur", "pitch", "velocity")}
    dropped = 0
    for tr in score.tracks:
        n = tr.notes.numpy()
        if len(n["time"]) == 0:
            continue
        g = program_group(int(tr.program), bool(tr.is_drum))
        if g is None:
            dropped += len(n["time"])
            continue
        cols["instrument"].append(np.full(len(n["time"]), g, np.int8))
        cols["tick"].append(n["time"].astype(np.int64))
        cols["dur"].append(np.maximum(n["duration"].astype(np.int64), 0))
        cols["pitch"].append(n["pitch"].astype(np.int16))
        cols["velocity"].append(n["velocity"].astype(np.int16))
    ts = score.time_signatures.numpy()
    if not cols["tick"]:
        song = _empty_song(source=source, dropped_program=dropped, n_tempo_changes=len(t_ticks))
        return song
    c = {k: np.concatenate(v) for k, v in cols.items()}
    end_tick = c["tick"] + c["dur"]
    on_s = ticks_to_seconds(c["tick"], t_ticks, t_mspq, tpq)
    off_s = ticks_to_seconds(end_tick, t_ticks, t_mspq, tpq)
    db = downbeat_ticks(ts["time"], ts["numerator"], ts["denominator"], tpq, end_tick.max())
    # beat map knots: every tempo change, plus one past the end (np.interp clamps outside)
    knots = np.unique(np.concatenate([[0], t_ticks[t_ticks > 0], [end_tick.max() + 16 * tpq]])).astype(np.float64)
    return Song(
        instrument=c["instrument"],
        pitch=c["pitch"],
        start_s=on_s,
        end_s=off_s,
        velocity=c["velocity"],
        downbeats_s=ticks_to_seconds(db, t_ticks, t_mspq, tpq),
        beat_grid_s=ticks_to_seconds(knots, t_ticks, t_mspq, tpq),
        beat_grid=knots / tpq,
        n_tempo_changes=len(t_ticks),
        dropped_program=dropped,
        source=source,
        meta={"tpq": tpq, "n_time_signatures": len(ts["time"])},
    )


# --------------------------------------------------------------------------------------------
# Lakh Pianoroll Dataset (.npz written by pypianoroll 0.x: one CSC matrix per track)


_NPY_HEADER = re.compile(rb"'descr':\s*'([^']+)',\s*'fortran_order':\s*(True|False),\s*'shape':\s*\(([0-9, ]*)\)")


class _Npz:
    """Minimal .npz reader: zip members parsed with one regex instead of numpy's per-array
    `ast` header parsing (an LPD file has ~70 small arrays; speed against np.load: README "Speed")."""

    def __init__(self, path):
        self.zf = zipfile.ZipFile(path)
        self.names = {n[:-4] for n in self.zf.namelist() if n.endswith(".npy")}

    def __contains__(self, key):
        return key in self.names

    def __getitem__(self, key) -> np.ndarray:
        raw = self.zf.read(key + ".npy")
        if raw[:6] != b"\x93NUMPY":
            raise ValueError(f"{key}: not a .npy array")
        major = raw[6]
        hlen_size = 2 if major == 1 else 4
        hlen = int.from_bytes(raw[8 : 8 + hlen_size], "little")
        start = 8 + hlen_size + hlen
        m = _NPY_HEADER.search(raw[8 + hlen_size : start])
        if m is None or m.group(2) == b"True":
            raise ValueError(f"{key}: unsupported .npy header")
        shape = tuple(int(x) for x in m.group(3).replace(b" ", b"").split(b",") if x)
        return np.frombuffer(raw, dtype=np.dtype(m.group(1).decode()), offset=start).reshape(shape)

    def read_json(self, name):
        return json.loads(self.zf.read(name))


def _npz_tracks(z, info):
    for key in sorted((k for k in info if k.isdigit()), key=int):
        prefix = f"pianoroll_{key}_csc_"
        if prefix + "shape" not in z:
            raise InputError(f"track {key} listed in info.json has no {prefix}* arrays")
        yield info[key], prefix, z[prefix + "shape"]


def read_npz(path, source="", assume_4_4: bool = False) -> Song:
    """Read a pypianoroll (v0.x, as used by LPD) .npz: per track a CSC matrix (time x 128 pitch)
    of velocities, `tempo` (bpm per time step), `downbeat` (bool per step) and `info.json`
    (`beat_resolution` steps per beat; per track `program`, `is_drum`, `name`).

    A note is a run of consecutive non-zero steps of one pitch. The pianoroll format cannot tell
    a repeated note from a held one, so back-to-back repeats of a pitch come out as one note."""
    path = Path(path)
    name = source or str(path)
    try:
        z = _Npz(path)
        info = z.read_json("info.json")
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        raise InputError(f"{name}: not a pianoroll .npz with info.json ({e})") from None
    res = int(info.get("beat_resolution") or info.get("resolution") or 24)
    tempo = np.asarray(z["tempo"], np.float64) if "tempo" in z else np.zeros(0)
    tracks = list(_npz_tracks(z, info))
    n_steps = max([len(tempo)] + [int(sh[0]) for *_, sh in tracks])
    bpm = np.full(n_steps, 120.0)
    bpm[: len(tempo)] = np.where(tempo > 0, tempo, 120.0)[:n_steps]
    step_s = np.concatenate([[0.0], np.cumsum(60.0 / (bpm * res))])  # (T+1,) start time of each step
    downbeat = np.flatnonzero(z["downbeat"]) if "downbeat" in z else np.zeros(0, np.int64)
    if len(downbeat) < 2 and n_steps > 4 * res:
        # LPD *cleansed* files mark only the first downbeat and are all 4/4 (Dong et al. 2018), so
        # their bars can be filled in; anywhere else that guess would put BARs in the wrong places
        if not assume_4_4:
            raise InputError(
                f"{name}: marks {len(downbeat)} downbeat(s) in {n_steps / res:.0f} beats of music; bars are "
                "filled in at 4/4 only for an all-4/4 set such as LPD cleansed (tokens.npz_assume_4_4: true)"
            )
        downbeat = np.arange(downbeat[0] if len(downbeat) else 0, n_steps, 4 * res)

    cols = {k: [] for k in ("instrument", "on", "off", "pitch", "velocity")}
    dropped = 0
    for tinfo, prefix, shape in tracks:
        if int(shape[0]) == 0:
            continue
        data, indices, indptr = z[prefix + "data"], z[prefix + "indices"], z[prefix + "indptr"]
        if len(data) == 0:
            continue
        pitch_of_entry = np.repeat(np.arange(len(indptr) - 1), np.diff(indptr))  # CSC column = pitch
        rows = indices.astype(np.int64)
        vel = data.astype(np.int16) if data.dtype != bool else np.full(len(data), 100, np.int16)
        nz = vel > 0
        rows, pitch_of_entry, vel = rows[nz], pitch_of_entry[nz], vel[nz]
        same = pitch_of_entry[1:] == pitch_of_entry[:-1]
        if not np.all(~same | (rows[1:] > rows[:-1])):  # canonical CSC is already (pitch, time) sorted
            order = np.lexsort((rows, pitch_of_entry))
            rows, pitch_of_entry, vel = rows[order], pitch_of_entry[order], vel[order]
        new = np.ones(len(rows), bool)
        new[1:] = (pitch_of_entry[1:] != pitch_of_entry[:-1]) | (rows[1:] != rows[:-1] + 1)
        starts = np.flatnonzero(new)
        ends = np.append(starts[1:], len(rows)) - 1
        g = program_group(int(tinfo.get("program", 0)), bool(tinfo.get("is_drum", False)))
        if g is None:
            dropped += len(starts)
            continue
        cols["instrument"].append(np.full(len(starts), g, np.int8))
        cols["on"].append(rows[starts])
        cols["off"].append(rows[ends] + 1)
        cols["pitch"].append(pitch_of_entry[starts].astype(np.int16))
        cols["velocity"].append(vel[starts])
    if not cols["on"]:
        return _empty_song(step_s[downbeat], source=name, dropped_program=dropped)
    c = {k: np.concatenate(v) for k, v in cols.items()}
    c["off"] = np.minimum(c["off"], n_steps)
    return Song(
        instrument=c["instrument"],
        pitch=c["pitch"],
        start_s=step_s[c["on"]],
        end_s=step_s[c["off"]],
        velocity=c["velocity"],
        downbeats_s=step_s[downbeat],
        beat_grid_s=step_s,
        beat_grid=np.arange(len(step_s)) / res,
        n_tempo_changes=int(np.count_nonzero(np.diff(bpm))) + 1,
        dropped_program=dropped,
        source=name,
        meta={"beat_resolution": res},
    )


def read_song(path, source="", npz_assume_4_4: bool = False, limits=None) -> Song:
    """Dispatch on the suffix: .npz -> pianoroll, anything else (.mid/.midi/.kar) -> MIDI, which
    first passes the one MIDI validator (emsync.music.midi_input; `limits`: a MidiLimits, default the
    params defaults) so a file `emsync midi inspect` rejects is rejected here with the same reason.
    `npz_assume_4_4`: a pianoroll marking fewer than two downbeats gets 4/4 bars (LPD cleansed)
    instead of being refused."""
    from emsync.music.midi_input import validate_midi

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    if path.suffix.lower() == ".npz":
        return read_npz(path, source, npz_assume_4_4)
    return read_midi(validate_midi(path, limits), source or str(path))
