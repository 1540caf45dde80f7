"""soundtrack stage: every video scored under every §6.3 condition, then the §6.3.2 objective evaluation.

    python -m flows.soundtrack            # params.yaml: soundtrack.videos_dir, soundtrack.conditions

One cached task per (video, condition) runs the `emsync soundtrack` pipeline (emsync.soundtrack) and
writes data/soundtrack/<video_id>/<condition>.{mid,wav,mp4,json}; the flow writes
data/soundtrack/soundtrack.parquet (one row per video and condition, paths relative to the data root;
the store stage registers it as the view `soundtrack_soundtrack`), data/soundtrack/skips.parquet
(videos or items that could not be scored, with the reason), and the objective evaluation
(emsync/soundtrack/objective.py): reports/soundtrack.md, reports/soundtrack_metrics.json (`dvc metrics`),
reports/soundtrack_metrics.csv and .png (`dvc plots`), data/soundtrack/metrics.parquet (per video and condition). A bad video is a recorded skip, never a stopped flow.
"""

from prefect import flow

from emsync.core.config import Params
from emsync.pipeline.flowkit import RunReport, collect, cpu_task_runner, map_items


@flow(name="soundtrack", task_runner=cpu_task_runner())
def soundtrack_flow(params: Params) -> dict:
    import dataclasses

    from emsync.classify.inference import shared_extractors
    from emsync.soundtrack import batch as sb
    from emsync.soundtrack import stage as st
    from emsync.core.io import file_digest
    from emsync.tasks.soundtrack import emotion_task, score_task

    # the stage scores the model this pipeline trained (train.checkpoint), not the CLI's default
    # generate.checkpoint (which may be the real generator shipped in the package)
    params = dataclasses.replace(params, generate=dataclasses.replace(params.generate, checkpoint=params.train.checkpoint))

    sp = params.soundtrack
    report = RunReport("soundtrack")
    data_root, reports = params.path(params.paths.data_dir), params.path(params.paths.reports_dir)
    conditions = sb.check_conditions(sp.conditions)
    sections, code = st.sections(params), st.scoring_code()
    skips = []

    def record_skips(since: int, condition=None):
        for s in report.skipped[since:]:
            vid, _, c = s["item"].partition("/")
            skips.append({"video_id": vid, "condition": condition or c, "reason": s["reason"]})

    # 1. probe: unreadable, empty or stream-less files are recorded once, here
    videos = st.probe_videos(params, lambda vid, c, reason: report.skip(f"{vid}/{c}", reason))
    record_skips(0)

    # 2. the emotion of each video (the `emsync` condition; once per video, shared by no_boundaries)
    ckpt = params.path(params.classify.emotion_checkpoint)
    cdig = file_digest(ckpt) if ckpt.exists() else None
    n = len(report.skipped)
    with shared_extractors():  # each extractor loads once for all the videos
        emo_jobs = [(v, emotion_task.submit(v["video_id"], v["rel_path"], v["digest"], sections, cdig, code)) for v in videos.values()]
        emotions = collect(emo_jobs, report, key=lambda v: v["video_id"], desc="emotion")
    record_skips(n, condition="*")

    # 3. one task per (video, condition); long videos one at a time (each holds its whole rendered track)
    shared = dict(sections=sections, generator_digest=st.generator_digest(params), code=code)
    jobs = st.score_jobs(params, videos, emotions, conditions)
    n = len(report.skipped)
    is_long = lambda j: videos[j["video_id"]]["duration"] > sp.long_video_s  # noqa: E731
    results = map_items(score_task, [j for j in jobs if not is_long(j)], report, desc="soundtrack", key=st.job_key, **shared)
    for j in filter(is_long, jobs):
        results.update(map_items(score_task, [j], report, desc=f"soundtrack (long: {st.job_key(j)})", key=st.job_key, **shared))
    redo = st.missing_files(jobs, results, data_root)  # a cache hit whose files went missing is scored again
    if redo:
        again = score_task.with_options(refresh_cache=True)
        results.update(map_items(again, redo, report, desc="soundtrack (missing files)", key=st.job_key, **shared))
    record_skips(n)

    # 4. the table, in a stable order; 5. the §6.3.2 objective evaluation
    records = st.write_table(data_root / "soundtrack", reports, results, conditions, skips)
    metrics = st.write_evaluation(params, data_root / "soundtrack", reports, records, videos)
    report.write(reports)
    return metrics


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main(
        "soundtrack",
        soundtrack_flow,
        summary=lambda m, p: f"soundtrack: {m['n_videos']} videos x {len(m['per_condition'])} conditions scored; reports/soundtrack.md",
    )
