"""Small test videos made with ffmpeg's lavfi sources (a few hundred KB, seconds to build)."""

import subprocess
from pathlib import Path

import pytest


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def scenes(out, segments, size="320x240", fps=25, audio="sine", extra=()):
    """Concatenate lavfi segments [(source, seconds), ...]; the cut times are their cumulative
    starts. audio: "sine" | "silence" | None (no audio stream)."""
    out = Path(out)
    inputs, labels = [], []
    for i, (src, dur) in enumerate(segments):
        inputs += ["-f", "lavfi", "-i", f"{src}{':' if '=' in src else '='}s={size}:r={fps}"]
        labels.append(f"[{i}:v]trim=duration={dur},setpts=PTS-STARTPTS,format=yuv420p[v{i}]")
    total = sum(d for _, d in segments)
    graph = ";".join(labels) + ";" + "".join(f"[v{i}]" for i in range(len(segments))) + f"concat=n={len(segments)}:v=1:a=0[v]"
    a = []
    if audio == "sine":
        a = ["-f", "lavfi", "-i", f"sine=f=440:sample_rate=44100:d={total}"]
    elif audio == "silence":
        a = ["-f", "lavfi", "-i", f"anullsrc=r=44100:cl=stereo:d={total}"]
    maps = ["-map", "[v]"] + (["-map", f"{len(segments)}:a", "-c:a", "aac", "-shortest"] if a else [])
    ffmpeg(
        *inputs,
        *a,
        "-filter_complex",
        graph,
        *maps,
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-g",
        str(fps),
        "-pix_fmt",
        "yuv420p",
        *extra,
        out,
    )
    return out


SCENE_SOURCES = ["testsrc2", "mandelbrot", "color=c=red", "smptebars", "rgbtestsrc", "color=c=navy"]


def cut_video(out, durations, **kw):
    """Scenes of the given durations from visibly different sources; returns (path, cut times)."""
    segs = [(SCENE_SOURCES[i % len(SCENE_SOURCES)], d) for i, d in enumerate(durations)]
    cuts, t = [], 0.0
    for d in durations[:-1]:
        t += d
        cuts.append(round(t, 6))
    return scenes(out, segs, **kw), cuts


@pytest.fixture(scope="module")
def demo_set(demo_videos):
    """(videos_dir, ground truth {video_id: {"fps", "cuts", "audio", ...}}) of the demo videos."""
    return Path(demo_videos.videos_dir), demo_videos.ground_truth


def raw_clip(out, frames, fps="25", pix_fmt="yuv420p"):
    """Encode (H, W) uint8 luma frames with libx264 (lossy, as real footage is) at `fps` (e.g.
    "30000/1001") in `pix_fmt` (yuv420p | yuv444p); returns the path."""
    import numpy as np

    frames = [np.ascontiguousarray(f, dtype=np.uint8) for f in frames]
    h, w = frames[0].shape
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "gray", "-s", f"{w}x{h}", "-r", fps,
           "-i", "-", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", pix_fmt, str(out)]  # fmt: skip
    subprocess.run(cmd, input=b"".join(f.tobytes() for f in frames), check=True)
    return Path(out)


def texture(seed, h=120, w=160, blur=3):
    """A smooth random texture (survives compression), mean ~128."""
    import numpy as np

    rng = np.random.default_rng(seed)
    small = rng.integers(0, 256, (h // blur + 1, w // blur + 1)).astype(np.float64)
    big = np.kron(small, np.ones((blur, blur)))[:h, :w]
    return big
