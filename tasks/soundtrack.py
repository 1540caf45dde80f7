"""Cached Prefect tasks of the `soundtrack` stage (library code in emsync/soundtrack/batch.py and
emsync/soundtrack/objective.py).

Each task is keyed on the video's content digest, the params sections it reads, the checkpoints'
digests and `code` (a digest of the library sources it runs), so a re-run of an unchanged stage
is all cache hits and a killed run recomputes only the unfinished (video, condition) items."""

from emsync.pipeline.flowkit import cached_task


@cached_task(name="video-emotion")
def emotion_task(video_id: str, rel_path: str, digest: str, sections: dict, classifier_digest: str | None, code: str) -> dict:
    """The `emsync` condition's emotion of one video (the video emotion classifier, §5.2.2)."""
    from emsync.core.config import params_from_dict
    from emsync.soundtrack.batch import video_emotion
    from emsync.soundtrack.batch import resolve_path

    return video_emotion(params_from_dict(sections), resolve_path(rel_path))


@cached_task(name="score-video")
def score_task(job: dict, sections: dict, generator_digest: str, code: str) -> dict:
    """One (video, condition): MIDI, WAV, MP4 and JSON written into data/soundtrack/<video_id>/;
    returns the record with the token ids. `job` holds video_id, rel_path, digest, condition,
    setting and seed."""
    from emsync.core.config import params_from_dict
    from emsync.soundtrack.batch import score_item
    from emsync.soundtrack.batch import resolve_path

    params = params_from_dict(sections)
    return score_item(params, resolve_path(job["rel_path"]), job["video_id"], job["condition"], job["setting"], job["seed"])
