"""Scene cuts and the boundary difference filter (§5.1, §6.2).

The thesis defines a cut with FFmpeg's scene detector: a frame whose scene score exceeds 0.27
("average pixel difference above 27 %"). The score of libavfilter's `select` filter (FFmpeg 5.1,
what scripts/install_system.sh installs) is, for planar YUV input, taken on the luma plane only:

    mafd  = sum |Y_cur - Y_prev| / (width * height)          (8-bit units)
    score = clip(min(mafd, |mafd - mafd_prev|) / 100, 0, 1)   (0 for the first frame)

a jump in frame difference, not the difference itself, so sustained motion does not fire on every
frame. Packed RGB/BGR and gray frames are scored on all their bytes. Formats the filter does not
take (4:4:4, 10-bit, NV12, ...) are converted by FFmpeg first; converting 8-bit 4:4:4 to 4:2:0
leaves the luma plane as it is, so its score is the same.

Methods (`video.cut_method`):
- `ffmpeg` (default): FFmpeg itself, `select='gte(scene,0)'` printing every frame's score and
  `select='gt(scene,T)'` deciding the cuts, in one pass. This *is* the thesis's definition.
- `pyav`: the same score computed in-process on the decoder's own planes (PyAV, no colour
  conversion), in the same double arithmetic, so scores and cuts are identical (tested on every
  real clip and on near-threshold transitions). Pixel formats it cannot score the way FFmpeg
  does fall back to `ffmpeg`.
- `scenedetect-content`, `scenedetect-adaptive`: PySceneDetect's own detectors at their own
  default thresholds. NOT the thesis's definition; `threshold` is ignored.

Times are the frame's presentation time relative to the container start, as FFmpeg reports them.

`filter_boundaries` then drops every cut less than `min_gap_s` (4 s) after the previous kept
boundary, counting the start of the video as the first one: §5.1/§6.2 "discard scenes that are
less than 4 seconds apart" and the first scene starts at 0 s, where the music starts anyway, so a
cut in the first 4 s (a fade-in caught at 0.04 s, a short cold open) gives no boundary.

    emsync cuts VIDEO            # {"duration": ..., "cuts": [...], "boundaries": [...]}
"""

import logging
import re
import subprocess
from fractions import Fraction

import numpy as np

from emsync.core.errors import InputError
from emsync.video.probe import probe, require_tool

METHODS = ("ffmpeg", "pyav", "scenedetect-content", "scenedetect-adaptive")
_EPS = 1e-6  # seconds: float slack for "exactly min_gap_s apart"
log = logging.getLogger(__name__)


def filter_boundaries(cuts, min_gap_s: float = 4.0, from_start: bool = True) -> list[float]:
    """Keep a cut only if it is at least `min_gap_s` after the previous kept boundary (§5.1: drop
    boundaries occurring less than 4 s apart). With `from_start` the video start (0 s) is the
    first boundary (not returned), so no cut in the first `min_gap_s` seconds is kept."""
    kept: list[float] = []
    last = 0.0 if from_start else None
    for t in sorted(float(c) for c in cuts):
        if last is None or t - last >= min_gap_s - _EPS:
            kept.append(t)
            last = t
    return kept


# ---- FFmpeg itself ------------------------------------------------------------------------------

_FRAME = re.compile(r"\] frame:\s*(\d+)\s+pts:\s*(-?\d+)")
_SCORE = re.compile(r"\] lavfi\.scene_score=([0-9.]+)")


def _time_base(path, info=None) -> Fraction:
    """The video stream's time base: from the probe when given (no second ffprobe), else asked.
    JSON, not CSV: ffprobe's CSV line for a stream with a display matrix (a phone's rotated clip)
    carries the side data as extra fields."""
    import json

    if info is not None and info.time_base:
        return Fraction(info.time_base)
    cmd = [require_tool("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=time_base", "-of", "json", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout
    try:
        tb = Fraction(json.loads(out or "{}")["streams"][0]["time_base"])
        if tb <= 0:
            raise ValueError(f"time base {tb}")
        return tb
    except (IndexError, KeyError, TypeError, ValueError, ZeroDivisionError) as e:
        raise InputError(f"{path}: no video time base ({e})") from e


def ffmpeg_scores(path, threshold: float = 0.27, info=None) -> tuple[list[tuple[float, float]], list[float]]:
    """FFmpeg's per-frame (time, scene score) as it prints them (6 decimals), and the cut times
    its own `gt(scene, threshold)` selects, from one decoding pass (`info`: the probe, if done)."""
    info = info or probe(path)  # one clear error for unreadable input
    tb = _time_base(path, info)
    vf = (
        "select='gte(scene,0)',metadata=print:key=lavfi.scene_score,"  # every frame's score
        f"select='gt(scene,{threshold!r})',metadata=print:key=lavfi.scene_score"  # FFmpeg's own decision
    )
    cmd = [
        require_tool("ffmpeg"),
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-v",
        "info",
        "-i",
        str(path),
        "-an",
        "-sn",
        "-dn",
        "-vf",
        vf,
        "-f",
        "null",
        "-",
    ]
    res = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    scores: dict[str, list] = {}  # filter instance -> [(time, score)]
    pending: dict[str, float] = {}
    for line in res.stderr.splitlines():
        name = line[1 : line.find(" @ ")] if line.startswith("[Parsed_metadata_") else None
        if name is None:
            continue
        if m := _FRAME.search(line):
            pending[name] = round(float(int(m.group(2)) * tb), 6)
        elif (m := _SCORE.search(line)) and name in pending:
            scores.setdefault(name, []).append((pending.pop(name), float(m.group(1))))
    every = scores.get("Parsed_metadata_1", [])
    if res.returncode != 0 and not every:
        tail = res.stderr.strip().splitlines()
        raise InputError(f"{path}: ffmpeg scene detection failed ({tail[-1] if tail else 'no output'})")
    return every, [t for t, _ in scores.get("Parsed_metadata_3", [])]


def ffmpeg_cuts(path, threshold: float = 0.27, info=None) -> list[float]:
    """Reference: cut times (s) where FFmpeg's scene score > threshold."""
    return ffmpeg_scores(path, threshold, info)[1]


# ---- the same score on the decoder's planes (PyAV) ---------------------------------------------

_LUMA_FORMATS = {"yuv420p", "yuvj420p", "yuv422p", "yuvj422p", "yuv444p", "yuvj444p"}  # scored on plane 0
_PACKED_FORMATS = {"gray", "rgb24", "bgr24"}  # one plane, every byte


class _Unsupported(Exception):
    pass


def _plane0(frame) -> np.ndarray:
    """Plane 0 of a decoded frame as (height, bytes per line) uint8, without the line padding."""
    if frame.format.name not in _LUMA_FORMATS | _PACKED_FORMATS:
        raise _Unsupported(frame.format.name)
    p = frame.planes[0]
    width = frame.width * (3 if frame.format.name in ("rgb24", "bgr24") else 1)
    return np.frombuffer(p, np.uint8).reshape(-1, p.line_size)[: frame.height, :width]


def pyav_scores(path, info=None) -> list[tuple[float, float]]:
    """Per-frame (time, score) with FFmpeg's formula on the decoder's planes, as exact doubles."""
    import av
    import cv2

    info or probe(path)
    try:
        container = av.open(str(path))
    except av.error.FFmpegError as e:
        raise InputError(f"{path}: cannot open video for scene detection ({e})") from e
    out: list[tuple[float, float]] = []
    with container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame threads: same pictures, faster
        tb = stream.time_base
        offset = round(Fraction(container.start_time or 0, 1_000_000) / tb)  # FFmpeg's ts_offset, in tb units
        prev, prev_mafd = None, 0.0
        try:
            for frame in container.decode(stream):
                y = _plane0(frame)
                score = 0.0
                if prev is not None and prev.shape == y.shape:
                    sad = int(cv2.absdiff(y, prev).sum(dtype=np.uint64))
                    mafd = sad / y.size  # both < 2**53: the same double as C's (double)sad / count
                    score = min(max(min(mafd, abs(mafd - prev_mafd)) / 100.0, 0.0), 1.0)
                    prev_mafd = mafd
                elif prev is not None:  # new frame size: FFmpeg rebuilds its filter graph
                    prev_mafd = 0.0
                prev = y.copy()
                pts = frame.pts if frame.pts is not None else 0
                out.append((round(float((pts - offset) * tb), 6), score))
        except av.error.FFmpegError as e:  # a damaged tail: keep what decoded, as ffmpeg does
            if not out:
                raise InputError(f"{path}: scene detection failed ({e})") from e
            log.warning("%s: decoding stopped after %d frames (%s)", path, len(out), e)
    return out


def pyav_cuts(path, threshold: float = 0.27, info=None) -> list[float]:
    try:
        return [t for t, s in pyav_scores(path, info) if s > threshold]
    except _Unsupported as e:
        log.info("%s: pixel format %s is converted by FFmpeg before scoring; using ffmpeg", path, e)
        return ffmpeg_cuts(path, threshold, info)


# ---- PySceneDetect's own detectors (not the thesis's definition) -------------------------------


def scenedetect_cuts(path, detector: str = "content", info=None) -> list[float]:
    """Scene starts (s) from PySceneDetect's ContentDetector or AdaptiveDetector, default settings."""
    from scenedetect import AdaptiveDetector, ContentDetector, SceneManager, open_video

    logging.getLogger("pyscenedetect").setLevel(logging.WARNING)
    info or probe(path)
    try:
        video = open_video(str(path), backend="pyav")
    except Exception as e:  # scenedetect wraps PyAV's errors in its own types
        raise InputError(f"{path}: cannot open video for scene detection ({e})") from e
    manager = SceneManager()
    manager.add_detector(ContentDetector() if detector == "content" else AdaptiveDetector())
    manager.detect_scenes(video=video)
    return [round(start.get_seconds(), 6) for start, _ in manager.get_scene_list()[1:]]


def detect_cuts(path, threshold: float = 0.27, method: str = "ffmpeg", info=None) -> list[float]:
    """Raw scene-cut times in seconds (§5.1), by `method` (see the module docstring); `info` is
    the video's probe when the caller already has it."""
    if method == "ffmpeg":
        return ffmpeg_cuts(path, threshold, info)
    if method == "pyav":
        return pyav_cuts(path, threshold, info)
    if method in ("scenedetect-content", "scenedetect-adaptive"):
        return scenedetect_cuts(path, method.split("-", 1)[1], info)
    raise InputError(f"unknown scene-cut method {method!r} (choose from {', '.join(METHODS)})")


def video_cuts(path, threshold: float = 0.27, min_gap_s: float = 4.0, method: str = "ffmpeg", info=None) -> dict:
    """{"duration", "fps", "cuts", "boundaries", "decoded_duration"}: what `emsync cuts` prints and
    cuts.parquet stores; `decoded_duration` (ffmpeg method) measures how much of a truncated file plays."""
    info = info or probe(path)
    decoded = None  # seconds that decode: the last frame's time + one frame (None: not measured)
    if method == "ffmpeg":
        every, cuts = ffmpeg_scores(path, threshold, info)
        decoded = round(every[-1][0] + 1 / info.fps, 6) if every else None
    else:
        cuts = detect_cuts(path, threshold, method, info)
    return {
        "duration": info.duration,
        "fps": info.fps,
        "cuts": cuts,
        "boundaries": filter_boundaries(cuts, min_gap_s),
        "decoded_duration": decoded,
    }
