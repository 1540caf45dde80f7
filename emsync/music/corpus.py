"""Tokenize a folder of MIDI / LPD .npz files into shards (pure logic; flows/tokens.py wires it).

Files -> items: `midi_id` from emsync.music.midi_ids (the file name without suffix, the LMD md5; the
relative path where names repeat in the tree). With a labels table
(data/labeling/labels.parquet: midi_id, valence, arousal, split; the labelling stage already
removed duplicates) only its midi_ids are tokenized and its labels and split are joined; without
one every file is tokenized with NaN labels and the §4.3 split: names sorted, the last
`test_fraction` is test.
"""

from pathlib import Path

import numpy as np

from emsync.core.errors import EmsyncError
from emsync.music import vocab as V
from emsync.music.lpd5 import read_song
from emsync.music.tokenizer import encode

SUFFIXES = (".mid", ".midi", ".kar", ".npz")
ENCODE_PARAMS = ("chord_min_notes", "chord_min_beats", "npz_assume_4_4")  # the token grid is fixed by emsync.music.vocab
STAT_COLUMNS = (
    "notes",
    "instruments",
    "chords",
    "bars",
    "duration_s",
    "dropped_pitch",
    "dropped_program",
    "lengthened",
    "duplicates",
    "truncated",
    "tempo_changes",
)


def list_files(midi_dir) -> dict:
    """{midi_id: path} for every music file in the folder (recursive), sorted by midi_id; the
    ids are the labelling stage's (emsync.music.midi_ids) so labels join on them."""
    from emsync.music.midi_ids import midi_ids

    midi_dir = Path(midi_dir)
    paths = [p for p in sorted(midi_dir.rglob("*")) if p.suffix.lower() in SUFFIXES and p.is_file()]
    return dict(sorted((m, p) for p, m in midi_ids(paths, midi_dir).items()))


def default_split(midi_ids, test_fraction: float) -> dict:
    """§4.3: sort the names, the last `test_fraction` (rounded up, at least one if any) is test."""
    ids = sorted(midi_ids)
    n_test = int(np.ceil(len(ids) * test_fraction)) if ids and test_fraction > 0 else 0
    return {m: ("test" if i >= len(ids) - n_test else "train") for i, m in enumerate(ids)}


def tokenize_one(path, params=None) -> dict:
    """One file -> {"ids": int16 array, "chord_times": [s], **stats}; raises EmsyncError on a bad file."""
    song = read_song(path, npz_assume_4_4=bool(getattr(params, "npz_assume_4_4", False)))
    enc = encode(song, params)
    if enc.stats["notes"] == 0:
        raise EmsyncError(f"{path}: no notes in the five instrument groups within pitches 21-108")
    stats = {k: enc.stats[k] for k in STAT_COLUMNS}
    return {"ids": enc.ids, "chord_times": enc.chord_times_s.round(3).tolist(), **stats}


def tokenize_batch(items, params=None) -> dict:
    """items: [(midi_id, path)] -> {"tokens": concatenated int16 ids, "rows": [{midi_id, offset,
    n_tokens, chord_times, stats...}], "rejects": [{midi_id, reason}]}. A bad file is a reject."""
    parts, rows, rejects, offset = [], [], [], 0
    for midi_id, path in items:
        try:
            r = tokenize_one(path, params)
        except (EmsyncError, ValueError, IndexError, OverflowError) as e:
            rejects.append({"midi_id": midi_id, "reason": f"{type(e).__name__}: {e}"})
            continue
        ids = r.pop("ids")
        rows.append({"midi_id": midi_id, "offset": offset, "n_tokens": len(ids), **r})
        parts.append(ids)
        offset += len(ids)
    tokens = np.concatenate(parts).astype(np.int16) if parts else np.zeros(0, np.int16)
    return {"tokens": tokens, "rows": rows, "rejects": rejects}


def join_labels(index, labels, test_fraction):
    """Add valence, arousal, split to the index rows (DataFrame) from the labels table or defaults."""
    if labels is None:
        index["valence"] = np.nan
        index["arousal"] = np.nan
        split = default_split(index["midi_id"], test_fraction)
        index["split"] = index["midi_id"].map(split)
        return index
    lab = labels[["midi_id", "valence", "arousal", "split"]].drop_duplicates("midi_id")
    out = index.merge(lab, on="midi_id", how="left")
    out["valence"] = out["valence"].astype(float)
    out["arousal"] = out["arousal"].astype(float)
    return out


def write_shard(out_dir, shard: int, tokens) -> None:
    """shards.new/NNNNN.npy under out_dir (moved to shards/ by finish_outputs)."""
    from emsync.core.io import atomic_path

    with atomic_path(Path(out_dir) / "shards.new" / f"{shard:05d}.npy") as tmp, open(tmp, "wb") as f:
        np.save(f, np.asarray(tokens, np.int16))  # a file object: np.save adds no suffix


def add_shard(out_dir, shard: int, result: dict, rows: list, rejects: list) -> None:
    """Fold one tokenize_batch result into rows (tagged with its shard) and rejects; write its shard."""
    rejects.extend(result["rejects"])
    rows.extend({**row, "shard": shard} for row in result["rows"])
    if result["rows"]:
        write_shard(out_dir, shard, result["tokens"])


def recover_shards(out_dir) -> None:
    """After a run killed between finish_outputs' two renames: the previous shards/ come back."""
    out = Path(out_dir)
    if (out / "shards.old").is_dir() and not (out / "shards").exists():
        (out / "shards.old").rename(out / "shards")


def finish_outputs(out_dir, rows, rejects, labels=None, test_fraction=0.05, check=None):
    """Index from the per-song rows (+ labels), `check(index without list columns)`, then
    shards.new/ replaces shards/ and vocab.json, index.parquet, rejects.parquet are written.
    A failed check leaves the previous outputs untouched. Returns the index."""
    import shutil

    import pandas as pd

    from emsync.core.io import write_json, write_parquet

    out = Path(out_dir)
    index = pd.DataFrame(rows, columns=["midi_id", "shard", "offset", "n_tokens", "chord_times", *STAT_COLUMNS])
    index = join_labels(index, labels, test_fraction)
    front = ["midi_id", "split", "valence", "arousal", "shard", "offset", "n_tokens"]
    index = index[front + [c for c in index.columns if c not in front]].sort_values("midi_id").reset_index(drop=True)
    if check is not None:
        check(index.drop(columns=["chord_times"]))
    new, cur, old = out / "shards.new", out / "shards", out / "shards.old"
    new.mkdir(parents=True, exist_ok=True)
    # two renames, so a kill at any point leaves one complete set: shards/ or shards.old/
    # (recover_shards puts the old set back at the next run's start)
    shutil.rmtree(old, ignore_errors=True)
    if cur.exists():
        cur.rename(old)
    new.rename(cur)
    shutil.rmtree(old, ignore_errors=True)
    write_json(out / "vocab.json", V.to_json())
    write_parquet(out / "index.parquet", index)
    write_parquet(out / "rejects.parquet", pd.DataFrame(rejects, columns=["midi_id", "reason"]))
    return index
