"""Scene cuts and the boundary difference filter (§5.1, §6.2).

The thesis runs FFmpeg's scene detector and calls a frame a cut when its scene score exceeds 0.27
("average pixel difference above 27 %"). FFmpeg's score (libavfilter/f_select.c) is, on the
luma plane for YUV input, mafd = sum |cur - prev| / n_pixels (8-bit units) and
score = clip(min(mafd, |mafd - prev_mafd|) / 100, 0, 1): a jump in frame difference, not the
difference itself, so sustained fast motion does not fire on every frame.

Two implementations of that rule:
- `ffmpeg_cuts`: the reference, `ffmpeg -vf "select='gt(scene,T)',showinfo"` and its pts_time;
- `scenedetect_cuts`: PySceneDetect's content detection with `FfmpegSceneDetector`, a detector
  computing the same score (the BGR frames are taken back to the decoder's limited-range luma),
  so the same threshold gives the same cuts (tested on the demo videos).

Then `filter_boundaries` drops every cut less than `min_gap_s` (4 s) after the previous kept one.

    emsync cuts VIDEO            # {"duration": ..., "cuts": [...], "boundaries": [...]}
"""
import re
import subprocess

import numpy as np

from emsync.errors import InputError
from emsync.video.probe import probe, require_tool

METHODS = ("scenedetect", "ffmpeg")
_PTS_TIME = re.compile(r"\bpts_time:\s*(-?[0-9.]+(?:e-?\d+)?)")
_EPS = 1e-6  # seconds: float slack for "exactly min_gap_s apart"


def filter_boundaries(cuts, min_gap_s: float = 4.0) -> list[float]:
    """Keep a cut only if it is at least `min_gap_s` after the previous *kept* cut (§5.1: drop
    boundaries occurring less than 4 s apart). The first cut is always kept."""
    kept: list[float] = []
    for t in sorted(float(c) for c in cuts):
        if not kept or t - kept[-1] >= min_gap_s - _EPS:
            kept.append(t)
    return kept


def ffmpeg_cuts(path, threshold: float = 0.27, info=None) -> list[float]:
    """Reference: cut times (s) where FFmpeg's scene score > threshold (`info`: the probe, if done)."""
    info = info or probe(path)
    cmd = [
        require_tool("ffmpeg"), "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-an", "-sn", "-dn",
        "-vf", f"select='gt(scene,{threshold})',showinfo", "-f", "null", "-",
    ]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    times = [float(m.group(1)) for line in res.stderr.splitlines() if "Parsed_showinfo" in line for m in [_PTS_TIME.search(line)] if m]
    if res.returncode != 0 and not times:
        raise InputError(f"{path}: ffmpeg scene detection failed ({res.stderr.strip().splitlines()[-1] if res.stderr.strip() else 'no output'})")
    start = _start_time(path)
    return [round(t - start, 6) for t in times if t - start > 0 and t - start < info.duration + 1.0]


def _start_time(path) -> float:
    cmd = [require_tool("ffprobe"), "-v", "error", "-select_streams", "v:0", "-show_entries", "stream=start_time", "-of", "csv=p=0", str(path)]
    out = subprocess.run(cmd, capture_output=True, text=True).stdout.strip().splitlines()
    try:
        return float(out[0]) if out and out[0] not in ("", "N/A") else 0.0
    except ValueError:
        return 0.0


_LUMA = np.array([[24.966, 128.553, 65.481, 16.0 * 255.0]], np.float32) / 255.0  # B, G, R, offset


def luma_limited(bgr: np.ndarray) -> np.ndarray:
    """BGR uint8 (H, W, 3) -> BT.601 limited-range luma Y (H, W) uint8: the plane an H.264 decoder
    hands FFmpeg's select filter (for YUV input it scores the luma plane only)."""
    import cv2

    return cv2.transform(bgr, _LUMA)  # (H, W) uint8, rounded and saturated


def _build_detector_class():
    from scenedetect import SceneDetector

    class FfmpegSceneDetector(SceneDetector):
        """PySceneDetect detector with FFmpeg's scene score (see module docstring)."""

        METRIC = "ffmpeg_scene_score"

        def __init__(self, threshold: float = 0.27):
            super().__init__()
            self.threshold = threshold
            self._prev = None  # previous frame's luma plane
            self._prev_mafd = 0.0
            self.scores: list[tuple[float, float]] = []  # (seconds, score)

        def get_metrics(self):
            return [self.METRIC]

        def process_frame(self, timecode, frame_img):
            import cv2

            y = luma_limited(frame_img)  # (H, W)
            score = 0.0
            if self._prev is not None and self._prev.shape == y.shape:
                mafd = cv2.norm(y, self._prev, cv2.NORM_L1) / y.size  # mean absolute frame difference
                score = min(max(min(mafd, abs(mafd - self._prev_mafd)) / 100.0, 0.0), 1.0)
                self._prev_mafd = mafd
            self._prev = y
            self.scores.append((float(timecode.seconds), score))
            return [timecode] if score > self.threshold else []

    return FfmpegSceneDetector


def scenedetect_cuts(path, threshold: float = 0.27, info=None) -> list[float]:
    """Cut times (s) from PySceneDetect (PyAV backend: frame times are the stream's pts)."""
    import logging

    from scenedetect import SceneManager, open_video

    logging.getLogger("pyscenedetect").setLevel(logging.WARNING)  # no per-video "Detecting scenes..."
    info or probe(path)  # one clear error for unreadable input
    try:
        video = open_video(str(path), backend="pyav")
    except Exception as e:  # scenedetect wraps PyAV's errors in its own types
        raise InputError(f"{path}: cannot open video for scene detection ({e})") from e
    detector = _build_detector_class()(threshold)
    manager = SceneManager()
    manager.auto_downscale = False  # the score is defined on full-resolution frames
    manager.downscale = 1
    manager.add_detector(detector)
    try:
        manager.detect_scenes(video=video)
    except Exception as e:
        if not detector.scores:
            raise InputError(f"{path}: scene detection failed ({e})") from e
    return [round(t, 6) for t, score in detector.scores if score > threshold]


def detect_cuts(path, threshold: float = 0.27, method: str = "scenedetect", info=None) -> list[float]:
    """Raw scene-cut times in seconds (§5.1), by `method` ("scenedetect" or the "ffmpeg" reference);
    `info` is the video's probe when the caller already has it."""
    if method == "ffmpeg":
        return ffmpeg_cuts(path, threshold, info)
    if method == "scenedetect":
        return scenedetect_cuts(path, threshold, info)
    raise InputError(f"unknown scene-cut method {method!r} (choose from {', '.join(METHODS)})")


def video_cuts(path, threshold: float = 0.27, min_gap_s: float = 4.0, method: str = "scenedetect", info=None) -> dict:
    """{"duration", "fps", "cuts", "boundaries"}: what `emsync cuts` prints and cuts.parquet stores."""
    info = info or probe(path)
    cuts = detect_cuts(path, threshold, method, info)
    return {"duration": info.duration, "fps": info.fps, "cuts": cuts, "boundaries": filter_boundaries(cuts, min_gap_s)}
