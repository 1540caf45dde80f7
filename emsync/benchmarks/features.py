"""Feature-stage speed and memory: decode frames/s, scene-cut speed (PySceneDetect vs the
FFmpeg reference, same video), seconds per minute of video per extractor, and the peak memory of
sampling a 1-hour video (target <= 2 GiB for decoding + sampling).

    emsync bench features                                  # generated clip, demo models, 1-hour memory run
    emsync bench features --extractors clip,audio --models-dir data/demo_models --hour-minutes 60
    emsync bench features --device cuda                    # extractors on a GPU where there is one

Every figure is measured in this run on this machine; the JSON says which machine (CPU count,
load average, GPU name) produced it.
"""

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

_HOUR_PROBE = """
import json, resource, sys, time
from emsync.video.sampling import sample_video
t = time.perf_counter()
s = sample_video(sys.argv[1], int(sys.argv[2]), mode=sys.argv[3], boundaries=json.loads(sys.argv[4]) or None)
el = time.perf_counter() - t
hwm = [l for l in open("/proc/self/status") if l.startswith("VmHWM")][0].split()[1]  # this process image's peak (kB)
print(json.dumps({"seconds": el, "frames": int(len(s.frames)), "audio_samples": 0 if s.audio is None else int(len(s.audio)),
                  "peak_rss_mib": int(hwm) / 1024,
                  "ffmpeg_child_peak_rss_mib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024}))
"""


def add_args(p):
    p.add_argument(
        "--video",
        default=None,
        help="clip to time the extractors/cuts on (default: a generated 60 s 640x360 clip with cuts, speech-band audio)",
    )
    p.add_argument("--extractors", default="clip,audio,music,faces,asr,ocr", help="comma-separated registry names ('' to skip)")
    p.add_argument("--models-dir", default=None, help="demo model folder (default: build tiny demo models into a temp dir)")
    p.add_argument("--device", default="cpu")
    p.add_argument("--hour-minutes", type=float, default=60.0, help="length of the generated long video for the memory run (0 to skip)")
    p.add_argument("--hour-frames", type=int, default=256, help="frames sampled from the long video (mid-scene style: many)")
    p.add_argument("--workdir", default=None, help="keep generated files here (default: a temp dir)")


def _ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def _clip(path: Path, seconds=60, size="640x360", fps=25):
    """A clip with a hard cut every 5 s (alternating lavfi sources) and a tone + noise track."""
    srcs = ["testsrc2", "mandelbrot", "smptebars", "rgbtestsrc"]
    n = int(seconds // 5)
    args, labels = [], []
    for i in range(n):
        args += ["-f", "lavfi", "-i", f"{srcs[i % len(srcs)]}=s={size}:r={fps}"]
        labels.append(f"[{i}:v]trim=duration=5,setpts=PTS-STARTPTS,format=yuv420p[v{i}]")
    args += ["-f", "lavfi", "-i", f"sine=f=330:d={seconds}", "-f", "lavfi", "-i", f"anoisesrc=a=0.05:d={seconds}"]
    graph = ";".join(labels) + ";" + "".join(f"[v{i}]" for i in range(n)) + f"concat=n={n}:v=1:a=0[v];[{n}:a][{n + 1}:a]amix=inputs=2[a]"
    _ffmpeg(*args, "-filter_complex", graph, "-map", "[v]", "-map", "[a]", "-c:v", "libx264", "-preset", "veryfast", "-c:a", "aac", path)
    return path


def _long(path: Path, minutes: float):
    """A small-resolution long video (256x144, 10 fps, a cut every 10 s) with a 44.1 kHz audio track."""
    secs = int(minutes * 60)
    _ffmpeg("-f", "lavfi", "-i", f"testsrc2=s=256x144:r=10:d={secs}", "-f", "lavfi", "-i", f"sine=f=440:sample_rate=44100:d={secs}",
            "-vf", "hue=h=t*36", "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-c:a", "aac", "-b:a", "32k", path)  # fmt: skip
    return path


def _decode_fps(path: Path) -> dict:
    """Full decode through a rawvideo pipe (frames/s) and PyAV's decode loop, no conversion."""
    import av

    t = time.perf_counter()
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        s.thread_type = "AUTO"
        n = sum(1 for _ in c.decode(s))
    pyav = n / (time.perf_counter() - t)
    t = time.perf_counter()
    p = subprocess.Popen(["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), "-an", "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
                         stdout=subprocess.PIPE)  # fmt: skip
    nbytes = 0
    while block := p.stdout.read(1 << 22):  # streamed and dropped: the pipe's rate, not a 1 GB buffer
        nbytes += len(block)
    p.wait()
    cli = n / (time.perf_counter() - t)
    return {"frames": n, "pyav_decode_fps": round(pyav, 1), "ffmpeg_rgb_pipe_fps": round(cli, 1), "rgb_mib": round(nbytes / 2**20)}


def run(args) -> dict:
    from emsync.video.cuts import ffmpeg_cuts, pyav_cuts
    from emsync.video.probe import probe
    from emsync.video.sampling import sample_video

    tmp = Path(args.workdir or tempfile.mkdtemp(prefix="emsync-bench-features-"))
    tmp.mkdir(parents=True, exist_ok=True)
    out = {"machine": _machine(args.device)}

    video = Path(args.video) if args.video else _clip(tmp / "clip60.mp4")
    info = probe(video)
    minutes = info.duration / 60
    out["clip"] = {"path": str(video), "duration_s": info.duration, "size": f"{info.width}x{info.height}", "fps": info.fps}
    out["decode"] = _decode_fps(video)

    t = time.perf_counter()
    ref = ffmpeg_cuts(video)
    t_ff = time.perf_counter() - t
    t = time.perf_counter()
    ours = pyav_cuts(video)
    t_sd = time.perf_counter() - t
    out["cuts"] = {
        "n_ffmpeg": len(ref), "n_pyav": len(ours), "identical": ref == ours,
        "ffmpeg_s_per_video_min": round(t_ff / minutes, 2), "pyav_s_per_video_min": round(t_sd / minutes, 2),
        "pyav_over_ffmpeg": round(t_sd / t_ff, 2),
    }  # fmt: skip

    t = time.perf_counter()
    sample = sample_video(video, 16)
    out["sampling_16_frames_s_per_video_min"] = round((time.perf_counter() - t) / minutes, 3)

    names = [n for n in args.extractors.split(",") if n]
    if names:
        out["extractors"] = _extractors(names, sample, minutes, args, tmp)

    if args.hour_minutes > 0:
        long = _long(tmp / "long.mp4", args.hour_minutes)
        linfo = probe(long)
        cuts = list(np.arange(10.0, linfo.duration, 10.0))  # the generated cut grid (no detection pass here)
        res = {}
        for mode, n, b in (("equidistant", 16, []), ("mid_scene", args.hour_frames, cuts)):
            r = subprocess.run([sys.executable, "-c", _HOUR_PROBE, str(long), str(n), mode, json.dumps(b)],
                               capture_output=True, text=True, check=True)  # fmt: skip
            res[f"{mode}_{n}"] = {
                k: round(v, 2) if isinstance(v, float) else v for k, v in json.loads(r.stdout.strip().splitlines()[-1]).items()
            }
        out["one_hour"] = {
            "video": f"{linfo.width}x{linfo.height} {linfo.fps:g} fps, {linfo.duration / 60:.1f} min, audio {linfo.audio_sr} Hz",
            "audio_16k_float32_mib": round(linfo.duration * 16000 * 4 / 2**20, 1),
            **res,
            "target_peak_rss_mib": 2048,
            "within_target": all(v["peak_rss_mib"] + v["ffmpeg_child_peak_rss_mib"] <= 2048 for v in res.values()),
        }
    return out


def _extractors(names, sample, minutes, args, tmp) -> dict:
    from emsync.video import extractors

    models = _demo_refs(args.models_dir, tmp)
    res = {}
    for name in names:
        try:
            mod = extractors.get(name)
            if getattr(mod, "DEPENDS", ()):
                res[name] = {"skipped": "reads other extractors' tables (text only); not timed on video"}
                continue
            t = time.perf_counter()
            handle = mod.load(models.get(name, mod.DEFAULT_MODEL), args.device)
            load_s = time.perf_counter() - t
            mod.extract(handle, sample)  # warm-up (lazy init, first-call kernels)
            t = time.perf_counter()
            df = mod.extract(handle, sample)
            el = time.perf_counter() - t
            res[name] = {"s_per_video_min": round(el / minutes, 3), "seconds": round(el, 3), "rows": len(df), "load_s": round(load_s, 2),
                         "model": str(models.get(name, mod.DEFAULT_MODEL))}  # fmt: skip
        except Exception as e:  # one extractor's missing model does not hide the others' numbers
            res[name] = {"error": f"{type(e).__name__}: {e}"}
    return res


def _demo_refs(models_dir, tmp) -> dict:
    from emsync.video.extractors import demo_models

    if models_dir is None:
        from emsync.video.tiny_models import build_all

        models_dir = tmp / "demo_models"
        if not models_dir.exists():
            build_all(models_dir)
    return demo_models(str(models_dir))


def _machine(device) -> dict:
    m = {"cpus": os.cpu_count(), "affinity": len(os.sched_getaffinity(0)), "loadavg_1m": round(os.getloadavg()[0], 2), "device": device}
    try:
        import torch

        m["torch_threads"] = torch.get_num_threads()
        if device.startswith("cuda") and torch.cuda.is_available():
            m["gpu"] = torch.cuda.get_device_name(0)
    except Exception:
        pass
    m["self_peak_rss_mib"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    return m
