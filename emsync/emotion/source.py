"""Where `emsync emotion` and `emsync soundtrack` get a video's emotion: the best real source at hand.

1. a VEMOCLAP checkpoint given by path (`--checkpoint` / `--emotion-checkpoint`): that one, whatever
   its weights; demo or random weights are said on every output ("demo weights");
2. else `classify.emotion_checkpoint` when it holds a VEMOCLAP trained on real data (its weights
   record says `real`, e.g. the thesis set's Ekman-6 run) and every extractor it reads has real
   weights (§5.2.2);
3. else the estimator from packaged pretrained parts (emsync/emotion/estimate.py).

A VEMOCLAP trained on the demo videos is therefore never used on a user's video unless asked for
by path. Every result names its source, why it was chosen, and the weights behind it
(emsync/core/provenance.py), with a warning when any is not real.

    out = video_emotion(params, "clip.mp4")      # {"source", "probs", "top", "confidence", "valence", "arousal", "weights", ...}
"""

from dataclasses import dataclass, field
from pathlib import Path

from emsync.core import provenance as P

VEMOCLAP, ESTIMATOR = "vemoclap", "estimator"


@dataclass
class Source:
    """The chosen emotion source, its weights and why it was chosen."""

    name: str  # VEMOCLAP | ESTIMATOR
    reason: str
    checkpoint: Path | None = None
    weights: list = field(default_factory=list)  # provenance.Weights (VEMOCLAP: classifier + extractors)


def vemoclap_weights(params, path, extra: dict, inputs) -> list:
    """The weights behind a VEMOCLAP answer: the classifier's and each extractor's it reads."""
    from emsync.classify.inference import extractors_for
    from emsync.core.config import project_root
    from emsync.video import extractors

    out = [P.from_extra(extra, "emotion classifier (VEMOCLAP)", path)]
    root = project_root(required=False)
    for name in extractors_for("emotion", inputs):
        out.append(P.of_model_ref(extractors.model_ref(name, params.features.models), f"{name} features", root))
    return out


def _vemoclap(params, path: Path) -> Source:
    from emsync.classify.inference import load_classifier

    model, ckpt = load_classifier(path)
    return Source(VEMOCLAP, "", path, vemoclap_weights(params, path, ckpt.get("extra") or {}, list(model.cfg.dims)))


def choose(params, checkpoint=None) -> Source:
    """The emotion source for a user's video (see the module docstring)."""
    if checkpoint:
        src = _vemoclap(params, Path(checkpoint))
        src.reason = "VEMOCLAP checkpoint given by path" + ("" if all(w.real for w in src.weights) else " (its weights are not all real)")
        return src
    path = params.path(params.classify.emotion_checkpoint)
    if not path.exists():
        return Source(ESTIMATOR, f"no VEMOCLAP checkpoint at {params.classify.emotion_checkpoint}")
    try:
        src = _vemoclap(params, path)
    except Exception as e:  # an unreadable default checkpoint must not stop the estimate
        return Source(ESTIMATOR, f"{params.classify.emotion_checkpoint} cannot be read ({str(e)[:120]})")
    bad = [w for w in src.weights if not w.real]
    if not bad:
        src.reason = f"VEMOCLAP trained on real data ({src.weights[0].trained_on}) at {params.classify.emotion_checkpoint}"
        return src
    what = "; ".join(f"{w.role}: {w.kind}" for w in bad)
    return Source(
        ESTIMATOR,
        f"the VEMOCLAP at {params.classify.emotion_checkpoint} is not real ({what}), so it is not used on your video "
        f"(pass --checkpoint {params.classify.emotion_checkpoint} to run it anyway)",
    )


def video_emotion(params, video, checkpoint=None, device: str = "cpu", info=None, estimator=None, exclude_audio: bool = False) -> dict:
    """The emotion of `video` from the chosen source, with its provenance (one dict for both sources).
    `exclude_audio`: a VEMOCLAP's auditory modalities are masked (§6.3.1; the estimator hears nothing)."""
    src = choose(params, checkpoint)
    if src.name == VEMOCLAP:
        out = _run_vemoclap(params, video, src, device, info, exclude_audio)
    else:
        out = _run_estimator(params, video, src, info, estimator)
    return {"video": str(video), "source": src.name, "source_reason": src.reason, **out, **P.record(src.weights)}


def _run_vemoclap(params, video, src: Source, device, info, exclude_audio: bool = False) -> dict:
    from emsync.classify.inference import classify_video
    from emsync.emotion import mapping as em

    out = classify_video(params, video, "emotion", checkpoint=src.checkpoint, device=device, info=info, exclude_audio=exclude_audio)
    v, a = em.mixture_mean(out["probs"], params.emotion.max_abs_mean)
    return {
        "probs": out["probs"],
        "top": out["top"],
        "confidence": round(max(out["probs"].values()), 3),  # the classifier's top probability
        "valence": round(v, 6),
        "arousal": round(a, 6),
        "masked": out["masked"],
        "excluded": out.get("excluded", []),
        "checkpoint": out["checkpoint"],
        "method": "VEMOCLAP (§5.2.2) on the pretrained features of the extractors it was trained on",
        "seconds": out["seconds"],
    }


def _run_estimator(params, video, src: Source, info, estimator) -> dict:
    from emsync.emotion.estimate import estimate, load_estimator

    est = estimator or load_estimator(params)
    src.weights = list(est.weights)
    out = estimate(est, params, video, info=info)
    out["seconds"] = {**est.seconds, **out["seconds"]}
    return {**out, "checkpoint": None}


def text_lines(out: dict) -> list:
    """The human-readable answer of `emsync emotion`."""
    width = max(len(k) for k in out["probs"])
    lines = [f"source      {out['source']}: {out['method']}", f"why         {out['source_reason']}"]
    lines += [f"{label:<{width}}  {p:.3f}" for label, p in sorted(out["probs"].items(), key=lambda kv: -kv[1])]
    lines.append(f"top: {out['top']} (confidence {out['confidence']:.2f})")
    lines.append(f"valence {out['valence']:+.3f}, arousal {out['arousal']:+.3f} (§6.1 mixture mean)")
    if out.get("masked"):
        lines.append("masked: " + ", ".join(f"{m} ({why})" for m, why in out["masked"].items()))
    lines += [f"sees:       {s}" for s in out.get("sees", [])]
    if out.get("cannot_see"):
        lines.append("cannot see: " + "; ".join(out["cannot_see"]))
    return lines + P.text_lines([P.Weights(**w) for w in out["weights"]])


def scene_emotions(params, video, segments, checkpoint=None, info=None, exclude_audio: bool = False) -> tuple:
    """(source name, weights, curve) for every (start, end) segment of `video` (emotion per scene):
    VEMOCLAP classifies each segment cut out as a video of its own; the estimator reads the
    segment's own frames. Curve rows: {start, end, valence, arousal, top, probs, confidence, seconds,
    masked or sees}."""
    from emsync.emotion import mapping as em

    src = choose(params, checkpoint)
    if src.name == VEMOCLAP:
        from emsync.classify.inference import classify_segments

        curve = []
        for r in classify_segments(params, video, "emotion", segments, checkpoint=src.checkpoint, exclude_audio=exclude_audio):
            v, a = em.mixture_mean(r["probs"], params.emotion.max_abs_mean)
            curve.append({"start": r["start"], "end": r["end"], "valence": round(v, 6), "arousal": round(a, 6), "top": r["top"],
                          "probs": r["probs"], "confidence": round(max(r["probs"].values()), 3), "masked": r["masked"], "seconds": r["seconds"]})  # fmt: skip
        return src, curve
    from emsync.emotion.estimate import estimate, load_estimator
    from emsync.video.probe import probe

    est, info = load_estimator(params), info or probe(video)
    src.weights = list(est.weights)
    curve = []
    for start, end in segments:
        r = estimate(est, params, video, info=info, start=start, end=end)
        keep = ("valence", "arousal", "top", "probs", "confidence", "sees")
        curve.append(
            {"start": round(float(start), 3), "end": round(float(end), 3), **{k: r[k] for k in keep}, "seconds": r["seconds"]["total"]}
        )
    return src, curve
