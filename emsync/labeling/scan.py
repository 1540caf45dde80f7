"""Validate + hash + describe many MIDI files in worker processes (memory bounded: each worker
holds one file at a time; results are small dicts)."""

import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from emsync.music.midi_input import inspect_file

COLUMNS = [
    "midi_id",
    "path",
    "valid",
    "reason",
    "detail",
    "content_hash",
    "parser",
    "n_notes",
    "duration",
    "note_density",
    "n_instruments",
    "avg_note_density",
    "has_drums",
    "tempo",
    "tempo_initial",
    "n_tempo_changes",
    "resolution",
    "verified",
]


def midi_id_of(path) -> str:
    """LMD names files by the md5 of their bytes; the file stem is the midi_id."""
    return Path(path).stem


def _one(args):
    path, opts = args
    opts = dict(opts)
    every = int(opts.pop("verify_every", 0) or 0)
    row = inspect_file(path, **opts)
    row["verified"] = None
    if every > 0 and row["parser"] == "fast" and int(row["content_hash"][:8], 16) % every == 0:
        # a sample of fast-path files is re-read by the pretty_midi reference; on disagreement the
        # reference row is kept and the mismatch is counted in the report
        ref = inspect_file(path, **{**opts, "fast": False})
        same = all(ref.get(k) == row.get(k) for k in ("valid", "content_hash", "tempo", "n_notes", "duration"))
        if not same:
            ref["detail"] = "fast path disagreed with the reference; reference used"
            row = ref
        row["verified"] = same
    row.pop("programs", None)
    return {"midi_id": midi_id_of(path), "path": str(path), **row}


def scan(paths, workers=1, chunksize=16, **opts) -> list:
    """inspect_file over `paths` (in order) with `workers` processes; one dict per file."""
    jobs = [(str(p), opts) for p in paths]
    workers = max(1, min(int(workers), os.cpu_count() or 1, len(jobs) or 1))
    if workers == 1:
        return [_one(j) for j in jobs]
    import multiprocessing

    # forkserver: never fork a process that runs Prefect's threads
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("forkserver")) as ex:
        return list(ex.map(_one, jobs, chunksize=chunksize))


def list_midi(folder) -> list:
    """MIDI files under `folder` (.mid, .midi, .kar; recursive, sorted)."""
    folder = Path(folder)
    return sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in (".mid", ".midi", ".kar"))
