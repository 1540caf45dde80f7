"""The soundtrack stage's plain steps around its cached tasks (flows/soundtrack.py wires them):
probe the videos, key the scoring tasks, build the (video, condition) jobs, then the table, the
skips and the §6.3.2 objective evaluation. Like emsync/soundtrack/objective.py this module is not part of the
scoring tasks' code key: editing how the stage tabulates or reports re-scores nothing."""

import dataclasses

import pandas as pd

from emsync.core.errors import InputError
from emsync.core.io import file_digest, write_json, write_parquet, write_text
from emsync.soundtrack import batch as sb

NOT_SCORING = ("emsync/soundtrack/objective.py", "emsync/soundtrack/stage.py", "flows/soundtrack.py")
SKIP_COLUMNS = ["video_id", "condition", "reason"]


def scoring_code() -> str:
    """The scoring tasks' code key: the stage's code without the metrics, this module and the flow."""
    from emsync.pipeline.stages import STAGE_CODE, code_files, digest

    return digest(code_files(p for p in STAGE_CODE["soundtrack"] if p not in NOT_SCORING))


def sections(params) -> dict:
    """The params sections a scoring task reads (its cache key holds them)."""
    full = dataclasses.asdict(params)
    return {k: full[k] for k in sb.SECTIONS}


def probe_videos(params, skip) -> dict:
    """{video_id: video_id, rel_path, digest, duration} of the videos to score; an unreadable,
    empty or stream-less file is `skip(video_id, "*", reason)`, recorded once, here."""
    from emsync.video.probe import probe_all
    from emsync.video.stage import rel_path

    sp = params.soundtrack
    videos = {}
    listed = sb.list_videos(params.path(sp.videos_dir))
    chosen = listed[: sp.max_videos] if sp.max_videos else listed
    for path, info in zip(chosen, probe_all(chosen)):
        if isinstance(info, InputError):
            skip(path.stem, "*", str(info))
            continue
        videos[path.stem] = {"video_id": path.stem, "rel_path": rel_path(path), "digest": file_digest(path), "duration": info.duration}
    return videos


def generator_digest(params) -> str:
    gen = params.path(params.generate.checkpoint)
    if not gen.exists():
        raise InputError(f"{gen}: generator checkpoint not found; run `dvc repro train` first")
    return file_digest(gen)


def score_jobs(params, videos: dict, emotions: dict, conditions: list) -> list:
    """One job per (video, condition): the video, its condition's setting and the shared seed."""
    sp = params.soundtrack
    jobs = []
    for vid, emo in emotions.items():
        v = videos[vid]
        for c in conditions:
            setting = sb.condition_setting(c, emo, vid, sp.seed, params.emotion.max_abs_mean)
            jobs.append(dict(video_id=vid, rel_path=v["rel_path"], digest=v["digest"], condition=c, setting=setting, seed=sp.seed))
    return jobs


def job_key(job: dict) -> str:
    return f"{job['video_id']}/{job['condition']}"


def missing_files(jobs: list, results: dict, data_root) -> list:
    """The jobs whose (cached) result's files are gone (deleted by hand): they are scored again."""
    return [
        j
        for j in jobs
        if job_key(j) in results and not all(p.exists() for p in sb.item_paths(data_root, j["video_id"], j["condition"]).values())
    ]


def write_table(out_dir, reports, results: dict, conditions: list, skips: list) -> list:
    """soundtrack.parquet (checked, one row per video and condition, in a stable order) and
    skips.parquet; returns the records in that order."""
    from emsync.pipeline.checks import check_table

    order = {c: i for i, c in enumerate(conditions)}
    records = sorted(results.values(), key=lambda r: (r["video_id"], order[r["condition"]]))
    table = pd.DataFrame([sb.table_row(r) for r in records], columns=sb.TABLE_COLUMNS)
    check_table(table, "soundtrack_soundtrack", [
        ("not_null", "video_id"), ("in_set", "condition", sb.CONDITIONS), ("between", "valence", -1.0, 1.0),
        ("between", "arousal", -1.0, 1.0), ("between", "duration_s", 0.0, None),
        *[("regex", f"{ext}_path", rf"^soundtrack/[^/]+/[a-z_]+\.{ext}$") for ext in sb.EXTENSIONS],
    ], reports)  # fmt: skip
    write_parquet(out_dir / "soundtrack.parquet", table)
    write_parquet(out_dir / "skips.parquet", pd.DataFrame(skips, columns=SKIP_COLUMNS))
    return records


def write_evaluation(params, out_dir, reports, records: list, videos: dict) -> dict:
    """The §6.3.2 objective evaluation: reports/soundtrack.{md,_metrics.json,_metrics.csv,_metrics.png}
    and metrics.parquet; returns the metrics."""
    from emsync.soundtrack import objective

    ev = objective.evaluate(params, records, videos)
    write_json(reports / "soundtrack_metrics.json", ev["metrics"])
    write_text(reports / "soundtrack_metrics.csv", ev["csv"])
    write_text(reports / "soundtrack.md", ev["markdown"] + "\n" + sb.weights_markdown(records))
    objective.metrics_png(ev["metrics"]["per_condition"], reports / "soundtrack_metrics.png")
    write_parquet(out_dir / "metrics.parquet", pd.DataFrame(ev["rows"], columns=objective.ROW_COLUMNS))
    return ev["metrics"]
