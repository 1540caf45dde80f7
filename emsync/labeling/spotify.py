"""Spotify audio features (thesis §3.1): the Web API through spotipy, or an archive table.

API client:
- credentials come only from the environment (SPOTIPY_CLIENT_ID / SPOTIPY_CLIENT_SECRET); the
  token lives in memory (spotipy's MemoryCacheHandler) and spotipy's debug logging, which would
  print the Authorization header, is kept off;
- a persistent cache (a folder of Parquet parts keyed by Spotify id, and by query for searches) is
  written after every batch, so a crashed run resumes where it stopped and a rerun asks nothing;
- audio features are requested in batches of up to 100 ids;
- 429 and 5xx answers, connection errors and malformed JSON are retried with exponential backoff,
  waiting Retry-After seconds when the server sends it.

Spotify deprecated audio-features for new apps in Nov 2024, so the archive source (`load_archive`,
e.g. the thesis author's cleansed_features.csv) is a first-class alternative.
"""

import json
import logging
import os
import re
import time
from pathlib import Path

import numpy as np
import pandas as pd

from emsync.core.errors import InputError
from emsync.core.io import write_parquet
from emsync.core.redact import redact
from emsync.labeling.audio_features import AUDIO_FEATURES

SPOTIFY_ID = re.compile(r"[0-9A-Za-z]{22}")
ENV_ID, ENV_SECRET = "SPOTIPY_CLIENT_ID", "SPOTIPY_CLIENT_SECRET"


class SpotifyError(InputError):
    """The Spotify API kept failing after all retries. The message holds no server reply, header or
    body (they can echo the credentials), only statuses and exception types, and is redacted."""

    def __init__(self, msg):
        super().__init__(redact(msg))


class SpotifyCache:
    """Parquet parts under `folder`: features/*.parquet (spotify_id, found, features_json) and
    search/*.parquet (query, results_json). New answers go to a new part, written atomically."""

    def __init__(self, folder):
        self.folder = Path(folder)
        self.features, self.searches = {}, {}
        for p in sorted((self.folder / "features").glob("*.parquet")):
            for sid, js in pd.read_parquet(p)[["spotify_id", "features_json"]].itertuples(index=False):
                self.features[sid] = json.loads(js) if isinstance(js, str) else None
        for p in sorted((self.folder / "search").glob("*.parquet")):
            for q, js in pd.read_parquet(p)[["query", "results_json"]].itertuples(index=False):
                self.searches[q] = json.loads(js)

    def _next(self, kind):
        n = len(list((self.folder / kind).glob("*.parquet")))
        return self.folder / kind / f"{n:06d}-{time.time_ns()}.parquet"

    def add_features(self, found: dict):
        rows = [(sid, f is not None, json.dumps(f, sort_keys=True) if f is not None else None) for sid, f in found.items()]
        write_parquet(self._next("features"), pd.DataFrame(rows, columns=["spotify_id", "found", "features_json"]))
        self.features.update(found)

    def add_search(self, query, results):
        write_parquet(self._next("search"), pd.DataFrame([(query, json.dumps(results, sort_keys=True))], columns=["query", "results_json"]))
        self.searches[query] = results


class SpotifyClient:
    """spotipy with explicit retries and a persistent cache. `api_base`/`token_url` point it at
    another server (the tests' loopback one); `sleep` is injectable so tests can record waits."""

    def __init__(
        self,
        cache_dir,
        api_base="https://api.spotify.com/v1/",
        token_url=None,
        batch_size=100,
        max_retries=6,
        backoff_s=0.5,
        max_wait_s=60.0,
        timeout_s=20.0,
        sleep=time.sleep,
    ):
        import requests
        import spotipy
        from spotipy.cache_handler import MemoryCacheHandler
        from spotipy.oauth2 import SpotifyClientCredentials

        cid, secret = os.environ.get(ENV_ID), os.environ.get(ENV_SECRET)
        if not cid or not secret:
            raise InputError(
                f"Spotify API source needs {ENV_ID} and {ENV_SECRET} in the environment (or set labeling.audio_features_source: archive)"
            )
        # its debug lines carry the auth header, its error lines the server's reply (which can echo
        # the credentials); every failure reaches the user as a SpotifyError instead
        logging.getLogger("spotipy").setLevel(logging.CRITICAL)
        if not 1 <= batch_size <= 100:
            raise InputError(f"Spotify batch size {batch_size} is outside 1..100")
        session = requests.Session()
        session.trust_env = False  # no proxies from the environment for this client
        auth = SpotifyClientCredentials(cid, secret, cache_handler=MemoryCacheHandler(), requests_session=session)
        if token_url:
            auth.OAUTH_TOKEN_URL = token_url
        self.sp = spotipy.Spotify(auth_manager=auth, requests_session=session, requests_timeout=timeout_s, retries=0)
        self.sp.prefix = api_base if api_base.endswith("/") else api_base + "/"
        self.cache = SpotifyCache(cache_dir)
        self.batch_size, self.max_retries, self.backoff_s, self.max_wait_s = batch_size, max_retries, backoff_s, max_wait_s
        self.sleep = sleep
        self.n_calls = 0

    def _call(self, fn, *args, **kw):
        import requests
        from spotipy.exceptions import SpotifyException
        from spotipy.oauth2 import SpotifyOauthError

        last = None
        for attempt in range(self.max_retries + 1):
            wait = self.backoff_s * 2**attempt
            try:
                self.n_calls += 1
                out = fn(*args, **kw)
                if out is None:
                    raise ValueError("empty or malformed JSON answer")
                return out
            except SpotifyException as e:
                # the status only: the server's reply (e.msg) and the request can echo credentials
                last = f"HTTP {e.http_status}"
                if e.http_status not in (429,) and not (e.http_status or 0) >= 500:
                    raise SpotifyError(f"Spotify API refused the request ({last})") from None
                retry_after = (e.headers or {}).get("Retry-After")
                if retry_after is not None:
                    try:
                        wait = float(retry_after)
                    except ValueError:
                        pass
            except SpotifyOauthError as e:
                code = str(e.error or "")
                last = f"token endpoint: {code if re.fullmatch(r'[a-z_]{1,40}', code) else 'error'}"
                if "invalid_client" in str(e.error):
                    raise SpotifyError(f"Spotify rejected the client credentials ({last})") from None
            except (requests.RequestException, ValueError, TypeError, KeyError) as e:
                last = f"{type(e).__name__}: {redact(str(e).splitlines()[0] if str(e) else '')[:200]}"
            if attempt < self.max_retries:
                self.sleep(min(wait, self.max_wait_s))
        raise SpotifyError(f"Spotify API still failing after {self.max_retries + 1} attempts ({last})")

    def audio_features(self, ids) -> dict:
        """{spotify_id: features dict or None (unknown to Spotify)}; only uncached ids are asked.
        Strings that are not Spotify ids (22 base-62 characters) map to None without a request."""
        ids = list(dict.fromkeys(i for i in ids if isinstance(i, str) and i))
        todo = [i for i in ids if i not in self.cache.features and SPOTIFY_ID.fullmatch(i)]
        for k in range(0, len(todo), self.batch_size):
            batch = todo[k : k + self.batch_size]
            got = self._call(self.sp.audio_features, batch)
            by_id = {f["id"]: f for f in got if isinstance(f, dict) and f.get("id")}
            self.cache.add_features({i: by_id.get(i) for i in batch})
        return {i: self.cache.features.get(i) for i in ids}

    def search(self, query, limit=10) -> list:
        """Track search results (cached by query)."""
        if query not in self.cache.searches:
            res = self._call(self.sp.search, q=query, type="track", limit=limit)
            items = (res.get("tracks") or {}).get("items") if isinstance(res, dict) else None
            if items is None:
                items = []
            slim = [
                {
                    "id": t.get("id"),
                    "name": t.get("name"),
                    "artists": [{"name": a.get("name") if isinstance(a, dict) else str(a)} for a in t.get("artists") or []],
                    "album": (t.get("album") or {}).get("name") if isinstance(t.get("album"), dict) else t.get("album"),
                    "duration_ms": t.get("duration_ms"),
                }
                for t in items
                if isinstance(t, dict)
            ]
            self.cache.add_search(query, slim)
        return self.cache.searches[query]


def search_fallback(client, rows: pd.DataFrame) -> pd.DataFrame:
    """For rows without spotify_id: try the progressively looser queries until the pick rule
    accepts a candidate. Returns midi_id, spotify_id, spotify_title, spotify_artist, spotify_album,
    search_query."""
    from emsync.labeling.matching import pick, search_queries

    out = []
    for r in rows.itertuples(index=False):
        for q in search_queries(r.title, r.artist, r.release):
            item, _ = pick(client.search(q), r.title, r.artist, getattr(r, "duration", None))
            if item is not None:
                arts = ", ".join(a.get("name", "") for a in item.get("artists") or [])
                out.append((r.midi_id, item["id"], item.get("name"), arts, item.get("album"), q))
                break
    return pd.DataFrame(out, columns=["midi_id", "spotify_id", "spotify_title", "spotify_artist", "spotify_album", "search_query"])


# --------------------------------------------------------------------------------------------
# archive source


def load_archive(path) -> pd.DataFrame:
    """An audio-features table keyed by Spotify id and/or MSD track id (CSV or Parquet), e.g. the
    thesis author's cleansed_features.csv (track_id, song_id, artist, title, spotify_ids
    space-separated, tempo, valence, energy). Returns one row per key with `spotify_id` = the first
    listed id (NaN when none), feature columns as floats, duplicate keys collapsed (first row)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: audio-features archive not found")
    df = pd.read_parquet(path) if path.suffix == ".parquet" else pd.read_csv(path, dtype=str, encoding="utf-8")
    if "spotify_ids" in df.columns and "spotify_id" not in df.columns:
        df["spotify_id"] = df["spotify_ids"].fillna("").str.split().str[0]
    if "track_id" not in df.columns and "spotify_id" not in df.columns and "id" in df.columns:
        df = df.rename(columns={"id": "spotify_id"})
    if "track_id" not in df.columns and "spotify_id" not in df.columns:
        raise InputError(f"{path}: needs a 'track_id' or 'spotify_id' column (has {list(df.columns)})")
    for col in ("track_id", "spotify_id"):
        if col not in df.columns:
            df[col] = pd.NA
        df[col] = df[col].astype("string").str.strip().replace("", pd.NA)
    feats = [c for c in AUDIO_FEATURES if c in df.columns]
    if "valence" not in feats:
        raise InputError(f"{path}: no 'valence' column")
    for c in feats:
        df[c] = pd.to_numeric(df[c], errors="coerce")
    keep = ["track_id", "spotify_id"] + [c for c in ("title", "artist") if c in df.columns] + feats
    df = df[keep]
    key = df["track_id"].fillna("") + "|" + df["spotify_id"].fillna("")
    return df[~key.duplicated()].reset_index(drop=True)


def features_from_archive(matches: pd.DataFrame, archive: pd.DataFrame) -> pd.DataFrame:
    """Audio features per matched midi_id: by Spotify id when both sides have one, else by MSD
    track id. Returns midi_id + feature columns (+ archive_key: 'spotify_id' | 'track_id')."""
    feats = [c for c in AUDIO_FEATURES if c in archive.columns]
    by_sid = archive.dropna(subset=["spotify_id"]).drop_duplicates("spotify_id").set_index("spotify_id")[feats]
    by_tid = archive.dropna(subset=["track_id"]).drop_duplicates("track_id").set_index("track_id")[feats]
    rows = []
    for r in matches.itertuples(index=False):
        sid, tid = getattr(r, "spotify_id", None), getattr(r, "track_id", None)
        if isinstance(sid, str) and sid in by_sid.index:
            rows.append({"midi_id": r.midi_id, "archive_key": "spotify_id", **by_sid.loc[sid].to_dict()})
        elif isinstance(tid, str) and tid in by_tid.index:
            rows.append({"midi_id": r.midi_id, "archive_key": "track_id", **by_tid.loc[tid].to_dict()})
    return pd.DataFrame(rows, columns=["midi_id", "archive_key", *feats])


def features_from_api(matches: pd.DataFrame, client: SpotifyClient) -> pd.DataFrame:
    """Audio features per matched midi_id through the API client (cached)."""
    ids = matches["spotify_id"].dropna().tolist()
    got = client.audio_features(ids)
    rows = []
    for r in matches.itertuples(index=False):
        f = got.get(r.spotify_id) if isinstance(r.spotify_id, str) else None
        if f:
            rows.append({"midi_id": r.midi_id, "archive_key": "api", **{c: f.get(c, np.nan) for c in AUDIO_FEATURES}})
    return pd.DataFrame(rows, columns=["midi_id", "archive_key", *AUDIO_FEATURES])
