"""Per-extractor speed on real clips: seconds of compute per minute of video, next to the time
spent decoding + sampling the same videos (ratio measured in the same run).

    emsync bench extractors [--videos a.mp4 b.mp4] [--n-frames 16] [--models-dir data/demo_models]

Defaults: the real clips in ../shared/data/{video,ekman6} and the demo models (tiny random
networks, built into a temp folder when --models-dir is absent; pkg: models are the real shipped
weights: PP-OCRv4, Haar cascade, py3langid, SymSpell). Tiny random Whisper decodes greedily with
8 new tokens at most (its text is noise), so its timing is a lower bound on real ASR cost.
"""

import os
import time

from emsync.benchmarks import real_videos_and_models


def add_args(p):
    p.add_argument("--videos", nargs="*", help="video files (default: the shared real clips)")
    p.add_argument("--n-frames", type=int, default=16, help="frames per video (§5.2.2.1: 16)")
    p.add_argument("--models-dir", default=None, help="demo models folder (default: build tiny ones in a temp dir)")
    p.add_argument("--extractors", nargs="*", default=None, help="subset of extractors (default: all)")
    p.add_argument("--device", default="cpu")


def run(args) -> dict:
    with real_videos_and_models(args.videos, args.models_dir) as (videos, models_dir):
        return _run(args, videos, models_dir)


def _run(args, videos, models_dir) -> dict:
    import torch

    from emsync.video import extractors
    from emsync.video.sampling import sample_video

    refs = extractors.demo_models(models_dir)
    names = args.extractors or list(extractors.REGISTRY)
    names = [n for n in extractors.REGISTRY if n in set(names) | {d for n in names for d in extractors.get(n).DEPENDS}]

    load_s, extract_s, handles = {}, {n: 0.0 for n in names}, {}
    for n in names:
        t0 = time.perf_counter()
        handles[n] = extractors.get(n).load(refs[n], args.device)
        load_s[n] = time.perf_counter() - t0
    if "asr" in handles:
        handles["asr"].options.update(temperature=0.0, max_new_tokens=8, beam_size=1)

    decode_s, minutes = 0.0, 0.0
    for v in videos:
        t0 = time.perf_counter()
        sample = sample_video(v, args.n_frames)
        decode_s += time.perf_counter() - t0
        minutes += sample.duration / 60.0
        tables = {}
        for n in names:
            mod = extractors.get(n)
            t0 = time.perf_counter()
            tables[n] = mod.extract(handles[n], sample, {d: tables[d] for d in mod.DEPENDS})
            extract_s[n] += time.perf_counter() - t0
    per_min = decode_s / minutes
    return {
        "machine": {
            "cpus": len(os.sched_getaffinity(0)),
            "torch_threads": torch.get_num_threads(),
            "load_avg_1m": round(os.getloadavg()[0], 2),
            "device": args.device,
        },
        "videos": len(videos),
        "video_minutes": round(minutes, 3),
        "n_frames": args.n_frames,
        "decode_s_per_video_min": round(per_min, 3),
        "extractors": {
            n: {
                "load_s": round(load_s[n], 3),
                "s_per_video_min": round(extract_s[n] / minutes, 3),
                "x_decode": round(extract_s[n] / minutes / per_min, 2),
            }
            for n in names
        },
    }
