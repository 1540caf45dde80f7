"""Seconds per minute of video for each step of classifying a video on this machine: decoding +
sampling, every pretrained extractor, and the classifier itself (VEMOCLAP for emotion, the
multi-transformer for genre; thesis-width models with random weights: the compute does not depend
on the weights). The classifier's share of the whole is the ratio printed beside it.

    emsync bench classify [--videos a.mp4 ...] [--task emotion|genre] [--models-dir data/demo_models]

Defaults: the real clips in ../shared/data/{video,ekman6}; the demo extractor models (tiny random
networks built into a temp folder when --models-dir is absent), so the extractor figures are lower
bounds on the real models' cost.
"""

import time

from emsync.benchmarks import real_videos_and_models


def add_args(p):
    p.add_argument("--videos", nargs="*", help="video files (default: the shared real clips)")
    p.add_argument("--task", choices=["emotion", "genre"], default="emotion")
    p.add_argument("--models-dir", default=None, help="demo models folder (default: build tiny ones in a temp dir)")
    p.add_argument("--device", default="cpu")


def run(args) -> dict:
    from emsync.core import env

    env.apply_defaults()
    with real_videos_and_models(args.videos, args.models_dir) as (videos, models_dir):
        return _run(args, videos, models_dir)


def _run(args, videos, models_dir) -> dict:
    import dataclasses

    import torch

    from emsync.classify.features import SOURCES
    from emsync.classify.inference import classify_tables, extract_tables
    from emsync.core.config import Params
    from emsync.video import extractors
    from emsync.models.classifiers import build

    params = Params()
    params = dataclasses.replace(params, features=dataclasses.replace(params.features, models=extractors.demo_models(models_dir)))
    from emsync.classify.inference import EXTRACTORS

    t = time.perf_counter()
    handles = {n: extractors.get(n).load(extractors.model_ref(n, params.features.models), args.device) for n in EXTRACTORS[args.task]}
    load_s = time.perf_counter() - t
    totals: dict = {}
    minutes = 0.0
    model = None
    for v in videos:
        tables, has_audio, seconds = extract_tables(params, v, args.task, args.device, handles=handles)
        if model is None:  # thesis widths where the demo extractors allow (d 512 / native widths)
            dims = {}
            for m, (table, source) in SOURCES[args.task].items():
                df = tables[table] if source is None else tables[table][tables[table]["source"] == source]
                if len(df):
                    dims[m] = len(df["embedding"].iloc[0])
            if args.task == "emotion":
                dims.setdefault("faces", 768)  # no face found in these clips: the ViT width
            kind = "vemoclap" if args.task == "emotion" else "multi_transformer"
            cfg = {"dims": dims} if kind == "vemoclap" else {"dims": dims, "n_heads": 4 if min(dims.values()) % 8 else 8}
            model = build(kind, cfg).eval()
        t = time.perf_counter()
        with torch.no_grad():
            classify_tables(model, tables, v.stem, args.task, has_audio)
        seconds["classifier"] = time.perf_counter() - t
        from emsync.video.probe import probe

        minutes += probe(v).duration / 60.0
        for k, s in seconds.items():
            totals[k] = totals.get(k, 0.0) + s
    per_min = {k: round(s / minutes, 4) for k, s in totals.items()}
    features = sum(s for k, s in per_min.items() if k != "classifier")
    return {
        "task": args.task,
        "videos": len(videos),
        "video_minutes": round(minutes, 3),
        "threads": torch.get_num_threads(),
        "model_load_s": round(load_s, 3),
        "seconds_per_video_minute": per_min,
        "features_s_per_minute": round(features, 4),
        "classifier_s_per_minute": per_min["classifier"],
        "classifier_share_of_total": round(per_min["classifier"] / (features + per_min["classifier"]), 5),
        "classifier_parameters": sum(p.numel() for p in model.parameters()),
    }
