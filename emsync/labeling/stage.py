"""The labelling stage's steps as plain functions (no Prefect): scan rows -> tables.

files    valid files: midi_id, content_hash, features, is_unique, duplicate_of, group_size
rejects  midi_id, path, reason, detail
matches  unique matched files: best MSD track, metadata, Spotify id and where it came from
labels   unique valid files: valence, arousal, split (+ the inputs of both)
"""

import numpy as np
import pandas as pd

from emsync.labeling import matching
from emsync.labeling.labels import build_labels, listing_entry
from emsync.labeling.midi import REASONS
from emsync.labeling.scan import COLUMNS

REJECT_COLUMNS = ["midi_id", "path", "reason", "detail"]


def rekey(midi_dir, rows) -> list:
    """Scan rows keyed for any folder tree: midi_id from emsync.music.midi_ids, `path` relative to
    labeling.midi_dir and no absolute path in `detail`, so the tables do not depend on the clone."""
    from emsync.music.midi_ids import midi_ids, rel_path, relative_text

    ids = midi_ids([r["path"] for r in rows], midi_dir)
    return [
        {**r, "midi_id": ids[r["path"]], "path": rel_path(r["path"], midi_dir), "detail": relative_text(r.get("detail"), midi_dir)}
        for r in rows
    ]


def split_scan(rows) -> tuple:
    """Scan dicts -> (valid files, rejects), both sorted by midi_id."""
    df = pd.DataFrame(rows, columns=COLUMNS)
    df = df.sort_values("midi_id").reset_index(drop=True)
    valid = df[df["valid"].astype(bool)].drop(columns=["valid", "reason"]).reset_index(drop=True)
    rejects = df[~df["valid"].astype(bool)][REJECT_COLUMNS].reset_index(drop=True)
    for c in ("n_notes", "n_instruments", "n_tempo_changes", "resolution"):
        valid[c] = valid[c].astype(np.int64)
    valid["has_drums"] = valid["has_drums"].astype(bool)
    return valid, rejects


def match_and_dedup(valid: pd.DataFrame, scores: pd.DataFrame, meta: pd.DataFrame, spotify_map: pd.DataFrame) -> tuple:
    """§3.1: dedup by content hash keeping the best-matched file, then match the unique files.
    Returns (files with dedup columns, matches)."""
    best = matching.best_matches(scores[scores["midi_id"].isin(set(valid["midi_id"]))])
    d = matching.dedup(valid, best.set_index("midi_id")["match_score"])
    files = valid.merge(d[["midi_id", "is_unique", "duplicate_of", "group_size"]], on="midi_id", how="left")
    unique_ids = files.loc[files["is_unique"], "midi_id"]
    matches = matching.match_table(unique_ids, scores, meta, spotify_map)
    return files, matches


def apply_search(matches: pd.DataFrame, found: pd.DataFrame) -> pd.DataFrame:
    """Fill spotify_id (source 'search') from search-fallback results."""
    m = matches.copy()
    for c in ("spotify_title", "spotify_artist", "spotify_album", "search_query"):
        if c not in m.columns:
            m[c] = None
    if len(found):
        f = found.set_index("midi_id")
        hit = m["spotify_id"].isna() & m["midi_id"].isin(f.index)
        for c in ("spotify_id", "spotify_title", "spotify_artist", "spotify_album", "search_query"):
            m.loc[hit, c] = m.loc[hit, "midi_id"].map(f[c])
        m.loc[hit, "spotify_source"] = "search"
    return m


def labels_table(files: pd.DataFrame, matches: pd.DataFrame, audio: pd.DataFrame, cfg) -> pd.DataFrame:
    unique = files[files["is_unique"]]
    return build_labels(unique, matches, audio, cfg)


def json_entries(files: pd.DataFrame, matches: pd.DataFrame, audio: pd.DataFrame) -> dict:
    """{midi_id: Listing 3.1 entry} for every matched file."""
    f = files.set_index("midi_id")
    a = audio.set_index("midi_id") if len(audio) else None
    out = {}
    for m in matches.to_dict("records"):
        mid = m["midi_id"]
        au = a.loc[mid].to_dict() if a is not None and mid in a.index else None
        out[mid] = {mid: listing_entry(f.loc[mid].to_dict(), m, au)}
    return out


FILES_CHECKS = [
    ("row_count_between", 1, None),
    ("not_null", "midi_id"),
    ("unique", "midi_id"),
    ("not_null", "content_hash"),
    ("between", "n_notes", 1, None),
    ("between", "tempo", 0.0, None),
    ("not_null", "is_unique"),
]
REJECTS_CHECKS = [("not_null", "midi_id"), ("unique", "midi_id"), ("in_set", "reason", list(REASONS))]
MATCHES_CHECKS = [
    ("not_null", "midi_id"),
    ("unique", "midi_id"),
    ("not_null", "track_id"),
    ("between", "match_score", 0.0, 1.0),
    ("in_set", "spotify_source", ["map", "search", None]),
]
LABELS_CHECKS = [
    ("row_count_between", 1, None),
    ("not_null", "midi_id"),
    ("unique", "midi_id"),
    ("between", "valence", -1.0, 1.0),
    ("between", "arousal", -1.0, 1.0),
    ("in_set", "split", ["train", "test"]),
]


def midi_paths(midi_dir) -> list:
    """The MIDI files of the corpus folder (one clear line when there are none)."""
    from emsync.core.errors import InputError
    from emsync.labeling.scan import list_midi

    paths = list_midi(midi_dir)
    if not paths:
        raise InputError(f"{midi_dir}: no MIDI files (.mid/.midi/.kar) found")
    return paths


def inspect_jobs(p, paths: list) -> tuple[list, dict]:
    """(one job per shard of files: paths, content digests; the validator's options) for the
    cached inspect task (validate + hash + features, §3.1)."""
    from emsync.core.io import file_digest

    c = p.labeling
    opts = {
        "workers": c.workers,
        "fast": c.fast_hash,
        "verify_every": c.verify_every,
        "fs": c.roll_fs,
        "max_tempo_bpm": c.max_tempo_bpm,
        "max_duration_s": c.max_duration_s,
        "max_bytes": int(p.limits.max_midi_mb * 2**20),
    }
    jobs = [
        {
            "shard": k,
            "paths": [str(x) for x in paths[i : i + c.shard_size]],
            "digests": [file_digest(x) for x in paths[i : i + c.shard_size]],
        }
        for k, i in enumerate(range(0, len(paths), c.shard_size))
    ]
    return jobs, opts


def write_outputs(p, files, rejects, matches, audio, labels, valid) -> dict:
    """Checks, then every output atomically: the four tables, the Listing 3.1 JSON per file, the
    report and its figures; returns the metrics."""
    import shutil

    from emsync.core.io import write_json, write_parquet
    from emsync.labeling import report as rep
    from emsync.pipeline.checks import check_table

    c = p.labeling
    out, reports = p.path(p.paths.data_dir) / "labeling", p.path(p.paths.reports_dir)
    check_table(files, "labeling_files", FILES_CHECKS, reports)
    check_table(rejects, "labeling_rejects", REJECTS_CHECKS, reports)
    check_table(matches, "labeling_matches", MATCHES_CHECKS, reports)
    check_table(labels, "labeling_labels", LABELS_CHECKS, reports)
    write_parquet(out / "files.parquet", files)
    write_parquet(out / "rejects.parquet", rejects)
    write_parquet(out / "matches.parquet", matches.merge(audio, on="midi_id", how="left"))
    write_parquet(out / "labels.parquet", labels)
    jdir = out / "json"
    if jdir.exists():
        shutil.rmtree(jdir)
    if c.json_export:
        for mid, entry in json_entries(files, matches, audio).items():
            write_json(jdir / f"{mid}.json", entry)
    m = rep.metrics(valid, rejects, labels, audio)
    rep.write_report(m, labels, reports, c.arousal_feature)
    return m
