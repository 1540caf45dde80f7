"""The LMD-like MIDI corpus: seeded songs written with mido, named by the md5
of their bytes as in the Lakh MIDI Dataset, plus planted content duplicates and broken files.

Pure API (no Prefect):
    plan = plan_midi_corpus(n_midi=40, n_duplicates=4)
    data, entry = render_midi_item(seed, plan[0])      # one file's bytes + ground-truth entry
    gt = build_midi_corpus(out_dir, seed=1234, n_midi=40, n_duplicates=4)   # all of it

Ground truth (docs/data_layout.md): {"files": {md5: {...}}, "duplicate_groups": [[md5, ...]]}.
A duplicate group lists the original first; duplicates have the same notes (program, drum flag,
pitch, velocity, start/end in seconds) but other bytes: renamed tracks and metadata, another
track order, doubled tick resolution, or note-offs written as velocity-0 note-ons.
"""

import hashlib
import io
from pathlib import Path

import mido
import numpy as np

from emsync.core.io import write_bytes
from emsync.demo.music import Song, make_song

KINDS = ("ok", "duplicate", "corrupt", "truncated", "empty", "zero_notes")
MAJOR_KEYS = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
MINOR_KEYS = ["Cm", "C#m", "Dm", "Ebm", "Em", "Fm", "F#m", "Gm", "G#m", "Am", "Bbm", "Bm"]
KARAOKE_HEADER = ["@KMIDI KARAOKE FILE", "@V0100", "@IEmsync demo karaoke"]


def item_rng(seed: int, *keys) -> np.random.Generator:
    """An independent generator per (seed, keys): items can be built alone, in any order."""
    h = hashlib.sha256(repr((int(seed),) + tuple(keys)).encode()).digest()
    return np.random.default_rng(int.from_bytes(h[:8], "little"))


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


# --------------------------------------------------------------------------------------------
# songs -> bytes


def song_for(seed: int, index: int, zero_notes=False) -> Song:
    """Song number `index` of the corpus: lyrics in English (~30 %), German/Spanish/Portuguese
    (~15 %), soft-karaoke text events (~7 %), none otherwise."""
    rng = item_rng(seed, "song", index)
    u = rng.random()
    lang, karaoke = None, False
    if u < 0.30:
        lang = "en"
    elif u < 0.45:
        lang = str(rng.choice(["de", "es", "pt"]))
    elif u < 0.52:
        karaoke = True
    return make_song(rng, lyrics_lang=lang, karaoke=karaoke, zero_notes=zero_notes)


def song_to_midi(song: Song, *, rename=False, order=None, tick_scale=1, velocity0_off=False, copyright=None) -> bytes:
    """Type-1 MIDI bytes: a conductor track, one track per part, a "Words" track for karaoke.

    The keyword arguments change bytes without changing notes (used for planted duplicates)."""
    k = int(tick_scale)
    mf = mido.MidiFile(type=1, ticks_per_beat=song.ticks_per_beat * k)

    def track(events):  # [(tick, priority, msg)] -> MidiTrack with delta times
        tr = mido.MidiTrack()
        last = 0
        for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
            tr.append(msg.copy(time=tick * k - last))
            last = tick * k
        tr.append(mido.MetaMessage("end_of_track", time=max(0, song.end_tick * k - last)))
        return tr

    num, den = song.time_signature
    cond = [(0, 0, mido.MetaMessage("track_name", name=(song.title + " (remix)") if rename else song.title))]
    if copyright:
        cond.append((0, 0, mido.MetaMessage("copyright", text=copyright)))
    cond.append((0, 0, mido.MetaMessage("time_signature", numerator=num, denominator=den)))
    keyname = (MINOR_KEYS if song.minor else MAJOR_KEYS)[song.key % 12]
    cond.append((0, 0, mido.MetaMessage("key_signature", key=keyname)))
    cond += [(tk, 0, mido.MetaMessage("set_tempo", tempo=t)) for tk, t in song.tempos]
    tracks = []
    channels = [c for c in range(16) if c != 9]
    for i, part in enumerate(song.parts):
        ch = 9 if part.is_drum else channels[i % len(channels)]
        name = (part.name.upper() + " trk") if rename else part.name
        ev = [(0, 0, mido.MetaMessage("track_name", name=name)), (0, 1, mido.Message("program_change", channel=ch, program=part.program))]
        for n in part.notes:
            off = (
                mido.Message("note_on", channel=ch, note=n.pitch, velocity=0)
                if velocity0_off
                else mido.Message("note_off", channel=ch, note=n.pitch, velocity=64)
            )
            ev.append((n.end, 2, off))
            ev.append((n.start, 3, mido.Message("note_on", channel=ch, note=n.pitch, velocity=n.velocity)))
        if part.role == "melody":
            ev += [(tk, 0, mido.MetaMessage("lyrics", text=w)) for tk, w in song.lyrics]
        tracks.append(track(ev))
    if order is not None:
        tracks = [tracks[i] for i in order]
    mf.tracks.append(track(cond))
    mf.tracks.extend(tracks)
    if song.karaoke:
        head = KARAOKE_HEADER + ["@LENGL", f"@T{song.title}", f"@T{song.artist}"]
        ev = [(0, 0, mido.MetaMessage("text", text=h)) for h in head]
        ev += [(tk, 1, mido.MetaMessage("text", text=w)) for tk, w in song.karaoke]
        wt = track(ev)
        wt.insert(0, mido.MetaMessage("track_name", name="Words"))
        mf.tracks.append(wt)
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def song_entry(song: Song) -> dict:
    """Ground-truth fields of one parsed-able song."""
    drums = any(p.is_drum for p in song.parts)
    return {
        "chord_times": [round(song.seconds(t), 6) for t in song.strong_chord_ticks],
        "distractor_chord_times": [round(song.seconds(t), 6) for t in song.distractor_ticks],
        "tempo_bpm": round(song.bpm, 6),
        "tempo_changes": len(song.tempos) > 1,
        "time_signature": f"{song.time_signature[0]}/{song.time_signature[1]}",
        "has_drums": drums,
        "lyrics_lang": song.lyrics_lang,
        "karaoke": bool(song.karaoke),
        "n_lyric_words": len(song.lyrics) + len(song.karaoke),
        "n_instruments": sum(1 for p in song.parts if p.notes),
        "programs": [list(x) for x in sorted({(p.program, p.is_drum) for p in song.parts if p.notes})],
        "n_notes": song.n_notes,
        "duration": round(song.seconds(song.last_note_end), 6),  # = pretty_midi get_end_time()
        "title": song.title,
        "artist": song.artist,
    }


def _parses(data: bytes) -> bool:
    try:
        mido.MidiFile(file=io.BytesIO(data))
        return True
    except Exception:
        return False


# --------------------------------------------------------------------------------------------
# the corpus plan and its items


def plan_midi_corpus(seed=1234, n_midi=200, n_duplicates=12, n_corrupt=3, n_truncated=3, n_zero_notes=2, empty=True) -> list:
    """The list of items (dicts) that make the corpus; each renders on its own."""
    items = [{"kind": "ok", "index": i} for i in range(n_midi)]
    rng = item_rng(seed, "duplicates")
    # about 2/3 of the copies go to distinct songs, the rest make groups of 3+
    n_groups = max(1, min(n_midi, -(-2 * n_duplicates // 3))) if n_duplicates else 0
    sources = sorted(rng.choice(n_midi, size=n_groups, replace=False).tolist()) if n_groups else []
    for j in range(n_duplicates):
        src = sources[j % n_groups]
        items.append({"kind": "duplicate", "index": src, "variant": j})
    items += [{"kind": "corrupt", "index": i} for i in range(n_corrupt)]
    items += [{"kind": "truncated", "index": n_midi + i} for i in range(n_truncated)]
    items += [{"kind": "zero_notes", "index": n_midi + n_truncated + i} for i in range(n_zero_notes)]
    if empty:
        items.append({"kind": "empty", "index": 0})
    return items


def _broken_entry(kind):
    return {
        "kind": kind,
        "group": None,
        "chord_times": [],
        "distractor_chord_times": [],
        "tempo_bpm": None,
        "tempo_changes": False,
        "time_signature": None,
        "has_drums": False,
        "lyrics_lang": None,
        "karaoke": False,
        "n_lyric_words": 0,
        "n_instruments": 0,
        "programs": [],
        "n_notes": 0,
        "duration": None,
        "title": None,
        "artist": None,
    }


def render_midi_item(seed: int, item: dict) -> tuple:
    """(bytes, ground-truth entry) of one planned item. Pure and deterministic."""
    kind, idx = item["kind"], item["index"]
    if kind == "ok":
        song = song_for(seed, idx)
        return song_to_midi(song), {"kind": "ok", "group": None, **song_entry(song)}
    if kind == "duplicate":
        song = song_for(seed, idx)
        rng = item_rng(seed, "dupvariant", item["variant"])
        n = len(song.parts)
        opts = {"rename": True, "copyright": f"(c) {1990 + int(rng.integers(0, 30))} {song.artist}"}
        if n > 1 and rng.random() < 0.6:
            order = list(range(n))
            while order == list(range(n)):
                order = rng.permutation(n).tolist()
            opts["order"] = order
        if rng.random() < 0.5:
            opts["tick_scale"] = 2  # exact: every tick doubles with the resolution
        if rng.random() < 0.5:
            opts["velocity0_off"] = True
        return song_to_midi(song, **opts), {"kind": "duplicate", "group": None, **song_entry(song)}
    if kind == "zero_notes":
        song = song_for(seed, idx, zero_notes=True)
        e = {**song_entry(song), "kind": "zero_notes", "group": None}
        e["chord_times"], e["distractor_chord_times"] = [], []
        return song_to_midi(song, copyright=f"demo zero-note file {idx}"), e
    if kind == "truncated":
        data = song_to_midi(song_for(seed, idx))
        rng = item_rng(seed, "truncate", idx)
        cut = int(len(data) * rng.uniform(0.3, 0.8))
        while _parses(data[:cut]):  # make sure the cut lands inside a track chunk
            cut -= 1
        return data[:cut], _broken_entry("truncated")
    if kind == "corrupt":
        rng = item_rng(seed, "corrupt", idx)
        junk = rng.integers(0, 256, size=int(rng.integers(200, 2000)), dtype=np.uint8).tobytes()
        if idx % 3 == 0:
            data = junk  # random bytes, no MThd
        elif idx % 3 == 1:
            data = b"MThd" + (6).to_bytes(4, "big") + b"\x00\x01\x00\x02\x01\xe0" + b"MTrx" + junk  # bad chunk
        else:
            data = b"MThd" + (2).to_bytes(4, "big") + b"\x00\x01" + junk  # header length too short
        assert not _parses(data)
        return data, _broken_entry("corrupt")
    if kind == "empty":
        return b"", _broken_entry("empty")
    raise ValueError(f"unknown demo MIDI kind {kind!r}")


def assemble_midi_ground_truth(rendered) -> dict:
    """[(item, bytes, entry)] -> {"files": {md5: entry}, "duplicate_groups": [[md5, ...]]}."""
    files, by_src = {}, {}
    originals = {it["index"]: md5(b) for it, b, _ in rendered if it["kind"] == "ok"}
    for it, data, entry in rendered:
        h = md5(data)
        if h in files:
            raise ValueError(f"demo MIDI item {it} collides with another file (md5 {h})")
        files[h] = dict(entry)
        if it["kind"] == "duplicate":
            by_src.setdefault(it["index"], []).append(h)
    groups = []
    for g, src in enumerate(sorted(by_src)):
        members = [originals[src]] + sorted(by_src[src])
        for h in members:
            files[h]["group"] = g
        groups.append(members)
    return {"files": dict(sorted(files.items())), "duplicate_groups": groups}


def build_midi_corpus(out_dir, seed=1234, n_midi=200, n_duplicates=12, **plan_kw) -> dict:
    """Write the corpus as <out_dir>/<md5>.mid and return its ground truth."""
    out_dir = Path(out_dir)
    rendered = [(it, *render_midi_item(seed, it)) for it in plan_midi_corpus(seed, n_midi, n_duplicates, **plan_kw)]
    gt = assemble_midi_ground_truth(rendered)
    for _, data, _ in rendered:
        write_bytes(out_dir / f"{md5(data)}.mid", data)
    return gt
