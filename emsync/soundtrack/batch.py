"""The batch `soundtrack` stage's library: every video under every §6.3 condition, through the one
`emsync soundtrack` pipeline (emsync.soundtrack.make_soundtrack; no second pipeline).

Conditions (thesis §6.3 compares EMSYNC with other systems; these are its own ablations):
- `emsync`          the full pipeline: the video's emotion (§5.2.2, §6.1: on the demo videos the demo
                    VEMOCLAP given by path, recorded as demo weights; else `emsync soundtrack`'s best
                    real source) and the scene-cut boundaries (§6.2);
- `no_boundaries`   the same emotion, no boundaries given to the generator (offset = δ_max);
- `neutral`         valence = arousal = 0 ("no emotion"), with boundaries;
- `random_emotion`  valence and arousal drawn uniformly from [-r, r] (r = emotion.max_abs_mean),
                    seeded by (soundtrack.seed, video_id), with boundaries.
A video's conditions share one sampling seed, so they differ only by their condition.

Layout (paths relative to the data root, paths.data_dir):
    soundtrack/<video_id>/<condition>.{mid,wav,mp4,json}     the JSON is the decision record
    soundtrack/soundtrack.parquet                           one row per (video_id, condition)

Long videos: the generator never holds more than its window (generate.window tokens, the §4.4
KV-cache window sliding by generate.slide_stride), so a two-hour video is generated in windows
with bounded memory; the render holds the whole track, so the flow scores the items of videos
longer than soundtrack.long_video_s one at a time; limits.max_video_duration_s (4 h) refuses longer.
"""

import json
import os
import zlib
from pathlib import Path

import numpy as np

from emsync.core.errors import InputError

CONDITIONS = ("emsync", "no_boundaries", "neutral", "random_emotion")
EXTENSIONS = ("mid", "wav", "mp4", "json")
VIDEO_EXTENSIONS = (".mp4", ".m4v", ".mov", ".mkv", ".webm", ".avi")
# params sections a (video, condition) result depends on (its cache key holds only these)
SECTIONS = ("paths", "generate", "soundtrack", "video", "tokens", "evaluate", "emotion", "limits", "classify", "features")


def list_videos(folder) -> list[Path]:
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"soundtrack.videos_dir {folder}: not a folder of videos")
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in VIDEO_EXTENSIONS and not p.name.startswith("."))


def resolve_path(rel_path: str) -> Path:
    """A video path as the stage records it (relative to the project root, or absolute)."""
    from emsync.core.config import project_root

    p = Path(rel_path)
    return p if p.is_absolute() else project_root() / p


def check_conditions(conditions) -> list[str]:
    bad = [c for c in conditions if c not in CONDITIONS]
    if bad or not conditions:
        raise InputError(f"soundtrack.conditions {list(conditions)}: choose from {', '.join(CONDITIONS)}")
    return list(conditions)


def random_emotion(video_id: str, seed: int, r: float) -> tuple[float, float]:
    """The `random_emotion` condition: uniform in [-r, r]², seeded by (seed, video_id)."""
    rng = np.random.default_rng([seed, zlib.crc32(video_id.encode())])
    v, a = rng.uniform(-r, r, size=2)
    return round(float(v), 6), round(float(a), 6)


def video_emotion(params, video) -> dict:
    """The `emsync` condition's emotion: {valence, arousal, source, classifier} as `emsync soundtrack`
    picks it without emotion flags (the best real source, or the neutral default with the reason).
    On the demo videos the demo VEMOCLAP is asked for by path: it was trained on them (its record
    says demo weights); on any other videos the choice is `emsync soundtrack`'s own."""
    from emsync.core.config import project_root
    from emsync.core.provenance import data_kind
    from emsync.soundtrack import classifier_emotion
    from emsync.video.probe import probe

    ckpt = params.path(params.classify.emotion_checkpoint)
    demo = data_kind([params.path(params.soundtrack.videos_dir)], params.path(params.demo_data.out_dir)) == "demo"
    choice = classifier_emotion(
        params,
        video,
        probe(video),
        exclude_audio=params.soundtrack.exclude_audio_features,
        checkpoint=ckpt if demo and ckpt.exists() else None,
    )
    classifier = dict(choice.classifier)
    if isinstance(classifier.get("reason"), str):  # paths in the record relative to the project
        classifier["reason"] = classifier["reason"].replace(f"{project_root()}/", "")
    return {"valence": choice.valence, "arousal": choice.arousal, "source": choice.source, "classifier": classifier}


def condition_setting(condition: str, emotion: dict, video_id: str, seed: int, r: float) -> dict:
    """{valence, arousal, use_boundaries, emotion_source} of one condition."""
    clf = None
    if condition in ("emsync", "no_boundaries"):
        v, a, src = emotion["valence"], emotion["arousal"], emotion["source"]
        # what the classifier said (or why it did not run), for the decision record; no paths
        keep = ("used", "reason", "source", "probs", "top", "confidence", "masked", "sees", "weights")
        clf = {k: x for k, x in (emotion.get("classifier") or {}).items() if k in keep}
    elif condition == "neutral":
        v, a, src = 0.0, 0.0, "neutral"
    elif condition == "random_emotion":
        (v, a), src = random_emotion(video_id, seed, r), "random"
    else:
        raise InputError(f"unknown soundtrack condition {condition!r} (choose from {', '.join(CONDITIONS)})")
    return {
        "valence": float(v),
        "arousal": float(a),
        "use_boundaries": condition != "no_boundaries",
        "emotion_source": src,
        "classifier": clf,
    }


def item_paths(data_root: Path, video_id: str, condition: str) -> dict:
    """{ext: path} of one (video, condition)'s files."""
    d = Path(data_root) / "soundtrack" / video_id
    return {ext: d / f"{condition}.{ext}" for ext in EXTENSIONS}


def score_item(params, video, video_id: str, condition: str, setting: dict, seed: int, checkpoint=None) -> dict:
    """Score one video under one condition; write its MIDI, WAV, MP4 and JSON record into place
    (each renamed from a temp folder beside it: a killed run never leaves a half file).
    Returns the record plus `token_ids` (not written to the JSON)."""
    from emsync.core.io import write_json
    from emsync.soundtrack import SoundtrackRequest, make_soundtrack

    data_root = params.path(params.paths.data_dir)
    final = item_paths(data_root, video_id, condition)
    out_dir = final["json"].parent
    out_dir.mkdir(parents=True, exist_ok=True)
    from emsync.core.io import temp_dir

    with temp_dir(".tmp-", dir=out_dir) as tmp:
        tmp_paths = {ext: Path(tmp) / p.name for ext, p in final.items()}
        req = SoundtrackRequest(
            video,
            tmp_paths["mp4"],
            valence=setting["valence"],
            arousal=setting["arousal"],
            midi_out=tmp_paths["mid"],
            wav_out=tmp_paths["wav"],
            seed=seed,
            checkpoint=checkpoint,
            progress=False,
            use_boundaries=setting["use_boundaries"],
            own=("soundtrack",),
            dialogue="off",  # §6.3 compares soundtracks that replace the video's sound
        )
        s = make_soundtrack(params, req)
        ids = s.pop("token_ids")
        rel = {ext: str(p.relative_to(data_root)) for ext, p in final.items()}
        s.update(
            video=video_id,
            video_id=video_id,
            condition=condition,
            emotion_source=setting["emotion_source"],
            emotion_classifier=setting.get("classifier"),
            checkpoint=Path(s["checkpoint"]).name,  # no absolute paths in outputs
            outputs={"video": rel["mp4"], "midi": rel["mid"], "wav": rel["wav"], "json": rel["json"]},
            paths_relative_to="paths.data_dir",
        )
        s.pop("stems", None)
        s.update(_weights(s, setting))
        write_json(tmp_paths["json"], s)
        for ext in EXTENSIONS:
            os.replace(tmp_paths[ext], final[ext])
    return {**s, "token_ids": ids}


def _weights(summary: dict, setting: dict) -> dict:
    """The record's weights: the generator's (from the run) and, for the conditions that read the
    video's emotion, the emotion source's; with the warning when any is not real."""
    from emsync.core import provenance as P

    emotion = (setting.get("classifier") or {}).get("weights", [])
    return P.record([P.Weights(**w) for w in [*summary.get("weights", []), *emotion]])


def weights_markdown(records: list) -> str:
    """The weights behind the stage's numbers: every distinct weights the records name (generator,
    emotion source)."""
    from emsync.core import provenance as P

    seen = {}
    for r in records:
        for w in r.get("weights") or []:
            seen.setdefault((w["role"], w["source"]), P.Weights(**w))
    return P.markdown(list(seen.values()))


TABLE_COLUMNS = [
    "video_id", "condition", "valence", "arousal", "emotion_source", "duration_s", "has_audio", "cuts", "boundaries",
    "conditioned_on_boundaries", "chord_times", "boundaries_hit", "tokens", "notes", "timings", "seconds_total",
    "seconds_per_minute", "mid_path", "wav_path", "mp4_path", "json_path",
]  # fmt: skip


def table_row(record: dict) -> dict:
    """One row of soundtrack.parquet from a (video, condition) record."""
    o = record["outputs"]
    return {
        "video_id": record["video_id"],
        "condition": record["condition"],
        "valence": float(record["valence"]),
        "arousal": float(record["arousal"]),
        "emotion_source": record["emotion_source"],
        "duration_s": float(record["duration_s"]),
        "has_audio": bool(record["has_audio"]),
        "cuts": [float(x) for x in record["cuts"]],
        "boundaries": [float(x) for x in record["boundaries"]],
        "conditioned_on_boundaries": bool(record["conditioned_on_boundaries"]),
        "chord_times": [float(x) for x in record["chord_times"]],
        "boundaries_hit": int(record["boundaries_hit"]),
        "tokens": int(record["tokens"]),
        "notes": int(record["notes"]),
        "timings": json.dumps(record["seconds"], sort_keys=True),
        "seconds_total": float(record["seconds"]["total"]),
        "seconds_per_minute": float(record["seconds_per_minute"]),
        "mid_path": o["midi"],
        "wav_path": o["wav"],
        "mp4_path": o["video"],
        "json_path": o["json"],
    }
