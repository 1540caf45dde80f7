"""ffprobe wrapper: what a video file holds, or one clear error saying why it cannot be read.

python -c "from emsync.video.probe import probe; print(probe('clip.mp4'))"
"""

import json
import os
import shutil
import subprocess
import threading
from collections import OrderedDict
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from emsync.core.errors import InputError


@dataclass(frozen=True)
class VideoInfo:
    path: str
    duration: float  # seconds (container duration, else the video stream's)
    fps: float  # average frame rate (frames / second)
    width: int  # display size, after rotation
    height: int
    rotation: int  # degrees of the display matrix, normalised to 0/90/180/270
    has_audio: bool
    audio_sr: int | None  # the audio stream's own sample rate
    n_frames: int | None  # from the container header where it says so
    codec: str
    variable_fps: bool  # r_frame_rate (max) differs from avg_frame_rate
    time_base: str = ""  # the video stream's time base ("1/12800"): frame times in seconds = pts * time_base
    rotation_tag_only: bool = False  # rotation from a `rotate` tag, no display matrix: decoders do not apply it


def require_tool(name: str) -> str:
    exe = shutil.which(name)
    if exe is None:
        raise InputError(f"`{name}` not found on PATH; install ffmpeg (apt-get install ffmpeg)")
    return exe


def _rate(s) -> float:
    try:
        r = Fraction(str(s))
    except (ValueError, ZeroDivisionError):
        return 0.0
    return float(r) if r > 0 else 0.0


def _rotation(stream: dict) -> tuple[int, bool]:
    """(degrees 0/90/180/270, whether only a tag says so). Phones write a display matrix; older
    muxers and Matroska files carry a `rotate` / `ROTATE` tag, which FFmpeg's decoders ignore. A
    tag R means what FFmpeg's own `-metadata:s:v rotate=R` writes: a display matrix of R degrees."""
    for sd in stream.get("side_data_list") or []:
        if "rotation" in sd:
            return _quarter(sd["rotation"]), False
    tags = {str(k).lower(): v for k, v in (stream.get("tags") or {}).items()}
    if "rotate" in tags:
        rot = _quarter(tags["rotate"])
        return rot, rot != 0
    return 0, False


def _quarter(value) -> int:
    try:
        deg = float(value)
    except (TypeError, ValueError):
        return 0
    return int(round(deg / 90)) * 90 % 360 if deg == deg and abs(deg) < 1e6 else 0


# what this process has probed: (device, inode, size, mtime, ctime) -> VideoInfo. One video is
# probed by the cut pass, the frame sampler and each classifier task's sampling; the file's stat
# says whether it is still the same file (any rewrite changes ctime).
_PROBED: OrderedDict = OrderedDict()
_PROBED_MAX = 1024
_PROBED_LOCK = threading.Lock()


def probe(path) -> VideoInfo:
    """Probe `path` with ffprobe (once per unchanged file in this process). Raises InputError if it
    is missing, unreadable, has no video stream, or has zero length."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a folder, FIFO or device (/dev/zero): never opened
        raise InputError(f"{path}: not a regular file")
    if not path.is_file():
        raise InputError(f"{path}: video file not found")
    st = path.stat()
    if st.st_size == 0:
        raise InputError(f"{path}: empty file (0 bytes)")
    key = (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns)
    with _PROBED_LOCK:
        known = _PROBED.get(key)
        if known is not None:
            _PROBED.move_to_end(key)
    if known is not None:
        return known if known.path == str(path) else replace(known, path=str(path))
    info = _ffprobe(path)
    with _PROBED_LOCK:
        _PROBED[key] = info
        while len(_PROBED) > _PROBED_MAX:
            _PROBED.popitem(last=False)
    return info


def _ffprobe(path: Path) -> VideoInfo:
    cmd = [require_tool("ffprobe"), "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)]
    res = subprocess.run(cmd, capture_output=True, text=True)
    if res.returncode != 0:
        msg = (res.stderr.strip().splitlines() or ["unknown ffprobe error"])[-1].replace(f"{path}: ", "")
        raise InputError(f"{path}: not a readable video ({msg})")
    meta = json.loads(res.stdout or "{}")
    streams = meta.get("streams", [])
    video = [s for s in streams if s.get("codec_type") == "video" and not (s.get("disposition") or {}).get("attached_pic")]
    if not video:
        raise InputError(f"{path}: no video stream")
    v = video[0]
    audio = [s for s in streams if s.get("codec_type") == "audio"]
    fmt = meta.get("format", {})
    duration = float(fmt.get("duration") or v.get("duration") or 0.0)
    avg = _rate(v.get("avg_frame_rate"))
    real = _rate(v.get("r_frame_rate"))
    fps = avg or real
    rotation, tag_only = _rotation(v)
    w, h = int(v.get("width") or 0), int(v.get("height") or 0)
    if rotation in (90, 270):
        w, h = h, w
    if w <= 0 or h <= 0:
        raise InputError(f"{path}: video stream has no frame size")
    if duration <= 0 or fps <= 0:
        raise InputError(f"{path}: zero-length video (duration {duration:g} s, {fps:g} fps)")
    n = v.get("nb_frames")
    return VideoInfo(
        path=str(path),
        duration=duration,
        fps=fps,
        width=w,
        height=h,
        rotation=rotation,
        has_audio=bool(audio),
        audio_sr=int(audio[0].get("sample_rate") or 0) or None if audio else None,
        n_frames=int(n) if n and str(n).isdigit() else None,
        codec=str(v.get("codec_name", "")),
        variable_fps=bool(avg and real and abs(avg - real) > 1e-3 * real),
        time_base=str(v.get("time_base") or ""),
        rotation_tag_only=tag_only,
    )


def probe_within(path, max_duration_s: float) -> VideoInfo:
    """probe() plus the limits.max_video_duration_s check, before any decoding work."""
    from emsync.core.limits import check_limit

    info = probe(path)
    check_limit(f"{path}: video duration", info.duration, max_duration_s, "limits.max_video_duration_s")
    return info


def probe_all(paths, workers: int | None = None) -> list:
    """`probe(p)` of each path, in order, a few ffprobe processes at a time (each is ~50 ms of
    process start, most of a demo features stage's probing): a VideoInfo, or the InputError that
    names the file and why it cannot be read."""
    from concurrent.futures import ThreadPoolExecutor

    paths = list(paths)

    def one(p):
        try:
            return probe(p)
        except InputError as e:
            return e

    if len(paths) < 2:
        return [one(p) for p in paths]
    with ThreadPoolExecutor(max_workers=workers or min(8, 2 * (os.cpu_count() or 1), len(paths))) as pool:
        return list(pool.map(one, paths))
