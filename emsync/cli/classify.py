"""`emsync emotion VIDEO` and `emsync genre VIDEO`: run the trained video classifiers (thesis §5.2.2,
§5.2.3) on one video: its pretrained features are extracted on the fly (params features.models).

    emsync emotion clip.mp4                 # six Ekman probabilities and the top label
    emsync emotion clip.mp4 --json          # {"probs", "top", "masked", "seconds", "checkpoint", ...}
    emsync genre trailer.mp4 --json         # 21 genre probabilities (independent sigmoids)

Checkpoints default to classify.emotion_checkpoint / classify.genre_checkpoint (the train_emotion /
train_genre stages' outputs). Modalities the video lacks (audio stream, faces, speech, on-screen text)
are masked, and listed under "masked".
"""

import argparse
import json


def register(sub):
    for task, help_ in (
        ("emotion", "Ekman-6 emotion probabilities of a video (VEMOCLAP, §5.2.2)"),
        ("genre", "21 trailer genre probabilities of a video (§5.2.3)"),
    ):
        p = sub.add_parser(task, help=help_, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("video", help="input video")
        p.add_argument("--checkpoint", default=None, help=f"classifier checkpoint (default: params classify.{task}_checkpoint)")
        p.add_argument("--device", default="cpu", help="device for the feature extractors (cpu | cuda)")
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        p.add_argument("--no-audio-features", action="store_true", help="mask every auditory modality (§6.3.1 leakage control)")
        p.set_defaults(func=_run, task=task)


def _run(args):
    from emsync.classify.inference import classify_video
    from emsync.config import load_params

    out = classify_video(
        load_params(), args.video, args.task, checkpoint=args.checkpoint, device=args.device, exclude_audio=args.no_audio_features
    )
    if args.json:
        print(json.dumps(out))
        return 0
    width = max(len(k) for k in out["probs"])
    for label, p in sorted(out["probs"].items(), key=lambda kv: -kv[1]):
        print(f"{label:<{width}}  {p:.3f}")
    print(f"top: {out['top']}")
    if out["masked"]:
        print("masked: " + ", ".join(f"{m} ({why})" for m, why in out["masked"].items()))
    return 0
