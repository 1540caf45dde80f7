"""soundtrack stage: every video scored under every §6.3 condition, then the §6.3.2 objective evaluation.

    python -m flows.soundtrack            # params.yaml: soundtrack.videos_dir, soundtrack.conditions

One cached task per (video, condition) runs the `emsync soundtrack` pipeline (emsync.soundtrack) and
writes data/soundtrack/<video_id>/<condition>.{mid,wav,mp4,json}; the flow writes
data/soundtrack/soundtrack.parquet (one row per video and condition, paths relative to the data root;
the store stage registers it as the view `soundtrack_soundtrack`), data/soundtrack/skips.parquet
(videos or items that could not be scored, with the reason), and the objective evaluation
(emsync/objective.py): reports/soundtrack.md, reports/soundtrack_metrics.json (`dvc metrics`),
reports/soundtrack_metrics.csv and .png (`dvc plots`), data/soundtrack/metrics.parquet (per video and condition). A bad video is a recorded skip, never a stopped flow.
"""

from prefect import flow

from emsync.config import Params
from emsync.flowkit import RunReport, collect, map_items


@flow(name="soundtrack")
def soundtrack_flow(params: Params) -> dict:
    import dataclasses

    import pandas as pd

    from emsync import objective
    from emsync import soundtrack_batch as sb
    from emsync.checks import check_table
    from emsync.errors import InputError
    from emsync.io import file_digest, write_json, write_parquet, write_text
    from emsync.stages import STAGE_CODE, code_files, digest
    from emsync.tasks.soundtrack import emotion_task, score_task
    from emsync.video.probe import probe
    from emsync.video.stage import rel_path

    sp = params.soundtrack
    report = RunReport("soundtrack")
    data_root, reports = params.path(params.paths.data_dir), params.path(params.paths.reports_dir)
    out_dir = data_root / "soundtrack"
    conditions = sb.check_conditions(sp.conditions)
    full = dataclasses.asdict(params)
    sections = {k: full[k] for k in sb.SECTIONS}
    # the scoring tasks' code key leaves out the metrics and this flow: editing a metric re-scores nothing
    code = digest(code_files(p for p in STAGE_CODE["soundtrack"] if p not in ("emsync/objective.py", "flows/soundtrack.py")))
    skips = []

    def skip(video_id, condition, reason):
        skips.append({"video_id": video_id, "condition": condition, "reason": reason})
        report.skip(f"{video_id}/{condition}", reason)

    # 1. probe: unreadable, empty or stream-less files are recorded once, here
    videos = {}
    listed = sb.list_videos(params.path(sp.videos_dir))
    for path in listed[: sp.max_videos] if sp.max_videos else listed:
        try:
            info = probe(path)
        except InputError as e:
            skip(path.stem, "*", str(e))
            continue
        videos[path.stem] = {"video_id": path.stem, "rel_path": rel_path(path), "digest": file_digest(path), "duration": info.duration}

    # 2. the emotion of each video (the `emsync` condition; once per video, shared by no_boundaries)
    ckpt = params.path(params.classify.emotion_checkpoint)
    cdig = file_digest(ckpt) if ckpt.exists() else None
    emo_jobs = [(v, emotion_task.submit(v["video_id"], v["rel_path"], v["digest"], sections, cdig, code)) for v in videos.values()]
    n = len(report.skipped)
    emotions = collect(emo_jobs, report, key=lambda v: v["video_id"], desc="emotion")
    for s in report.skipped[n:]:
        skips.append({"video_id": s["item"], "condition": "*", "reason": s["reason"]})

    # 3. one task per (video, condition)
    gen = params.path(params.generate.checkpoint)
    if not gen.exists():
        raise InputError(f"{gen}: generator checkpoint not found; run `dvc repro train` first")
    gdig = file_digest(gen)
    jobs = []
    for vid, emo in emotions.items():
        v = videos[vid]
        for c in conditions:
            setting = sb.condition_setting(c, emo, vid, sp.seed, params.emotion.max_abs_mean)
            jobs.append(dict(video_id=vid, rel_path=v["rel_path"], digest=v["digest"], condition=c, setting=setting, seed=sp.seed))
    n = len(report.skipped)
    key = lambda j: f"{j['video_id']}/{j['condition']}"  # noqa: E731
    shared = dict(sections=sections, generator_digest=gdig, code=code)
    is_long = lambda j: videos[j["video_id"]]["duration"] > sp.long_video_s  # noqa: E731
    results = map_items(score_task, [j for j in jobs if not is_long(j)], report, desc="soundtrack", key=key, **shared)
    for j in filter(is_long, jobs):  # one at a time: each holds its whole rendered track in memory
        results.update(map_items(score_task, [j], report, desc=f"soundtrack (long: {key(j)})", key=key, **shared))
    # a cache hit whose files went missing (deleted by hand) is scored again
    redo = [
        j
        for j in jobs
        if key(j) in results and not all(p.exists() for p in sb.item_paths(data_root, j["video_id"], j["condition"]).values())
    ]
    if redo:
        again = score_task.with_options(refresh_cache=True)
        results.update(map_items(again, redo, report, desc="soundtrack (missing files)", key=key, **shared))
    for s in report.skipped[n:]:
        vid, _, c = s["item"].partition("/")
        skips.append({"video_id": vid, "condition": c, "reason": s["reason"]})

    # 4. the table, in a stable order
    order = {c: i for i, c in enumerate(conditions)}
    records = sorted(results.values(), key=lambda r: (r["video_id"], order[r["condition"]]))
    table = pd.DataFrame([sb.table_row(r) for r in records], columns=sb.TABLE_COLUMNS)
    check_table(table, "soundtrack_soundtrack", [
        ("not_null", "video_id"), ("in_set", "condition", sb.CONDITIONS), ("between", "valence", -1.0, 1.0),
        ("between", "arousal", -1.0, 1.0), ("between", "duration_s", 0.0, None),
        *[("regex", f"{ext}_path", rf"^soundtrack/[^/]+/[a-z_]+\.{ext}$") for ext in sb.EXTENSIONS],
    ], reports)  # fmt: skip
    write_parquet(out_dir / "soundtrack.parquet", table)
    write_parquet(out_dir / "skips.parquet", pd.DataFrame(skips, columns=["video_id", "condition", "reason"]))

    # 5. the §6.3.2 objective evaluation
    ev = objective.evaluate(params, records, videos)
    write_json(reports / "soundtrack_metrics.json", ev["metrics"])
    write_text(reports / "soundtrack_metrics.csv", ev["csv"])
    write_text(reports / "soundtrack.md", ev["markdown"] + "\n" + sb.weights_markdown(records))
    objective.metrics_png(ev["metrics"]["per_condition"], reports / "soundtrack_metrics.png")
    write_parquet(out_dir / "metrics.parquet", pd.DataFrame(ev["rows"], columns=objective.ROW_COLUMNS))
    report.write(reports)
    return ev["metrics"]


if __name__ == "__main__":
    from emsync import flowkit

    flowkit.main(
        "soundtrack",
        soundtrack_flow,
        summary=lambda m, p: f"soundtrack: {m['n_videos']} videos x {len(m['per_condition'])} conditions scored; reports/soundtrack.md",
    )
