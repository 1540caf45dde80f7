"""Benchmarks behind `emsync bench <name>`: each module has add_args(parser) and run(args) -> dict."""

import contextlib
import tempfile
from pathlib import Path


@contextlib.contextmanager
def real_videos_and_models(videos=None, models_dir=None):
    """(video paths, demo models folder) for the video benchmarks: the given ones, else the real
    clips in ../shared/data/{video,ekman6} and tiny random demo models built into a temp folder
    (removed on exit)."""
    from emsync.core.config import shared_data_dir
    from emsync.core.errors import InputError

    paths = (
        [Path(v) for v in videos]
        if videos
        else sorted([*(shared_data_dir() / "video").glob("*.mp4"), *(shared_data_dir() / "ekman6").glob("*.mp4")])
    )
    if not paths:
        raise InputError(f"no videos given and none found under {shared_data_dir()}")
    if models_dir is not None:
        yield paths, models_dir
        return
    from emsync.video.tiny_models import build_all

    with tempfile.TemporaryDirectory(prefix="emsync-bench-models-") as tmp:
        build_all(tmp)
        yield paths, tmp
