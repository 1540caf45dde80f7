"""Prefect tasks of the feature stage (§5.1, §5.2.1): scene cuts per video, and one cached task per
(extractor, video) returning that extractor's DataFrame.

Both are cached on their inputs: the video's content digest, the parameters, the model's version
and a digest of the library code they run (`emsync.pipeline.stages.module_digest`), so editing an extractor re-runs only
that extractor and re-running an unchanged flow is all cache hits.
"""

import time
from pathlib import Path

from prefect.cache_policies import INPUTS, TASK_SOURCE

from emsync.core.config import project_root
from emsync.core.errors import InputError
from emsync.pipeline.flowkit import cached_task
from emsync.video.extractors import LoadedHandles
from emsync.video.stage import resolve_extractor

_HANDLES = LoadedHandles()  # shared by the tasks of one process: one load per model


def resolve_path(rel_path: str) -> Path:
    p = Path(rel_path)
    return p if p.is_absolute() else project_root() / p


@cached_task(name="video-cuts")
def cuts_task(job: dict) -> dict:
    """Raw scene cuts and 4 s-filtered boundaries of one video (§5.1).

    `job` holds video_id, rel_path, digest, threshold, min_gap_s, method and code (digest)."""
    from emsync.video.cuts import video_cuts

    t0 = time.perf_counter()
    row = video_cuts(resolve_path(job["rel_path"]), job["threshold"], job["min_gap_s"], job["method"])
    return {"video_id": job["video_id"], "method": job["method"], **row, "seconds": time.perf_counter() - t0}


# the upstream tables are keyed by their digest (job["upstream_digest"]), not hashed again
@cached_task(name="extract-features", cache_policy=(INPUTS - "upstream") + TASK_SOURCE)
def extract_task(job: dict, upstream: dict | None = None) -> dict:
    """One extractor on one video: {"table": DataFrame, "decode_s", "load_s", "extract_s"} (seconds).

    `job` holds extractor, video_id, rel_path, digest, model_ref, model_version, device, sampling
    (n_frames, mode, fps, seed, audio_sr, max_side, with_audio), boundaries, upstream_digest and code
    (digest); `upstream` maps the extractor's DEPENDS names to this video's tables."""
    from emsync.video.sampling import sample_video

    name = job["extractor"]
    mod = resolve_extractor(name)
    s = job["sampling"]
    t0 = time.perf_counter()
    sample = sample_video(
        resolve_path(job["rel_path"]), n_frames=s["n_frames"], mode=s["mode"], fps=s.get("fps", 1.0), seed=s["seed"], audio_sr=s["audio_sr"],
        boundaries=job.get("boundaries"), video_id=job["video_id"], max_side=s["max_side"], with_audio=s.get("with_audio", True),
    )  # fmt: skip
    t1 = time.perf_counter()
    handle, lock = _HANDLES.get(mod, name, job["model_ref"], job["device"])
    with lock:  # one video at a time per loaded model; other extractors run alongside
        t2 = time.perf_counter()
        df = mod.extract(handle, sample, upstream) if upstream is not None else mod.extract(handle, sample)
        t3 = time.perf_counter()
    del sample  # frames and audio are released before the result is persisted
    columns = list(getattr(mod, "COLUMNS", df.columns))
    if list(df.columns) != columns:
        raise InputError(f"extractor '{name}' returned columns {list(df.columns)}, its schema is {columns}")
    if len(df) and (df["video_id"] != job["video_id"]).any():
        raise InputError(f"extractor '{name}' returned rows of another video_id than '{job['video_id']}'")
    return {"table": df.reset_index(drop=True), "decode_s": t1 - t0, "load_s": t2 - t1, "extract_s": t3 - t2}
