"""Report one soundtrack run: the summary dict `emsync soundtrack --json` prints (and the batch
stage stores as its decision record) and its human-readable form."""

import math

from emsync.soundtrack.steps import STEPS


def summarise(params, req, video, emotion, music, rendered, muxed, seconds: dict, keep=None) -> dict:
    """The summary of a finished run; `seconds` holds each step's time and the total; `keep` is a
    re-score's plan (emsync.soundtrack.rescore.KeepPlan)."""
    from emsync.soundtrack.emotion import conditioning_record

    from emsync.core import provenance as P

    res, dec, total = music.result, music.decoded, seconds["total"]
    weights = [P.of_checkpoint(music.checkpoint, "music generator")] + [
        P.Weights(**w) for w in (emotion.classifier or {}).get("weights", [])
    ]
    return {
        "video": str(req.video),
        "duration_s": round(video.duration, 3),
        "declared_duration_s": round(video.declared_duration, 3),
        "has_audio": video.has_audio,
        "cuts": list(video.cuts),
        "boundaries": list(video.boundaries),
        "speech": [list(s) for s in video.speech] if video.speech is not None else None,
        "conditioned_on_boundaries": bool(req.use_boundaries),
        "valence": emotion.valence,
        "arousal": emotion.arousal,
        "emotion_source": emotion.source,
        "emotion_probs": emotion.probs or None,
        "emotion_classifier": emotion.classifier,
        "emotion_curve": emotion.curve,
        "emotion_conditioning": conditioning_record(res, dec, emotion.curve) if emotion.curve else None,
        "chord_times": music.chord_times,
        "boundaries_hit": int(music.hits.sum()),
        "boundary_hit": [bool(h) for h in music.hits],
        "hit_tolerance_s": params.evaluate.hit_tolerance_s,
        "music_duration_s": round(float(res.duration_s[0]), 3),
        "reached_duration": bool(res.reached[0]),
        "tokens": int(len(music.ids)),
        "notes": int(len(dec.notes)),
        "instruments": sorted({int(x) for x in dec.notes.instrument}),
        "seed": int(music.seed),
        "checkpoint": str(music.checkpoint),
        "outputs": {
            "video": muxed["path"],
            "midi": str(req.midi_out) if req.midi_out else None,
            "wav": str(req.wav_out) if req.wav_out else None,
            "stems": {k: v["path"] for k, v in rendered.stems.items()} if rendered.stems is not None else None,
            "report": str(req.report) if req.report is not None else None,
        },
        "midi_export": rendered.daw,
        "stems": rendered.stems,
        "video_codec": muxed["video_codec"],
        "kept_original_audio": muxed["kept_original_audio"],
        "dialogue": rendered.dialogue,
        "rescore": keep.record if keep is not None else None,
        "audio_silent": rendered.wav["silent"],
        "seconds": seconds,
        "seconds_per_minute": round(total / video.duration * 60.0, 2) if video.duration > 0 else math.nan,
        **P.record(weights),
        "token_ids": [int(x) for x in music.ids],  # what `--keep` continues from
    }


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
        + _emotion_note(s.get("emotion_classifier")),
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
        *_dialogue_lines(s),
    ]
    for key in ("video", "midi", "wav", "report"):
        if s["outputs"].get(key):
            lines.append(f"{key + ' out':<12}{s['outputs'][key]}")
    if s["outputs"].get("stems"):
        lines.append(f"{'stems out':<12}" + ", ".join(s["outputs"]["stems"].values()))
    from emsync.core import provenance as P

    lines += P.text_lines([P.Weights(**w) for w in s.get("weights", [])])
    sec = s["seconds"]
    lines.append(
        "seconds     "
        + ", ".join(f"{k} {sec[k]:.2f}" for k in (*STEPS, "total") if k in sec)
        + f" ({s['seconds_per_minute']:.1f} s per minute of video)"
    )
    return "\n".join(lines)


def _dialogue_lines(s: dict) -> list:
    """The summary lines of the speech, the dialogue mix and a re-score."""
    lines = []
    if s.get("speech") is not None:
        segs = ", ".join(f"{a:.2f}-{b:.2f}" for a, b in s["speech"]) or "none"
        lines.append(f"speech      {len(s['speech'])}: {segs}")
    d = s.get("dialogue") or {}
    if d.get("mixed"):
        lv = d["music_level_db"]
        lines.append(
            f"dialogue    kept; music ducked {d['duck_db']:g} dB under speech ({d['attack_s']:g} s attack, {d['release_s']:g} s release): "
            f"music at {lv['speech']:+.1f} dB under speech, {lv['elsewhere']:+.1f} dB elsewhere; mix peak {d['peak_dbfs']:.2f} dBFS"
        )
    r = s.get("rescore")
    if r:
        change = "no boundary changed" if r["first_change_s"] is None else f"first change at {r['first_change_s']:.2f} s"
        lines.append(f"kept        {r['kept_tokens']} tokens up to {r['kept_until_s']:.2f} s of {r['previous']} ({change})")
    return lines


def _emotion_note(record: dict | None) -> str:
    """', top: joy (confidence 0.81); why: ...' for the emotion line, from the emotion source's record."""
    if not (record or {}).get("used"):
        return ""
    top = (
        f", top: {record['top']}" + (f" (confidence {record['confidence']:.2f})" if "confidence" in record else "")
        if "top" in record
        else ""
    )
    why = f"; {record['source_reason']}" if record.get("source_reason") else ""
    return top + why
