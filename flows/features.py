"""Feature stage (§5.1, §5.2.1): scene cuts and one pretrained-feature table per extractor.

For every video in `features.videos_dir`, one step per DVC stage:
- features_cuts: `data/features/cuts.parquet`: video_id, duration, fps, method, cuts (raw),
  boundaries (after the 4 s difference filter); `data/features/rejects/cuts.parquet` (probe + cuts);
- features_<extractor>: `data/features/<extractor>/<video_id>.parquet`, one cached task per
  (extractor, video), and `data/features/rejects/<extractor>.parquet` (video_id, step, reason);
- features: `reports/features.md` (+ `.json`) from every step's `reports/features/<step>.json`:
  rows per table, seconds per video-minute per extractor.
The store stage then refreshes the DuckDB views. A bad video is a recorded skip, never a stopped flow.

    python -m flows.features                  # every step; features.task_runner: default | dask
    python -m flows.features --extractor clip # one extractor (reads the cuts table when mid_scene)
    python -m flows.features --cuts | --report
    python -m flows.features --runner dask --refresh-cache
"""

from prefect import flow

from emsync.core.config import load_params
from emsync.core.errors import InputError
from emsync.pipeline.flowkit import RunReport, collect, dask_runner, map_items
from emsync.video import stage
from emsync.tasks.features import cuts_task, extract_task


def make_task_runner(kind: str, workers: int = 1, threads: int = 2):
    """Prefect's default thread-pool runner, or a local Dask cluster (threads, processes=False)."""
    if kind == "default":
        return None
    if kind == "dask":
        import logging

        from prefect_dask import DaskTaskRunner

        logging.getLogger("distributed").setLevel(logging.WARNING)  # no per-worker INFO lines

        return DaskTaskRunner(
            cluster_kwargs={"n_workers": workers, "threads_per_worker": threads, "processes": False, "dashboard_address": None}
        )
    raise InputError(f"features.task_runner: unknown runner {kind!r} (default | dask)")


@flow(name="features")
def features_flow(params_path: str | None = None, refresh_cache: bool = False, step: str | None = None) -> dict:
    """One step of the feature stage, or all of them (`step` None): "cuts", an extractor (a
    features.extractors entry or a registered name) or "report". Returns that step's summary."""
    from emsync.video.extractors import REGISTRY

    p = load_params(params_path)
    data_dir, reports_dir = p.path(p.paths.data_dir), p.path(p.paths.reports_dir)
    out_dir = data_dir / "features"
    specs = list(p.features.extractors)
    if step not in (None, "cuts", "report") and step not in specs and step not in REGISTRY:
        raise InputError(f"--extractor {step}: not in features.extractors ({', '.join(specs)}) nor a registered extractor")
    report = RunReport("features" if step in (None, "report") else f"features_{step}")
    if step == "report":
        summary = stage.write_summary(out_dir, reports_dir, specs)
        report.write(reports_dir)
        return summary

    # 1. probe: unreadable, zero-length or stream-less files are rejected once, by the cuts step
    videos, probe_rejects = stage.probe_videos(p.path(p.features.videos_dir))
    for r in probe_rejects:
        report.skip(f"probe/{r['video_id']}", r["reason"])

    # 2. scene cuts (§5.1); an extractor step alone reads them from the features_cuts stage's table
    if step in (None, "cuts"):
        rejects = list(probe_rejects)
        cut_jobs = stage.cut_jobs(p, videos)
        cut_task = cuts_task.with_options(refresh_cache=True) if refresh_cache else cuts_task
        n_skips = len(report.skipped)
        cut_rows = map_items(cut_task, cut_jobs, report, desc="cuts", key=lambda j: j["video_id"])
        rejects += [{"video_id": s["item"], "step": "cuts", "reason": s["reason"]} for s in report.skipped[n_skips:]]
        cuts_summary = stage.write_cuts(out_dir, reports_dir, videos, cut_rows, rejects)
        if step == "cuts":
            report.write(reports_dir)
            return cuts_summary
    else:
        cut_rows = stage.read_cuts(out_dir)

    # 3. one task per (extractor, video) (§5.2.1); extractors reading other extractors' tables
    #    (DEPENDS: the text models read asr/ocr) run in a second wave with those tables passed in
    #    (from this run, or from their own stage's folder)
    run_specs = specs if step is None else [step] if step in specs else []  # a listed-out extractor writes empty outputs
    plan, failed = stage.plan_extractors(p, run_specs)  # (spec, name, module, ref, version); a missing model skips once
    rejects_of: dict = {spec: [] for spec in ([step] if step else specs)}

    def skip(spec, video_id, name, reason):
        rejects_of[spec].append({"video_id": video_id, "step": name, "reason": reason})
        report.skip(f"{name}/{video_id}", reason)

    for spec, reason in failed:
        skip(spec, "*", spec, reason)
    spec_of = {name: spec for spec, name, *_ in plan}
    results: dict = {}
    waves = [[x for x in plan if not getattr(x[2], "DEPENDS", ())], [x for x in plan if getattr(x[2], "DEPENDS", ())]]
    ex_task = extract_task.with_options(refresh_cache=True) if refresh_cache else extract_task
    for wave in waves:
        jobs = stage.extraction_jobs(p, wave, videos, cut_rows, results, out_dir, skip)
        n_skips = len(report.skipped)
        futures = [(job, ex_task.submit(job, upstream)) for job, upstream in jobs]
        results.update(collect(futures, report, key=lambda j: f"{j['name']}/{j['video_id']}"))
        for s in report.skipped[n_skips:]:
            name, _, vid = s["item"].partition("/")
            rejects_of[spec_of[name]].append({"video_id": vid, "step": name, "reason": s["reason"]})

    # 4. each extractor's table, rejects and report; all steps: the merged report
    names = {spec: name for spec, name, *_ in plan}
    weights = stage.weights_of({spec: ref for spec, _, _, ref, _ in plan})  # real / demo / random per extractor, for the reports
    out = {
        spec: stage.write_extractor(out_dir, reports_dir, spec, names.get(spec), videos, results, rejects_of[spec], weights.get(spec))
        for spec in rejects_of
    }
    report.write(reports_dir)
    return stage.write_summary(out_dir, reports_dir, specs) if step is None else out[step]


def run(params_path: str | None = None, runner: str | None = None, refresh_cache: bool = False, step: str | None = None) -> dict:
    p = load_params(params_path)
    kind = runner or p.features.task_runner
    # the EMSYNC_DASK switch (emsync.pipeline.flowkit.dask_runner), when set, wins over features.task_runner
    task_runner = dask_runner() or make_task_runner(kind, p.features.dask_workers, p.features.dask_threads)
    f = features_flow.with_options(task_runner=task_runner) if task_runner else features_flow
    return f(params_path=str(params_path) if params_path else None, refresh_cache=refresh_cache, step=step)


def _add_args(ap):
    ap.add_argument("--runner", choices=["default", "dask"], default=None, help="override features.task_runner")
    ap.add_argument("--refresh-cache", action="store_true", help="recompute every task (ignore cached results)")
    one = ap.add_mutually_exclusive_group()
    one.add_argument("--cuts", action="store_const", const="cuts", dest="step", help="scene cuts only (DVC stage features_cuts)")
    one.add_argument("--extractor", dest="step", metavar="NAME", help="one extractor only (DVC stage features_NAME)")
    one.add_argument("--report", action="store_const", const="report", dest="step", help="merge the steps' reports (DVC stage features)")


def _stages(a) -> list:
    """The DVC stages whose outputs this run writes: all of them without a step. A plugin extractor
    (named by its module path) has no stage of its own: its tables are the features stage's."""
    from emsync.pipeline.stages import is_stage

    if a.step is None:
        own = [f"features_{x}" for x in load_params(a.params).features.extractors]
        return ["features_cuts", *(s for s in own if is_stage(s)), "features"]
    one = f"features_{a.step}"
    return [one if a.step != "report" and is_stage(one) else "features"]


def _summary(s: dict, p) -> str:
    step = s["step"]
    if step in (None, "report"):
        return f"features: {s['videos']} videos, {s['cuts']['cuts']} cuts, {len(s['extractors'])} extractors, {s['rejects']} rejects -> reports/features.md"
    if step == "cuts":
        return f"features_cuts: {s['videos']} videos, {s['cuts']['cuts']} cuts, {s['cuts']['boundaries']} boundaries"
    return f"features_{step}: " + (
        f"{s['videos']} videos, {s['rows']} rows" if s["ran"] else "not run (not in features.extractors, or its model failed)"
    )


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main(
        "features",
        run=lambda p, a: {**run(a.params, a.runner, a.refresh_cache, a.step), "step": a.step},
        add_args=_add_args,
        stages=_stages,
        summary=_summary,
        description=__doc__.splitlines()[0],
    )
