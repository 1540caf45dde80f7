"""Songs, splits, a decoded cache and fast filtered crops for bandwidth extension (§7.3, §7.5).

    songs = discover(dsd100_dir="", medleydb_dir="", folders=["data/demo/audio"], folder_test_songs=1, val_songs=1)
    songs = build_cache(songs, "data/bandwidth/cache")     # decode each file ONCE to int16 .npy
    crops = CropSampler([s for s in songs if s.split == "train"], filters=MULTI_FILTER)
    low, full, names = crops.sample(rng, 8)                 # (8, 2, 8192) float32 each

Layouts (§7.3): DSD100 `Mixtures/Dev/<song>/mixture.*` is the training split and
`Mixtures/Test/<song>/mixture.*` the test split; MedleyDB `Audio/<song>/<song>_MIX.*` is all
training; the validation songs are the LAST `val_songs` (8 in the thesis) training songs of DSD100
Dev (by name), taken out of training. Any other folder of wav/flac/ogg files (sorted by path):
the last `folder_test_songs` go to test, the rest to training, and when no DSD100 is given the
validation songs are the last training songs of the folders.

The upstream bottleneck was reading and filtering a whole file for every crop. Here each file is
decoded once into an int16 (n, 2) .npy that crops memory-map, and a crop is filtered from a window
`filters.settle_samples` wide around it (equal to filtering the whole file to ~-100 dB, tested).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

import numpy as np

from emsync.bandwidth import audio as A
from emsync.bandwidth import filters as F
from emsync.core.errors import InputError
from emsync.core.io import atomic_path, write_json

AUDIO_EXTS = (".wav", ".flac", ".ogg")


@dataclasses.dataclass(frozen=True)
class Song:
    song_id: str  # "<source>:<name>", stable across machines
    path: str  # the source file
    source: str  # dsd100 | medleydb | folder
    split: str  # train | val | test
    samples: int = 0  # 44.1 kHz samples, after build_cache
    cache: str = ""  # the int16 .npy, after build_cache
    notes: tuple = ()  # conversions applied while decoding

    def audio(self):
        """(n, 2) int16 memory map of the decoded song."""
        return np.load(self.cache, mmap_mode="r")


def _files(folder, pattern) -> list:
    return sorted(p for p in Path(folder).glob(pattern) if p.suffix.lower() in AUDIO_EXTS and p.is_file())


def discover(dsd100_dir="", medleydb_dir="", folders=(), folder_test_songs=1, val_songs=8) -> list:
    """Every song with its §7.3 split. Missing roots named in params are an InputError."""
    for name, d in (("dsd100_dir", dsd100_dir), ("medleydb_dir", medleydb_dir), *(("folders", f) for f in folders)):
        if d and not Path(d).is_dir():
            raise InputError(f"bandwidth.{name}: {d} is not a folder")
    train, test = [], []
    if dsd100_dir:
        dev = _files(dsd100_dir, "Mixtures/Dev/*/mixture.*")
        tst = _files(dsd100_dir, "Mixtures/Test/*/mixture.*")
        if not dev:
            raise InputError(f"bandwidth.dsd100_dir: no Mixtures/Dev/<song>/mixture.wav under {dsd100_dir}")
        train += [("dsd100", p.parent.name, p) for p in dev]
        test += [("dsd100", p.parent.name, p) for p in tst]
    if medleydb_dir:
        mix = _files(medleydb_dir, "Audio/*/*_MIX.*")
        if not mix:
            raise InputError(f"bandwidth.medleydb_dir: no Audio/<song>/<song>_MIX.wav under {medleydb_dir}")
        medley = [("medleydb", p.parent.name, p) for p in mix]
    else:
        medley = []
    for d in folders:
        files = _files(d, "**/*")
        if not files:
            raise InputError(f"bandwidth.folders: no {'/'.join(AUDIO_EXTS)} files under {d}")
        cut = max(len(files) - folder_test_songs, 0)
        train += [("folder", str(p.relative_to(d).with_suffix("")), p) for p in files[:cut]]
        test += [("folder", str(p.relative_to(d).with_suffix("")), p) for p in files[cut:]]
    # validation: the last `val_songs` of the DSD100 Dev songs (or of the folder songs without DSD100)
    pool = [t for t in train if t[0] == "dsd100"] or train
    val = pool[max(len(pool) - val_songs, 0) :] if val_songs else []
    songs = [Song(f"{s}:{n}", str(p), s, "val" if (s, n, p) in val else "train") for s, n, p in train]
    songs += [Song(f"{s}:{n}", str(p), s, "train") for s, n, p in medley]
    songs += [Song(f"{s}:{n}", str(p), s, "test") for s, n, p in test]
    ids = [s.song_id for s in songs]
    if len(set(ids)) != len(ids):
        dup = sorted({i for i in ids if ids.count(i) > 1})
        raise InputError(f"bandwidth: two files give the same song id {dup[:3]}; rename one")
    return songs


def _key(song: Song) -> str:
    p = Path(song.path)
    st = p.stat()
    return hashlib.md5(f"{song.song_id}|{st.st_size}|{st.st_mtime_ns}".encode()).hexdigest()[:16]


def build_cache(songs, cache_dir, sample_rate=A.SAMPLE_RATE, rejects: list | None = None) -> list:
    """Decode each song once to `<cache_dir>/<key>.npy` ((n, 2) int16 at 44.1 kHz) + a .json of
    notes; reuse what is there. A file that cannot be decoded or is empty goes to `rejects`
    (song_id, reason) instead of stopping the run."""
    out = []
    cache_dir = Path(cache_dir)
    for s in songs:
        npy = cache_dir / f"{_key(s)}.npy"
        meta = npy.with_suffix(".json")
        try:
            if not (npy.exists() and meta.exists()):
                info = A.probe(s.path)
                notes = A.conversion_notes(info, sample_rate)
                if info["sample_format"] not in ("s16", "s16p"):
                    notes.append("stored as 16-bit")
                x = np.concatenate([A.to_int16(b) for b in A.iter_blocks(s.path, sample_rate=sample_rate)] or [np.zeros((0, 2), "<i2")])
                if not len(x):
                    raise InputError(f"{s.path}: no audio samples")
                with atomic_path(npy, suffix=".npy") as tmp, open(tmp, "wb") as fh:
                    np.save(fh, x)
                write_json(meta, {"song_id": s.song_id, "samples": len(x), "notes": notes})
            m = json.loads(meta.read_text())
            out.append(dataclasses.replace(s, samples=int(m["samples"]), cache=str(npy), notes=tuple(m["notes"])))
        except InputError as e:
            if rejects is None:
                raise
            rejects.append({"song_id": s.song_id, "reason": str(e)})
    return out


class CropSampler:
    """Random stereo crops (§7.5): pick a song uniformly, a start uniformly, a filter uniformly
    from `filters`; the band-limited crop is filtered from a settled window around it."""

    def __init__(self, songs, filters=F.SINGLE_FILTER, crop=8192, cutoff_hz=11025.0, sample_rate=A.SAMPLE_RATE):
        if not songs:
            raise InputError("bandwidth: no training songs to crop from")
        self.songs, self.filters = list(songs), F.check_names(filters)
        self.crop, self.cutoff, self.sr = int(crop), float(cutoff_hz), int(sample_rate)
        self._maps = {}

    def _audio(self, song):
        if song.cache not in self._maps:
            self._maps[song.cache] = song.audio()
        return self._maps[song.cache]

    def crop_at(self, song, start, name) -> tuple:
        """(band-limited, full-band) (2, crop) float32 at `start` (zero-padded past the end)."""
        a = self._audio(song)
        n = min(self.crop, max(len(a) - start, 0))
        low, full = F.lowpass_window(a, start, n, name, self.cutoff, self.sr)
        if n < self.crop:
            pad = ((0, 0), (0, self.crop - n))
            low, full = np.pad(low, pad), np.pad(full, pad)
        return low, full

    def sample(self, rng: np.random.Generator, batch: int) -> tuple:
        """(low (B, 2, crop), full (B, 2, crop), [filter names])."""
        lows, fulls, names = [], [], []
        for _ in range(batch):
            song = self.songs[rng.integers(len(self.songs))]
            start = int(rng.integers(max(song.samples - self.crop, 0) + 1))
            name = self.filters[rng.integers(len(self.filters))]
            low, full = self.crop_at(song, start, name)
            lows.append(low)
            fulls.append(full)
            names.append(name)
        return np.stack(lows), np.stack(fulls), names


def validation_excerpts(songs, filters, offset_s=8.0, duration_s=8.0, cutoff_hz=11025.0, sample_rate=A.SAMPLE_RATE):
    """§7.4.3: one excerpt per validation song, `duration_s` from second `offset_s` (or the song's
    last `duration_s` when it is shorter); with several
    filters each song gets a different one (song i -> filters[i % len]). [(song_id, filter, low, full)]."""
    filters = F.check_names(filters)
    out = []
    for i, s in enumerate(songs):
        a = s.audio()
        n = min(int(duration_s * sample_rate), len(a))
        start = min(int(offset_s * sample_rate), len(a) - n)  # a short song: its last `duration_s`
        name = filters[i % len(filters)]
        low, full = F.lowpass_window(a, start, n, name, cutoff_hz, sample_rate)
        out.append((s.song_id, name, low, full))
    return out
