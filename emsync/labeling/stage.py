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
from emsync.labeling.scan import COLUMNS

REJECT_COLUMNS = ["midi_id", "path", "reason", "detail"]


def rekey(midi_dir, rows) -> list:
    """Scan rows keyed for any folder tree: midi_id from emsync.midi_ids, `path` relative to
    labeling.midi_dir and no absolute path in `detail`, so the tables do not depend on the clone."""
    from emsync.midi_ids import midi_ids, rel_path, relative_text

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
