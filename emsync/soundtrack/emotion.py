"""Choose the emotion the music is conditioned on (§6.1): one replaceable step of `emsync soundtrack`.

`choose_emotion(params, req, video, steps) -> EmotionChoice` is the whole contract: it reads the
request and the analysed video and returns the condition with where it came from (the flags,
Ekman probabilities, the video's emotion from the best real source on the whole video or per scene
(emsync/emotion/source.py: a VEMOCLAP trained on real data or given by --emotion-checkpoint, else
the packaged-model estimator), or the neutral default with the reason). A new emotion source replaces this function or adds a branch to it;
the other steps read only the EmotionChoice.
"""

from dataclasses import dataclass, field

from emsync.core.errors import InputError
from emsync.soundtrack.steps import Steps


@dataclass(frozen=True)
class EmotionChoice:
    """The emotion condition and where it came from (§6.1)."""

    valence: float
    arousal: float
    source: str  # "flags" | "emotion_probs" | "classifier" | "estimator" | "classifier_per_scene" | "estimator_per_scene" | "default"
    probs: dict = field(default_factory=dict)  # normalised weights (emotion_probs), or what the source said
    classifier: dict | None = None  # what the emotion source said, its weights (or why it did not run); None when not asked
    curve: list | None = None  # emotion per scene: [{start, end, valence, arousal, top, probs, masked, seconds}]

    @property
    def curve_condition(self) -> tuple:
        """The curve as the generator takes it: ((start_s, valence, arousal), ...), () for none."""
        return tuple((c["start"], c["valence"], c["arousal"]) for c in self.curve) if self.curve else ()


def pick_emotion(valence=None, arousal=None, emotion_probs=None, max_abs_mean: float = 0.8, source: str = "emotion_probs") -> EmotionChoice:
    """Flags (missing ones default to 0, the neutral centre) or the §6.1 mixture mean of `emotion_probs`
    (`source` says where the probabilities came from)."""
    from emsync.emotion import mapping as em

    if emotion_probs:
        if valence is not None or arousal is not None:
            raise InputError("give either --valence/--arousal or --emotion-probs, not both")
        w = em.weights(emotion_probs)
        v, a = em.mixture_mean(emotion_probs, max_abs_mean)
        return EmotionChoice(round(v, 6), round(a, 6), source, {e: round(float(x), 6) for e, x in zip(em.EMOTIONS, w)})
    v = em.check_condition("valence", 0.0 if valence is None else float(valence))
    a = em.check_condition("arousal", 0.0 if arousal is None else float(arousal))
    return EmotionChoice(v, a, "flags")


def choose_emotion(params, req, video, steps: Steps | None = None) -> EmotionChoice:
    """The condition for `req` on the analysed `video`: per scene, from the flags, or from the
    video's emotion when no emotion flag was given (timed as the `emotion` step)."""
    steps = steps or Steps()
    no_audio, ckpt = req.exclude_audio_features, req.emotion_checkpoint
    if req.emotion_per_scene:
        return scene_emotions(params, req.video, steps, [0.0, *video.boundaries, video.duration], exclude_audio=no_audio, checkpoint=ckpt)
    if not req.emotion_flags:
        return classifier_emotion(params, req.video, video.info, steps, exclude_audio=no_audio, checkpoint=ckpt)
    e = pick_emotion(req.valence, req.arousal, req.emotion_probs, params.emotion.max_abs_mean)
    with steps("emotion", f"emotion: valence {e.valence:+.3f}, arousal {e.arousal:+.3f} ({e.source})"):
        return e


def classifier_emotion(params, video, info=None, steps: Steps | None = None, exclude_audio: bool = False, checkpoint=None) -> EmotionChoice:
    """The video's emotion from the best real source (emsync/emotion/source.py: a VEMOCLAP trained on
    real data or given by `checkpoint`, else the packaged-model estimator), its record in
    `classifier`; or the neutral default with the reason when classify.soundtrack_uses_classifier is
    off. `exclude_audio`: a VEMOCLAP's auditory modalities are masked (§6.3.1), listed in the
    record's `excluded` (the estimator hears nothing anyway)."""
    from emsync.emotion.source import VEMOCLAP, video_emotion

    steps = steps or Steps()
    if not params.classify.soundtrack_uses_classifier:
        why = "classify.soundtrack_uses_classifier is off"
        with steps("emotion", f"emotion: valence +0.000, arousal +0.000 (default: {why})"):
            return EmotionChoice(0.0, 0.0, "default", classifier={"used": False, "reason": why})
    with steps("emotion", "emotion: reading the video's emotion (§5.2.2, §6.1)"):
        out = video_emotion(params, video, checkpoint=checkpoint, info=info, exclude_audio=exclude_audio)
    keep = (
        "source",
        "source_reason",
        "checkpoint",
        "probs",
        "top",
        "confidence",
        "masked",
        "excluded",
        "sees",
        "seconds",
        "weights",
        "weights_warning",
    )
    record = {"used": True, **{k: out[k] for k in keep if k in out}}
    source = "classifier" if out["source"] == VEMOCLAP else "estimator"
    return EmotionChoice(out["valence"], out["arousal"], source, dict(out["probs"]), classifier=record)


# how one generation follows the emotion curve, per conditioning mode (models/generation.py "Emotion curves")
CURVE_MODES = {
    "continuous_concat": "per token: every token embedding carries its segment's valence/arousal; "
    "tokens of earlier segments keep theirs (KV cache untouched)",
    "continuous_token": "prefix switch: at each segment start the two condition vectors before the window are "
    "replaced and the window is re-prefilled, so the model reads all its context under the new condition",
    "discrete_token": "prefix switch: at each segment start the VALENCE_k/AROUSAL_k tokens before the window are "
    "replaced and the window is re-prefilled, so the model reads all its context under the new condition",
    "vanilla": "none: the model takes no emotion input, the curve is recorded only",
}


def scene_emotions(params, video, steps: Steps, edges, exclude_audio: bool = False, checkpoint=None) -> EmotionChoice:
    """The video's emotion on every segment between `edges` (0, the boundaries, the end), from the
    same source as the whole video's (emsync/emotion/source.py): the choice is the duration-weighted
    mean of the curve (the summary's V/A)."""
    from emsync.core import provenance as P
    from emsync.emotion.source import VEMOCLAP
    from emsync.emotion.source import scene_emotions as source_scenes

    segments = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    with steps("emotion", f"emotion: reading {len(segments)} scenes (§5.2.2, one per segment between boundaries)"):
        src, curve = source_scenes(params, video, segments, checkpoint, exclude_audio=exclude_audio)
    w = [c["end"] - c["start"] for c in curve]
    v = round(sum(c["valence"] * x for c, x in zip(curve, w)) / sum(w), 6)
    a = round(sum(c["arousal"] * x for c, x in zip(curve, w)) / sum(w), 6)
    record = {"used": True, "source": src.name, "source_reason": src.reason, **P.record(src.weights)}
    name = "classifier_per_scene" if src.name == VEMOCLAP else "estimator_per_scene"
    return EmotionChoice(v, a, name, curve=curve, classifier=record)


def conditioning_record(res, dec, curve) -> dict:
    """Where the generator switched condition (per switch the token index, the music time, the
    segment) and the decoded notes per second of each segment."""
    from emsync.music.tokenizer import STEP_S

    mode = res.conditioning
    sw = [{"token": int(k), "t": float(t), "segment": int(g)} for k, t, g in (res.switches or [[]])[0]]
    on_s = dec.notes.on * STEP_S
    density = []
    for c in curve:  # notes starting per second inside each segment (what the listener hears change)
        m = (on_s >= c["start"]) & (on_s < c["end"])
        density.append(round(float(m.sum()) / max(c["end"] - c["start"], 1e-9), 3))
    return {"mode": mode, "how": CURVE_MODES.get(mode, ""), "switches": sw, "notes_per_s": density}
