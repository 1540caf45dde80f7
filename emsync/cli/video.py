"""`emsync cuts VIDEO`, `emsync probe VIDEO`, `emsync sample VIDEO`: the video stage on one file.

emsync cuts clip.mp4                       # {"duration": 14.0, "cuts": [...], "boundaries": [...]}
emsync cuts clip.mp4 --method pyav         # the same scores computed in-process (PyAV planes)
emsync probe clip.mp4                      # duration, fps, size, rotation, has_audio
emsync sample clip.mp4 -n 16 --mode random # sampled frame times, frame shape, audio length
"""

import dataclasses
import json


def _defaults():
    from emsync.core.config import load_params_or_defaults

    return load_params_or_defaults().video  # no params file: the defaults; a broken one fails


def _probe_within(video):
    """probe() + limits.max_video_duration_s (params, or its default outside a checkout)."""
    from emsync.core.config import LimitsParams, load_params
    from emsync.core.errors import ParamsError
    from emsync.video.probe import probe_within

    try:
        limit = load_params().limits.max_video_duration_s
    except ParamsError:
        limit = LimitsParams().max_video_duration_s
    return probe_within(video, limit)


def register(sub):
    from emsync.video.cuts import METHODS

    p = sub.add_parser("cuts", help="scene cuts + 4 s-filtered boundaries of a video, as JSON (§5.1)")
    p.add_argument("video")
    p.add_argument(
        "--threshold", type=float, default=None, help="FFmpeg scene score threshold (default: params video.scene_threshold, 0.27)"
    )
    p.add_argument("--min-gap", type=float, default=None, help="drop cuts closer than this to the previous kept one (default 4 s)")
    p.add_argument(
        "--method",
        choices=list(METHODS),
        default=None,
        help="ffmpeg (FFmpeg's select filter, the thesis's definition) | pyav (the same score in-process) | "
        "scenedetect-content/-adaptive (PySceneDetect's own detectors, own thresholds); default: params video.cut_method",
    )
    p.set_defaults(func=_cuts)

    p = sub.add_parser("probe", help="what a video file holds (ffprobe), as JSON")
    p.add_argument("video")
    p.set_defaults(func=_probe)

    p = sub.add_parser("sample", help="sample frames + 16 kHz audio of a video as the extractors see it; prints a JSON summary")
    p.add_argument("video")
    p.add_argument(
        "-n", "--n-frames", type=int, default=None, help="frames, or the cap in fps / mid_scene mode (default: params video.n_frames)"
    )
    p.add_argument("--mode", choices=["fps", "equidistant", "random", "mid_scene"], default=None, help="default: params video.frame_mode")
    p.add_argument("--seed", type=int, default=None)
    p.set_defaults(func=_sample)


def _cuts(args):
    from emsync.core.config import VideoParams, check_value
    from emsync.video.cuts import video_cuts

    d = _defaults()
    if args.threshold is not None:  # the flags take what their params take
        check_value(VideoParams, "scene_threshold", args.threshold, "--threshold")
    if args.min_gap is not None:
        check_value(VideoParams, "min_boundary_gap_s", args.min_gap, "--min-gap")
    info = _probe_within(args.video)
    out = video_cuts(
        args.video,
        info=info,
        threshold=d.scene_threshold if args.threshold is None else args.threshold,
        min_gap_s=d.min_boundary_gap_s if args.min_gap is None else args.min_gap,
        method=args.method or d.cut_method,
    )
    print(json.dumps({k: out[k] for k in ("duration", "cuts", "boundaries")}))


def _probe(args):
    from emsync.video.probe import probe

    print(json.dumps(dataclasses.asdict(probe(args.video))))


def _sample(args):
    import numpy as np

    from emsync.video.sampling import sample_video

    d = _defaults()
    info = _probe_within(args.video)
    s = sample_video(
        args.video, info=info, n_frames=args.n_frames or d.n_frames, mode=args.mode or d.frame_mode, fps=d.fps,
        seed=d.seed if args.seed is None else args.seed, audio_sr=d.audio_sr, max_side=d.max_side,
    )  # fmt: skip
    print(json.dumps({
        "video_id": s.video_id, "duration": s.duration, "fps": s.fps,
        "frame_times": np.round(s.frame_times, 4).tolist(), "frames_shape": list(s.frames.shape),
        "audio_samples": None if s.audio is None else int(len(s.audio)), "audio_sr": s.audio_sr,
    }))  # fmt: skip
