"""Prefect tasks of the labeling stage (§3.1, §4.3). Inputs are content digests; outputs are data."""

from emsync.pipeline.flowkit import CACHE_POLICY, cached_task


@cached_task(name="inspect-shard")
def inspect_shard(job: dict, opts: dict, code: str) -> list:
    """Validate + hash + describe job["paths"]; the cache key holds job["digests"] (file md5s)."""
    from emsync.labeling.scan import scan

    return scan(job["paths"], **opts)


@cached_task(name="match-and-dedup", cache_policy=CACHE_POLICY - "valid")
def match_and_dedup(
    valid,
    valid_digest: str,
    scores_path: str,
    scores_digest: str,
    meta_path: str,
    meta_digest: str,
    map_path: str,
    map_digest: str,
    code: str,
) -> tuple:
    """Content dedup (keep best match score) and LMD-matched/MSD/Spotify-map join."""
    from emsync.labeling import matching, stage

    return stage.match_and_dedup(
        valid, matching.load_match_scores(scores_path), matching.load_msd_metadata(meta_path), matching.load_spotify_map(map_path)
    )


@cached_task(name="archive-features", cache_policy=CACHE_POLICY - "matches")
def archive_features(matches, matches_digest: str, archive_path: str, archive_digest: str, code: str):
    """Audio features from an archive table (by Spotify id, else MSD track id)."""
    from emsync.labeling.spotify import features_from_archive, load_archive

    return features_from_archive(matches, load_archive(archive_path))


@cached_task(name="labels", cache_policy=CACHE_POLICY - "files" - "matches" - "audio")
def labels(files, matches, audio, digests: list, cfg: dict, code: str):
    """§4.3 valence/arousal labels and the train/test split."""
    from emsync.core.config import LabelingParams
    from emsync.labeling.stage import labels_table

    return labels_table(files, matches, audio, LabelingParams(**cfg))


def api_features(matches, cfg, search: bool):
    """Spotify Web API (not a Prefect-cached task: the client's own Parquet cache makes reruns
    free and resumable, and credentials must never enter a cache key)."""
    from emsync.labeling import spotify, stage

    client = spotify.SpotifyClient(cfg["cache_dir"], api_base=cfg["api_base"], token_url=cfg["token_url"])
    if search:
        missing = matches[matches["spotify_id"].isna()]
        matches = stage.apply_search(matches, spotify.search_fallback(client, missing))
    return matches, spotify.features_from_api(matches, client), client.n_calls
