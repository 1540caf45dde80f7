"""LMD-matched -> MSD -> Echo Nest -> Spotify (thesis §3.1), content dedup and the search
fallback's queries and pick rule.

Mapping tables are read leniently: missing fields become NaN, duplicate rows collapse, and every
choice between several candidates has a fixed, documented tie-break so reruns give the same table.
"""

import difflib
import json
import re
import unicodedata
from pathlib import Path

import numpy as np
import pandas as pd

from emsync.core.errors import InputError


def load_match_scores(path) -> pd.DataFrame:
    """LMD-matched `match_scores.json` ({msd_track_id: {midi_md5: score}}) -> long table."""
    path = Path(path)
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: match scores not found") from None
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from None
    rows = [(t, m, float(s)) for t, d in raw.items() for m, s in (d or {}).items() if s is not None]
    return pd.DataFrame(rows, columns=["track_id", "midi_id", "match_score"])


def best_matches(scores: pd.DataFrame) -> pd.DataFrame:
    """§3.1: keep only the best-matching MSD track per MIDI file (ties: smallest track id)."""
    s = scores.sort_values(["midi_id", "match_score", "track_id"], ascending=[True, False, True])
    return s.drop_duplicates("midi_id", keep="first").reset_index(drop=True)


def _read_table(path) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: table not found")
    if path.suffix == ".parquet":
        return pd.read_parquet(path)
    return pd.read_csv(path, dtype=str, keep_default_na=True, encoding="utf-8")


def load_msd_metadata(path) -> pd.DataFrame:
    """MSD metadata: one row per track_id with title, artist, release, duration (seconds); missing
    fields -> NaN."""
    df = _read_table(path)
    if "track_id" not in df.columns:
        raise InputError(f"{path}: no 'track_id' column (has {list(df.columns)})")
    for col in ("song_id", "title", "artist", "release"):
        if col not in df.columns:
            df[col] = np.nan
        df[col] = df[col].where(df[col].notna() & (df[col].astype(str).str.strip() != ""), np.nan)
    df["duration"] = pd.to_numeric(df["duration"], errors="coerce") if "duration" in df.columns else np.nan
    return df.drop_duplicates("track_id", keep="first")[["track_id", "song_id", "title", "artist", "release", "duration"]]


def load_spotify_map(path) -> pd.DataFrame:
    """Echo Nest/MSD track -> Spotify id. Duplicate rows collapse; a track with several ids keeps
    the first one in file order (the archive's own order)."""
    df = _read_table(path)
    if "spotify_ids" in df.columns and "spotify_id" not in df.columns:  # the author's archive shape
        df["spotify_id"] = df["spotify_ids"].fillna("").str.split().str[0]
    for col in ("track_id", "spotify_id"):
        if col not in df.columns:
            raise InputError(f"{path}: no '{col}' column (has {list(df.columns)})")
    df = df[["track_id", "spotify_id"]].copy()
    df["spotify_id"] = df["spotify_id"].astype("string").str.strip()
    df = df[df["spotify_id"].notna() & (df["spotify_id"] != "")]
    return df.drop_duplicates("track_id", keep="first").reset_index(drop=True)


def dedup(files: pd.DataFrame, scores: pd.Series) -> pd.DataFrame:
    """§3.1 content dedup. `files` has midi_id + content_hash (valid files only); `scores` maps
    midi_id -> best match score. Files with equal content hashes are one song; the kept file is the
    one with the highest match score (unmatched files rank last), then the smallest midi_id.
    Returns midi_id, is_unique (kept), duplicate_of (the kept file's id), group_size."""
    df = files[["midi_id", "content_hash"]].copy()
    df["_score"] = df["midi_id"].map(scores).astype(float).fillna(-np.inf)
    df = df.sort_values(["content_hash", "_score", "midi_id"], ascending=[True, False, True])
    keeper = df.groupby("content_hash", sort=False)["midi_id"].transform("first")
    df["is_unique"] = df["midi_id"] == keeper
    df["duplicate_of"] = keeper.where(~df["is_unique"], None)
    df["group_size"] = df.groupby("content_hash")["midi_id"].transform("size").astype(int)
    return df.drop(columns="_score").sort_values("midi_id").reset_index(drop=True)


def match_table(unique_ids, scores: pd.DataFrame, meta: pd.DataFrame, spotify_map: pd.DataFrame) -> pd.DataFrame:
    """Best MSD track + metadata + mapped Spotify id for every unique valid MIDI that LMD-matched
    covers. `spotify_source` is 'map' where the Echo Nest mapping had an id, else NaN (the search
    fallback may fill it later)."""
    best = best_matches(scores[scores["midi_id"].isin(set(unique_ids))])
    m = best.merge(meta, on="track_id", how="left").merge(spotify_map, on="track_id", how="left")
    m["spotify_source"] = np.where(m["spotify_id"].notna(), "map", None)
    return m.sort_values("midi_id").reset_index(drop=True)


# --------------------------------------------------------------------------------------------
# search fallback: progressively looser queries and the pick rule

_BRACKETS = re.compile(r"\s*[\(\[\{][^\)\]\}]*[\)\]\}]")
_SUFFIX = re.compile(r"\s+-\s+.*$")  # " - Remastered 2009", " - Live", " - Single Version"
_FEAT = re.compile(r"\s+(feat\.?|ft\.?|featuring)\s+.*$", re.IGNORECASE)


def clean_title(title: str) -> str:
    """Drop bracketed parts, ' - version' suffixes and 'feat. X' from a title."""
    t = _BRACKETS.sub("", str(title))
    t = _SUFFIX.sub("", t)
    t = _FEAT.sub("", t)
    return t.strip() or str(title).strip()


def norm(s) -> str:
    """Casefolded, accent-free, punctuation-free text for comparisons."""
    s = unicodedata.normalize("NFKD", str(s))
    s = "".join(ch for ch in s if not unicodedata.combining(ch)).casefold()
    s = re.sub(r"[^\w\s]", " ", s)
    return re.sub(r"\s+", " ", s).strip()


def _present(x) -> bool:
    return x is not None and not (isinstance(x, float) and np.isnan(x)) and str(x).strip() != ""


def search_queries(title, artist=None, release=None) -> list:
    """Queries from strictest to loosest (duplicates removed, order kept):
    title+artist+album, title+artist, cleaned title+artist, free text cleaned title + artist,
    cleaned title alone."""
    if not _present(title):
        return []
    t, ct = str(title).strip(), clean_title(title)
    a = str(artist).strip() if _present(artist) else None
    r = str(release).strip() if _present(release) else None
    q = []
    if a and r:
        q.append(f'track:"{t}" artist:"{a}" album:"{r}"')
    if a:
        q.append(f'track:"{t}" artist:"{a}"')
        q.append(f'track:"{ct}" artist:"{a}"')
        q.append(f"{ct} {a}")
    q.append(f'track:"{ct}"')
    return list(dict.fromkeys(q))


def similarity(a, b) -> float:
    a, b = norm(a), norm(b)
    if not a or not b:
        return 0.0
    return 1.0 if a == b else difflib.SequenceMatcher(None, a, b).ratio()


def pick(results, title, artist, duration=None, min_sim=0.8, max_duration_diff=0.05):
    """The pick rule. A candidate qualifies when
    - its cleaned title (see `clean_title`) and its best-matching artist are both >= `min_sim`
      similar to the MSD's (1.0 = equal after casefolding, accent and punctuation removal; without
      an MSD artist the cleaned title must be equal), and
    - when both durations are known, they differ by at most `max_duration_diff` (5 %, at least 5 s):
      a same-named song by the same artist is often another recording.
    Among qualifying candidates the highest title + artist similarity wins, then the closest
    duration, then the closest raw title (an exact "Song" beats "Song - Remastered"), then
    Spotify's own ranking. Returns (track dict, title + artist similarity) or (None, 0.0)."""
    best, best_key = None, None
    has_dur = _present(duration) and float(duration) > 0
    for item in results or []:
        if not isinstance(item, dict) or not item.get("id"):
            continue
        name = item.get("name", "")
        ts = similarity(clean_title(title), clean_title(name))
        artists = [x.get("name", "") if isinstance(x, dict) else str(x) for x in item.get("artists") or []]
        if _present(artist):
            as_ = max((similarity(artist, x) for x in artists), default=0.0)
            ok = ts >= min_sim and as_ >= min_sim
        else:
            as_ = 0.0
            ok = ts == 1.0
        dd = 0.0
        if has_dur and item.get("duration_ms"):
            dd = abs(float(item["duration_ms"]) / 1000.0 - float(duration))
            ok = ok and dd <= max(5.0, max_duration_diff * float(duration))
        key = (ts + as_, -dd, similarity(title, name))
        if ok and (best_key is None or key > best_key):
            best, best_key = item, key
    return (best, best_key[0]) if best is not None else (None, 0.0)
