"""DAW-ready MIDI export for `emsync soundtrack` (beyond the thesis).

The generated soundtrack as a type-1 MIDI file that a DAW opens lined up with the video:

* track 0 (conductor, named "emsync soundtrack"): the tempo (120 bpm; the model's time grid is
  8 ms, not beats, so 480 ticks per beat make one tick ~1.04 ms), a 4/4 time signature, an SMPTE
  offset of 00:00:00:00 carrying the video's frame rate (the music starts with the first frame),
  a text event with the exact fps, and one marker at every scene cut, named `cut 00:11.79`
  (`cut 00:11.79 boundary` when the cut is also a §5.1 boundary that the music was conditioned on),
  and a `speech 00:01.47` / `speech end 00:04.80` marker pair around every detected speech segment;
* one track per instrument with its name (Drums, Bass, Guitar, Piano, Strings) and its GM program
  (emsync.music.tokenizer.PROGRAM; drums on channel 10).

SMPTE frame rate: the SMPTE offset meta event has four frame-rate codes, 24, 25, 29.97 (drop
frame) and 30 fps. 23.976 fps video (24000/1001) is written as 24 and 29.97 (30000/1001) as 29.97
drop frame; doubled rates (47.952/48, 50, 59.94, 60) as their half, low rates (12, 15) as their
double; any other rate as the nearest code. Because the offset is zero, the code only sets how the DAW counts frames; the exact rate is
in the text event (`video fps 23.976 (SMPTE code 24)`) and in the JSON record.
"""

from pathlib import Path

import numpy as np

TPQ = 480
BPM = 120.0
SMPTE_RATES = (24.0, 25.0, 29.97, 30.0)  # the four codes of the SMPTE offset meta event


def smpte_rate(fps: float) -> float:
    """The SMPTE offset frame-rate code for a video's fps (see the module docstring)."""
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        return 25.0
    if fps > 40:  # 47.952/48, 50, 59.94, 60 ...: count frames at half the rate
        fps /= 2
    elif fps < 20:  # 12, 15 ...: at twice the rate
        fps *= 2
    if abs(fps - 30000 / 1001) < 0.01:
        return 29.97
    if abs(fps - 24000 / 1001) < 0.01:
        return 24.0
    return min(SMPTE_RATES, key=lambda r: abs(r - fps))


def cut_name(t: float) -> str:
    """`cut 00:11.79` (minutes:seconds.hundredths)."""
    cs = int(round(t * 100))
    return f"cut {cs // 6000:02d}:{cs % 6000 / 100:05.2f}"


def seconds_to_tick(t: float, bpm: float = BPM, tpq: int = TPQ) -> int:
    return int(round(t * bpm / 60.0 * tpq))


def marker_list(cuts, boundaries, speech=()) -> list[tuple[float, str]]:
    """(time, name) per cut, boundaries flagged; a boundary that is no cut gets its own marker;
    `speech` segments (start, end) get a start and an end marker."""
    bset = {round(float(b), 3) for b in boundaries}
    out = [(float(c), cut_name(c) + (" boundary" if round(float(c), 3) in bset else "")) for c in cuts]
    cset = {round(float(c), 3) for c in cuts}
    out += [(float(b), cut_name(b).replace("cut", "boundary", 1)) for b in boundaries if round(float(b), 3) not in cset]
    for a, b in speech:
        out += [(float(a), cut_name(a).replace("cut", "speech", 1)), (float(b), cut_name(b).replace("cut", "speech end", 1))]
    return sorted(out)


def daw_midi(dec, cuts=(), boundaries=(), fps: float = 25.0, bpm: float = BPM, instruments=None, speech=()):
    """A mido.MidiFile of `dec` (emsync.music.tokenizer.Decoded) with the conductor track above;
    `instruments` (indices) keeps only those instrument tracks (one stem)."""
    import mido

    from emsync.core.io import temp_dir
    from emsync.music.tokenizer import to_score

    with temp_dir("emsync-daw-") as d:  # symusic writes the notes
        tmp = Path(d) / "notes.mid"
        tmp.write_bytes(to_score(dec, tpq=TPQ, bpm=bpm).dumps_midi())  # dump_midi(path) ignores write errors (a full disk)
        notes = mido.MidiFile(str(tmp))
    rate = smpte_rate(fps)
    conductor = mido.MidiTrack(
        [
            mido.MetaMessage("track_name", name="emsync soundtrack", time=0),
            mido.MetaMessage("smpte_offset", frame_rate=rate, hours=0, minutes=0, seconds=0, frames=0, sub_frames=0, time=0),
            mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(bpm), time=0),
            mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
            mido.MetaMessage("text", text=f"video fps {fps:.3f} (SMPTE code {rate:g})", time=0),
        ]
    )
    now = 0
    for t, name in marker_list(cuts, boundaries, speech):
        tick = seconds_to_tick(t, bpm)
        conductor.append(mido.MetaMessage("marker", text=name, time=tick - now))
        now = tick
    conductor.append(mido.MetaMessage("end_of_track", time=0))
    from emsync.music import vocab as V

    keep = None if instruments is None else {V.INSTRUMENTS[i].title() for i in instruments}
    out = mido.MidiFile(type=1, ticks_per_beat=TPQ)
    out.tracks.append(conductor)
    for tr in notes.tracks:
        if keep is not None and tr.name not in keep:
            continue
        msgs, carry = [], 0
        for m in tr:  # the tempo lives in the conductor track only
            if m.type == "set_tempo":
                carry += m.time
                continue
            msgs.append(m.copy(time=m.time + carry))
            carry = 0
        out.tracks.append(mido.MidiTrack(msgs))
    return out


def write_daw_midi(dec, path, cuts=(), boundaries=(), fps: float = 25.0, bpm: float = BPM, instruments=None, speech=()) -> dict:
    """Write `daw_midi(...)` atomically; returns what the JSON record says about the file."""
    from emsync.core.io import atomic_path

    mid = daw_midi(dec, cuts, boundaries, fps, bpm, instruments, speech)
    with atomic_path(path, suffix=".mid") as tmp:
        mid.save(str(tmp))
    return {
        "bpm": bpm,
        "ticks_per_beat": TPQ,
        "video_fps": round(float(fps), 3),
        "smpte_rate": smpte_rate(fps),
        "markers": [{"t": round(t, 3), "tick": seconds_to_tick(t, bpm), "name": n} for t, n in marker_list(cuts, boundaries, speech)],
        "tracks": [tr.name for tr in mid.tracks[1:]],
    }
