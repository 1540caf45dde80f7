"""LMD-matched / MSD / Echo Nest / Spotify look-alike tables for the demo corpus (§3.1).

The chain the thesis follows: MIDI md5 --match_scores--> MSD track --Echo Nest map--> Spotify id
--> audio features (valence). Planted difficulties, all recorded in ground_truth/lmd.json:
- several candidate tracks per MIDI (the true one has the highest score), several MIDIs per track
  (content duplicates and a few distinct arrangements of the same track), unmatched MIDIs, and a
  few broken files that still appear in match_scores;
- MSD metadata with unicode titles/artists and missing release/year;
- tracks with no Spotify id (some findable only by searching the catalog by title + artist),
  duplicate map rows, two ids for one track, an id missing from the catalog;
- an archive in the shape of the thesis author's cleansed_features.csv covering only some
  tracks, with a few valences of exactly 0.0 (missing values in disguise, §4.3) and some blanks.
"""

from pathlib import Path

import numpy as np
import pandas as pd

from emsync.core.io import atomic_path, write_json, write_parquet
from emsync.demo.midi_corpus import item_rng
from emsync.labeling.audio_features import AUDIO_FEATURES

ALNUM = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"))
BASE62 = np.array(list("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"))
UNICODE_TITLES = [
    "Café del Mar",
    "Naïve Heart",
    "Ångström Blues",
    "Über den Wolken",
    "Corazón Partido",
    "夜の街",
    "Смотри на меня",
    "Jalapeño Dreams",
    "Señorita Luz",
    "Öresund Night",
]
RELEASES = [
    "Greatest Hits",
    "Live at the Forum",
    "Uber 30 - das rockt!",
    "Noites de Verão",
    "Best of the 80s",
    "Back to Basics",
    "Midnight Sessions",
]


def _ident(rng, prefix, n=16):
    return prefix + "".join(rng.choice(ALNUM, size=n))


def _spotify_id(rng):
    return "".join(rng.choice(BASE62, size=22))


def make_lmd_tables(midi_gt: dict, seed=1234) -> dict:
    """All tables as Python objects: {"msd_metadata": DataFrame, "match_scores": dict,
    "echonest_to_spotify": DataFrame, "spotify_features": DataFrame, "spotify_catalog": list,
    "ground_truth": dict}."""
    rng = item_rng(seed, "lmd")
    files = midi_gt["files"]
    ok = sorted(h for h, e in files.items() if e["kind"] == "ok")
    tracks, song_track = _song_tracks(rng, files, ok)
    decoys = _decoys(rng, len(ok))
    scores, true_match, matched_midis = _match_scores(seed, midi_gt, song_track, tracks + decoys, decoys[0])
    spotify = _spotify_side(seed, song_track, decoys)
    e2s = pd.DataFrame(spotify["map_rows"], columns=["track_id", "spotify_id"])
    e2s.loc[len(e2s)] = {"track_id": decoys[1]["track_id"], "spotify_id": _spotify_id(rng)}  # id not in catalog
    gt = {
        "true_match": dict(sorted(true_match.items())),
        "spotify_id": spotify["gt_spot"],
        "valence": spotify["gt_val"],
        "search_only": spotify["search_only"],
        "unmatched_midis": sorted(h for h in matched_midis if h not in true_match),
    }
    return {
        "msd_metadata": _msd_metadata(seed, tracks + decoys),
        "match_scores": scores,
        "echonest_to_spotify": e2s,
        "spotify_features": spotify["archive"],
        "spotify_catalog": spotify["catalog"],
        "ground_truth": gt,
    }


def _song_tracks(rng, files: dict, ok: list) -> tuple[list, dict]:
    """One MSD track per distinct song (duplicates share their original's track); ~5 % of songs
    re-pointed to another song's track (distinct arrangements of one track). (tracks, {md5: track})."""
    tracks, song_track = [], {}
    for h in ok:
        e = files[h]
        t = {
            "track_id": _ident(rng, "TR"),
            "song_id": _ident(rng, "SO"),
            "title": e["title"],
            "artist": e["artist"],
            "duration": round(float(e["duration"]) * rng.uniform(0.95, 1.6), 3),
        }
        if rng.random() < 0.1:
            t["title"] = str(rng.choice(UNICODE_TITLES))
        tracks.append(t)
        song_track[h] = t
    for h in ok[1::20]:
        song_track[h] = song_track[ok[(ok.index(h) + 7) % len(ok)]]
    return tracks, song_track


def _decoys(rng, n_ok: int) -> list:
    """Tracks no MIDI belongs to (wrong candidates only)."""
    return [
        {
            "track_id": _ident(rng, "TR"),
            "song_id": _ident(rng, "SO"),
            "title": " ".join(rng.choice(["Lost", "Found", "Blue", "Velvet", "Night", "Train"], 2)),
            "artist": str(rng.choice(["Decoy Band", "The Others", "Nadie"])),
            "duration": round(float(rng.uniform(120, 360)), 3),
        }
        for _ in range(max(5, n_ok // 5))
    ]


def _match_scores(seed, midi_gt: dict, song_track: dict, all_tracks: list, broken_track: dict) -> tuple[dict, dict, list]:
    """{track_id: {md5: score}} with the true track highest, weaker candidates, unmatched MIDIs and
    broken files listed under `broken_track` (as in LMD); also {md5: true track_id} and the matched md5s."""
    files = midi_gt["files"]
    originals = {g[0]: g for g in midi_gt["duplicate_groups"]}
    true_match, scores = {}, {}
    matched_midis = [h for h in files if files[h]["kind"] in ("ok", "duplicate")]
    for h in sorted(matched_midis):
        src = h
        if files[h]["kind"] == "duplicate":
            src = next(g[0] for g in midi_gt["duplicate_groups"] if h in g)
        r = item_rng(seed, "match", h)
        if files[h]["kind"] == "ok" and h not in originals and r.random() < 0.12:
            continue  # unmatched MIDI (LMD-full only)
        t = song_track[src]
        best = round(float(r.uniform(0.55, 0.95)), 6)
        scores.setdefault(t["track_id"], {})[h] = best
        true_match[h] = t["track_id"]
        for _ in range(int(r.integers(0, 3))):  # weaker candidates
            other = all_tracks[int(r.integers(len(all_tracks)))]
            if other["track_id"] != t["track_id"]:
                scores.setdefault(other["track_id"], {})[h] = round(float(r.uniform(0.3, best - 0.05)), 6)
    for h in sorted(h for h, e in files.items() if e["kind"] in ("corrupt", "truncated", "zero_notes"))[::2]:
        scores.setdefault(broken_track["track_id"], {})[h] = 0.5  # broken files still listed, as in LMD
    scores = {k: dict(sorted(v.items())) for k, v in sorted(scores.items())}
    return scores, true_match, matched_midis


def _msd_metadata(seed, all_tracks: list) -> pd.DataFrame:
    """MSD metadata for every track (unicode, missing release and year)."""
    rows = []
    for t in all_tracks:
        r = item_rng(seed, "msd", t["track_id"])
        rows.append(
            {
                "track_id": t["track_id"],
                "song_id": t["song_id"],
                "title": t["title"],
                "artist": t["artist"],
                "release": None if r.random() < 0.1 else str(r.choice(RELEASES)),
                "year": None if r.random() < 0.2 else int(r.integers(1960, 2011)),
                "duration": t["duration"],
            }
        )
    return pd.DataFrame(rows).astype({"year": "Int64"}).sort_values("track_id", ignore_index=True)


def _audio_features(r, i: int) -> dict:
    feats = {
        "danceability": round(float(r.uniform(0.2, 0.95)), 3),
        "energy": round(float(r.uniform(0.1, 1.0)), 3),
        "key": int(r.integers(0, 12)),
        "loudness": round(float(r.uniform(-20, -2)), 3),
        "mode": int(r.integers(0, 2)),
        "speechiness": round(float(r.uniform(0.02, 0.3)), 4),
        "acousticness": round(float(r.uniform(0, 1)), 4),
        "instrumentalness": round(float(r.uniform(0, 0.9)), 6),
        "liveness": round(float(r.uniform(0.05, 0.6)), 3),
        "valence": round(float(r.uniform(0.03, 0.98)), 3),
        "tempo": round(float(r.uniform(60, 180)), 3),
    }
    if i % 25 == 3:
        feats["valence"] = 0.0  # the spurious peak at 0 (§4.3)
    return feats


def _spotify_side(seed, song_track: dict, decoys: list) -> dict:
    """Features per distinct track; the Echo Nest map rows, the archive, the catalog and their ground truth."""
    used = sorted({t["track_id"]: t for t in song_track.values()}.values(), key=lambda t: t["track_id"])
    out = {"map_rows": [], "archive": [], "catalog": [], "gt_spot": {}, "gt_val": {}, "search_only": []}
    for i, t in enumerate(used):
        r = item_rng(seed, "spotify", t["track_id"])
        sid = _spotify_id(r)
        feats = _audio_features(r, i)
        u = r.random()
        mapping = "mapped" if u < 0.7 else ("search" if u < 0.88 else "none")
        ids = [sid]
        if mapping == "mapped":
            if r.random() < 0.1:
                ids.append(_spotify_id(r))  # a second id for the same track
            out["map_rows"] += [{"track_id": t["track_id"], "spotify_id": s} for s in ids]
            if r.random() < 0.1:
                out["map_rows"].append({"track_id": t["track_id"], "spotify_id": ids[0]})  # duplicate row
        if mapping == "search":
            out["search_only"].append(t["track_id"])
        out["gt_spot"][t["track_id"]] = sid if mapping != "none" else None
        out["gt_val"][t["track_id"]] = feats["valence"] if mapping != "none" else None
        if mapping != "none" and not (mapping == "mapped" and i % 31 == 5):  # one mapped id missing from catalog
            out["catalog"].append(_catalog_entry(sid, t, feats))
        if r.random() < 0.65:  # the archive covers only some tracks
            out["archive"].append(_archive_row(t, ids if mapping == "mapped" else [], feats, blank=r.random() < 0.05))
    for t in decoys[:3]:  # catalog noise: unrelated tracks a search might hit
        r = item_rng(seed, "decoy", t["track_id"])
        out["catalog"].append(_catalog_entry(_spotify_id(r), t, {k: 0.5 for k in AUDIO_FEATURES} | {"key": 0, "mode": 1}))
    arch = pd.DataFrame(out["archive"], columns=["track_id", "song_id", "artist", "title", "spotify_ids", "tempo", "valence", "energy"])
    out["archive"] = arch.sort_values("track_id", ignore_index=True)
    out["catalog"].sort(key=lambda c: c["id"])
    return out


def _archive_row(t: dict, ids: list, feats: dict, blank: bool) -> dict:
    """A row shaped like the thesis author's cleansed_features.csv (blank: features missing)."""
    return {
        "track_id": t["track_id"],
        "song_id": t["song_id"],
        "artist": t["artist"],
        "title": t["title"],
        "spotify_ids": "    ".join(ids),
        "tempo": None if blank else feats["tempo"],
        "valence": None if blank else feats["valence"],
        "energy": None if blank else feats["energy"],
    }


def _catalog_entry(sid, t, feats):
    af = dict(
        feats,
        type="audio_features",
        id=sid,
        uri=f"spotify:track:{sid}",
        track_href=f"https://api.spotify.com/v1/tracks/{sid}",
        analysis_url=f"https://api.spotify.com/v1/audio-analysis/{sid}",
        duration_ms=int(round(t["duration"] * 1000)),
        time_signature=4,
    )
    return {"id": sid, "name": t["title"], "artists": [t["artist"]], "album": "Demo Album", "audio_features": af}


def _write_csv(path, df):
    with atomic_path(path) as tmp:
        df.to_csv(tmp, index=False, lineterminator="\n")


def write_lmd_tables(out_dir, tables: dict, ground_truth_dir=None):
    """Write the tables in the data/demo/lmd layout (docs/data_layout.md)."""
    out_dir = Path(out_dir)
    write_parquet(out_dir / "msd_metadata.parquet", tables["msd_metadata"])
    write_json(out_dir / "match_scores.json", tables["match_scores"])
    _write_csv(out_dir / "echonest_to_spotify.csv", tables["echonest_to_spotify"])
    _write_csv(out_dir / "spotify_features.csv", tables["spotify_features"])
    write_json(out_dir / "spotify_catalog.json", tables["spotify_catalog"])
    if ground_truth_dir is not None:
        write_json(Path(ground_truth_dir) / "lmd.json", tables["ground_truth"])


def build_lmd_tables(out_dir, midi_gt: dict, seed=1234, ground_truth_dir=None) -> dict:
    tables = make_lmd_tables(midi_gt, seed)
    write_lmd_tables(out_dir, tables, ground_truth_dir)
    return tables
