"""Video in, scored video out: the EMSYNC pipeline of thesis ch. 6 (§6.1, §6.2, Fig. 6.1).

    emsync soundtrack clip.mp4 -o scored.mp4 --valence 0.4 --arousal 0.2 --midi scored.mid --wav scored.wav
    emsync soundtrack clip.mp4 -o scored.mp4 --emotion-probs joy=0.7,surprise=0.3 --json

Steps (each timed):
1. probe   ffprobe: duration, audio stream; one clear error for a missing/corrupt/empty video;
2. cuts    scene cuts with FFmpeg's scene score > 0.27, then the 4 s difference filter -> boundaries
           (§5.1, §6.2, emsync.video.cuts);
3. emotion valence/arousal from the flags, or from Ekman probabilities the mean of the §6.1
           Gaussian mixture (emsync.emotion_map): given with --emotion-probs or, without any emotion
           flag, predicted by the video emotion classifier (VEMOCLAP, §5.2.2; emsync.classify) when
           its checkpoint exists (else the neutral centre 0, 0); with --emotion-per-scene the
           classifier runs on every segment between boundaries and the music follows that curve
           (CURVE_MODES says how for each conditioning mode; the JSON holds the curve);
4. generate the music transformer generates tokens until the music lasts the video, with the
           boundaries as Algorithm 1's temporal condition (§4.1, §6.2); decoded to a multi-instrument MIDI;
5. render  FluidSynth at 44.1 kHz stereo, fitted to the video's duration, 3 s fade-out, peak -3 dB;
6. mux     the WAV as AAC into a copy of the video stream (emsync.render).

The summary counts how many boundaries got a generated CHORD within `evaluate.hit_tolerance_s`
(1 s, the §6.4 hit criterion) and the seconds each step took.
"""

import dataclasses
import math
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from emsync.errors import InputError

STEPS = ("probe", "cuts", "emotion", "generate", "render", "mux")


@dataclass(frozen=True)
class EmotionChoice:
    """The emotion condition and where it came from (§6.1)."""

    valence: float
    arousal: float
    source: str  # "flags" | "emotion_probs" | "classifier" | "default"
    probs: dict = field(default_factory=dict)  # normalised weights when source is emotion_probs


def pick_emotion(valence=None, arousal=None, emotion_probs=None, max_abs_mean: float = 0.8, source: str = "emotion_probs") -> EmotionChoice:
    """Flags (missing ones default to 0, the neutral centre) or the §6.1 mixture mean of `emotion_probs`
    (`source` says where the probabilities came from)."""
    from emsync import emotion_map as em

    if emotion_probs:
        if valence is not None or arousal is not None:
            raise InputError("give either --valence/--arousal or --emotion-probs, not both")
        w = em.weights(emotion_probs)
        v, a = em.mixture_mean(emotion_probs, max_abs_mean)
        return EmotionChoice(round(v, 6), round(a, 6), source, {e: round(float(x), 6) for e, x in zip(em.EMOTIONS, w)})
    v = em.check_condition("valence", 0.0 if valence is None else float(valence))
    a = em.check_condition("arousal", 0.0 if arousal is None else float(arousal))
    return EmotionChoice(v, a, "flags")


def generate_tokens(
    params, valence, arousal, duration_s, boundaries, seed=0, instruments=None, checkpoint=None, device=None, progress=False, curve=()
):
    """One sample from the generator for the video: (token ids, GenerationResult). `curve`
    ((start_s, valence, arousal), ...) changes the condition at each start (emotion per scene)."""
    from emsync.generator import run_generator
    from emsync.models.generation import Condition

    res = run_generator(
        params,
        [Condition(valence, arousal, tuple(boundaries), tuple(curve))],
        duration_s,
        instruments=instruments,
        seed=seed,
        checkpoint=checkpoint,
        device=device,
        progress=progress,
    )
    return res.tokens[0], res


class _Steps:
    """Times each step and shows one progress line per step on stderr."""

    def __init__(self, show: bool):
        self.show, self.seconds, self._t0, self._name = show, {}, None, None

    def start(self, name: str, what: str):
        import sys

        self._name, self._t0 = name, time.perf_counter()
        if self.show:
            print(f"[{STEPS.index(name) + 1}/{len(STEPS)}] {what}", file=sys.stderr, flush=True)

    def stop(self):
        self.seconds[self._name] = round(time.perf_counter() - self._t0, 3)


def make_soundtrack(
    params,
    video,
    output,
    valence=None,
    arousal=None,
    emotion_probs=None,
    midi_out=None,
    wav_out=None,
    stems_dir=None,
    seed=0,
    instruments=None,
    checkpoint=None,
    device=None,
    soundfont=None,
    keep_audio=False,
    emotion_per_scene=False,
    progress=True,
    use_boundaries=True,
    keep_ids=False,
) -> dict:
    """Score `video` and write the scored video to `output` (plus the MIDI / WAV when asked).
    Returns the summary dict that `emsync soundtrack --json` prints.

    `use_boundaries=False` is the no-boundaries ablation (the batch `soundtrack` stage): the cuts are
    still detected and reported, but the generator gets none (offset = δ_max, "no boundary ahead").
    `keep_ids=True` adds the generated token ids to the summary (`token_ids`)."""
    from emsync.generator import load_generator
    from emsync.io import check_outputs
    from emsync.limits import check_limit
    from emsync.music.daw import write_daw_midi
    from emsync.music.tokenizer import decode
    from emsync.render import check_video_output, mux, render_stems, render_wav, resolve_soundfont
    from emsync.training.metrics import boundary_hits, chord_times
    from emsync.video.cuts import video_cuts
    from emsync.video.probe import probe

    t_all = time.perf_counter()
    check_outputs(
        {"-o": output, "--midi": midi_out, "--wav": wav_out}, {"video": video, "--checkpoint": checkpoint, "--soundfont": soundfont}
    )
    if stems_dir is not None and Path(stems_dir).exists() and not Path(stems_dir).is_dir():
        raise InputError(f"--stems {stems_dir}: exists and is not a directory")
    output = check_video_output(output)
    if instruments not in (None, "fewer", "more"):
        raise InputError(f"--instruments {instruments}: choose fewer or more")
    emotion = pick_emotion(valence, arousal, emotion_probs, params.emotion.max_abs_mean)  # fail fast on bad flags
    if emotion_per_scene:
        if valence is not None or arousal is not None or emotion_probs:
            raise InputError("--emotion-per-scene classifies every scene: drop --valence/--arousal/--emotion-probs")
        emo_ckpt = params.path(params.classify.emotion_checkpoint)
        if not emo_ckpt.exists():
            raise InputError(
                f"--emotion-per-scene needs the video emotion classifier: no checkpoint at {emo_ckpt} (run `dvc repro train_emotion`)"
            )
    # paths given here are relative to the working directory, params paths to the repository
    sf = params.soundtrack.soundfont
    soundfont = resolve_soundfont(soundfont or (params.path(sf) if sf else None))
    ckpt = Path(checkpoint).resolve() if checkpoint else params.path(params.generate.checkpoint)
    if not ckpt.exists():
        load_generator(ckpt)  # raises its "checkpoint not found; train one ..." error before any work
    steps = _Steps(progress)
    vp, sp = params.video, params.soundtrack

    steps.start("probe", f"probing {video}")
    info = probe(video)
    check_limit(f"{video}: video duration", info.duration, params.limits.max_video_duration_s, "limits.max_video_duration_s")
    check_limit(f"{video}: music to generate", info.duration, params.limits.max_generate_duration_s, "limits.max_generate_duration_s")
    steps.stop()

    steps.start("cuts", f"detecting scene cuts ({info.duration:.1f} s video)")
    cuts = video_cuts(video, vp.scene_threshold, vp.min_boundary_gap_s, vp.cut_method, info=info)  # the one probe, passed down
    declared = info.duration
    plays = cuts.get("decoded_duration")
    if plays is not None and plays < declared - max(0.5, 2 / info.fps):  # truncated file: fit the music to what plays
        print(
            f"warning: {video}: truncated: declares {declared:.2f} s but only {plays:.2f} s decode; the music is fitted to {plays:.2f} s",
            file=sys.stderr,
        )
        info = dataclasses.replace(info, duration=plays)
    boundaries = [b for b in cuts["boundaries"] if b < info.duration]
    steps.stop()

    classifier, curve = None, None
    if emotion_per_scene:
        emotion, curve = _scene_emotions(params, video, steps, [0.0, *boundaries, info.duration])
    elif valence is None and arousal is None and not emotion_probs:
        emotion, classifier = _classifier_emotion(params, video, steps, info)
    else:
        steps.start("emotion", f"emotion: valence {emotion.valence:+.3f}, arousal {emotion.arousal:+.3f} ({emotion.source})")
        steps.stop()

    steps.start("generate", f"generating {info.duration:.1f} s of music, {len(boundaries)} boundaries")
    ids, res = generate_tokens(
        params,
        emotion.valence,
        emotion.arousal,
        info.duration,
        boundaries if use_boundaries else [],
        seed=seed,
        instruments=instruments,
        checkpoint=ckpt,
        device=device,
        progress=progress,
        curve=[(c["start"], c["valence"], c["arousal"]) for c in curve] if curve else (),
    )
    dec = decode(ids, chord_boost=params.generate.chord_velocity_boost)
    chords = [round(float(t), 3) for t in chord_times(ids)]
    hits = boundary_hits(ids, boundaries, params.evaluate.hit_tolerance_s)
    steps.stop()

    with tempfile.TemporaryDirectory(prefix="emsync-soundtrack-") as tmpdir:
        midi_path = Path(midi_out) if midi_out else Path(tmpdir) / "soundtrack.mid"
        wav_path = Path(wav_out) if wav_out else Path(tmpdir) / "soundtrack.wav"
        daw_cuts = [c for c in cuts["cuts"] if c < info.duration]
        daw = write_daw_midi(dec, midi_path, daw_cuts, boundaries, info.fps)

        steps.start("render", f"rendering with FluidSynth ({sp.sample_rate} Hz stereo, {params.generate.fade_out_s:g} s fade-out)")
        wav = render_wav(
            midi_path,
            wav_path,
            duration_s=info.duration,
            soundfont=soundfont,
            sample_rate=sp.sample_rate,
            fade_s=params.generate.fade_out_s,
            peak_db=sp.peak_db,
            validate=False,
        )  # emsync's own MIDI, just written
        stems = None
        if stems_dir is not None:  # one WAV per instrument, at the mix's gain (render_stems)
            from emsync.music import vocab as V

            midis = {}
            for i in sorted({int(x) for x in dec.notes.instrument}):
                midis[V.INSTRUMENTS[i].lower()] = Path(tmpdir) / f"stem_{V.INSTRUMENTS[i].lower()}.mid"
                write_daw_midi(dec, midis[V.INSTRUMENTS[i].lower()], daw_cuts, boundaries, info.fps, instruments=[i])
            stems = render_stems(midis, stems_dir, info.duration, wav["gain"], soundfont, sp.sample_rate, params.generate.fade_out_s)
        steps.stop()

        steps.start("mux", f"muxing into {output}")
        muxed = mux(
            video,
            wav_path,
            output,
            keep_audio=keep_audio,
            has_audio=info.has_audio,
            bitrate=sp.audio_bitrate,
            keep_audio_db=sp.keep_audio_db,
        )
        steps.stop()

    total = time.perf_counter() - t_all
    return {
        "video": str(video),
        "duration_s": round(info.duration, 3),
        "declared_duration_s": round(declared, 3),
        "has_audio": info.has_audio,
        "cuts": cuts["cuts"],
        "boundaries": boundaries,
        "conditioned_on_boundaries": bool(use_boundaries),
        "valence": emotion.valence,
        "arousal": emotion.arousal,
        "emotion_source": emotion.source,
        "emotion_probs": emotion.probs or None,
        "emotion_classifier": classifier,
        "emotion_curve": curve,
        "emotion_conditioning": _conditioning_record(res, dec, curve) if curve else None,
        "chord_times": chords,
        "boundaries_hit": int(hits.sum()),
        "boundary_hit": [bool(h) for h in hits],
        "hit_tolerance_s": params.evaluate.hit_tolerance_s,
        "music_duration_s": round(float(res.duration_s[0]), 3),
        "reached_duration": bool(res.reached[0]),
        "tokens": int(len(ids)),
        "notes": int(len(dec.notes)),
        "instruments": sorted({int(x) for x in dec.notes.instrument}),
        "seed": int(seed),
        "checkpoint": str(ckpt),
        "outputs": {
            "video": muxed["path"],
            "midi": str(midi_out) if midi_out else None,
            "wav": str(wav_out) if wav_out else None,
            "stems": {k: v["path"] for k, v in stems.items()} if stems is not None else None,
        },
        "midi_export": daw,
        "stems": stems,
        "video_codec": muxed["video_codec"],
        "kept_original_audio": muxed["kept_original_audio"],
        "audio_silent": wav["silent"],
        "seconds": {**steps.seconds, "total": round(total, 3)},
        "seconds_per_minute": round(total / info.duration * 60.0, 2) if info.duration > 0 else math.nan,
    } | ({"token_ids": [int(x) for x in ids]} if keep_ids else {})


def _classifier_emotion(params, video, steps, info=None) -> tuple:
    """(EmotionChoice, classifier record) from the video emotion classifier, or the neutral default
    with the reason when it is switched off or has no checkpoint."""
    ckpt = params.path(params.classify.emotion_checkpoint)
    if not params.classify.soundtrack_uses_classifier or not ckpt.exists():
        why = (
            "classify.soundtrack_uses_classifier is off"
            if not params.classify.soundtrack_uses_classifier
            else f"no emotion classifier checkpoint at {ckpt} (run `dvc repro train_emotion`)"
        )
        steps.start("emotion", f"emotion: valence +0.000, arousal +0.000 (default: {why})")
        steps.stop()
        return EmotionChoice(0.0, 0.0, "default"), {"used": False, "reason": why}
    from emsync.classify.inference import classify_video

    steps.start("emotion", "emotion: running the video emotion classifier (§5.2.2)")
    out = classify_video(params, video, "emotion", checkpoint=ckpt, info=info)
    choice = pick_emotion(emotion_probs=out["probs"], max_abs_mean=params.emotion.max_abs_mean, source="classifier")
    steps.stop()
    return choice, {
        "used": True,
        "checkpoint": out["checkpoint"],
        "probs": out["probs"],
        "top": out["top"],
        "masked": out["masked"],
        "seconds": out["seconds"],
    }


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


def _scene_emotions(params, video, steps, edges) -> tuple:
    """(EmotionChoice, curve) with the video emotion classifier run on every segment between
    boundaries; the choice is the duration-weighted mean of the curve (the summary's V/A)."""
    from emsync.classify.inference import classify_segments

    segments = [(a, b) for a, b in zip(edges[:-1], edges[1:]) if b > a]
    steps.start("emotion", f"emotion: classifying {len(segments)} scenes (§5.2.2, one per segment between boundaries)")
    curve = []
    for r in classify_segments(params, video, "emotion", segments):
        e = pick_emotion(emotion_probs=r["probs"], max_abs_mean=params.emotion.max_abs_mean, source="classifier")
        curve.append(
            {"start": r["start"], "end": r["end"], "valence": e.valence, "arousal": e.arousal, "top": r["top"], "probs": r["probs"],
             "masked": r["masked"], "seconds": r["seconds"]}
        )  # fmt: skip
    steps.stop()
    w = [c["end"] - c["start"] for c in curve]
    v = round(sum(c["valence"] * x for c, x in zip(curve, w)) / sum(w), 6)
    a = round(sum(c["arousal"] * x for c, x in zip(curve, w)) / sum(w), 6)
    return EmotionChoice(v, a, "classifier_per_scene"), curve


def _conditioning_record(res, dec, curve) -> dict:
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


def format_summary(s: dict) -> str:
    """The human-readable summary `emsync soundtrack` prints."""
    from emsync.music import vocab as V

    def times(xs):
        return ", ".join(f"{x:.2f}" for x in xs) if xs else "none"

    names = ",".join(V.INSTRUMENTS[i].lower() for i in s["instruments"]) or "none"
    lines = [
        f"video       {s['video']}: {s['duration_s']:.2f} s, {'with' if s['has_audio'] else 'no'} audio",
        f"cuts        {len(s['cuts'])}: {times(s['cuts'])}",
        f"boundaries  {len(s['boundaries'])} (cuts >= 4 s apart and from the start): {times(s['boundaries'])}",
        f"emotion     valence {s['valence']:+.3f}, arousal {s['arousal']:+.3f} ({s['emotion_source']})"
        + (f", classifier top: {s['emotion_classifier']['top']}" if (s.get("emotion_classifier") or {}).get("used") else ""),
        *(
            [
                f"scene {c['start']:6.2f}-{c['end']:6.2f} s: valence {c['valence']:+.3f}, arousal {c['arousal']:+.3f} ({c['top']})"
                for c in s["emotion_curve"]
            ]
            + [f"conditioning {s['emotion_conditioning']['mode']}: {s['emotion_conditioning']['how']}"]
            if s.get("emotion_curve")
            else []
        ),
        f"music       {s['music_duration_s']:.2f} s, {s['tokens']} tokens, {s['notes']} notes ({names})"
        + ("" if s["reached_duration"] else " (token budget hit before the duration)"),
        f"chords      {len(s['chord_times'])}: {times(s['chord_times'])}",
        f"hits        {s['boundaries_hit']}/{len(s['boundaries'])} boundaries got a chord within {s['hit_tolerance_s']:g} s",
    ]
    for key in ("video", "midi", "wav"):
        if s["outputs"][key]:
            lines.append(f"{key + ' out':<12}{s['outputs'][key]}")
    if s["outputs"].get("stems"):
        lines.append(f"{'stems out':<12}" + ", ".join(s["outputs"]["stems"].values()))
    sec = s["seconds"]
    lines.append(
        "seconds     "
        + ", ".join(f"{k} {sec[k]:.2f}" for k in (*STEPS, "total") if k in sec)
        + f" ({s['seconds_per_minute']:.1f} s per minute of video)"
    )
    return "\n".join(lines)
