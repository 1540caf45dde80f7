"""Feature stage (§5.1, §5.2.1): scene cuts and one pretrained-feature table per extractor.

For every video in `features.videos_dir`:
- `data/features/cuts.parquet`: video_id, duration, fps, method, cuts (raw), boundaries (after the
  4 s difference filter);
- `data/features/<extractor>/<video_id>.parquet`: one cached task per (extractor, video);
- `data/features/rejects.parquet`: video_id, step, reason for every video/step that was skipped;
- `reports/features.md` (+ `.json`): rows per table, seconds per video-minute per extractor;
The store stage then refreshes the DuckDB views. A bad video is a recorded skip, never a stopped flow.

    python -m flows.features                  # params.yaml; features.task_runner: default | dask
    python -m flows.features --runner dask --refresh-cache
"""

import argparse

from prefect import flow

from emsync import env
from emsync.config import load_params
from emsync.errors import InputError
from emsync.flowkit import RunReport, collect, dask_runner, map_items
from emsync.io import file_digest
from emsync.video import stage
from emsync.stages import module_digest
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
def features_flow(params_path: str | None = None, refresh_cache: bool = False) -> dict:
    """Cuts + every extractor on every video; returns the summary dict (also reports/features.json)."""
    from emsync.video import cuts as cuts_mod
    from emsync.video import probe as probe_mod
    from emsync.video import sampling as sampling_mod
    from emsync.video.probe import probe

    p = load_params(params_path)
    data_dir, reports_dir = p.path(p.paths.data_dir), p.path(p.paths.reports_dir)
    out_dir = data_dir / "features"
    report = RunReport("features")
    rejects: list[dict] = []

    def skip(video_id, step, reason):
        rejects.append({"video_id": video_id, "step": step, "reason": reason})
        report.skip(f"{step}/{video_id}", reason)

    # 1. probe: unreadable, zero-length or stream-less files are rejected once, here
    videos = {}
    for path in stage.list_videos(p.path(p.features.videos_dir)):
        try:
            info = probe(path)
        except InputError as e:
            skip(path.stem, "probe", str(e))
            continue
        videos[path.stem] = {
            "video_id": path.stem,
            "rel_path": stage.rel_path(path),
            "digest": file_digest(path),
            "duration": info.duration,
        }

    # 2. scene cuts (§5.1)
    cuts_code = module_digest(cuts_mod, probe_mod)
    cut_jobs = [
        dict(video_id=v["video_id"], rel_path=v["rel_path"], digest=v["digest"], threshold=p.video.scene_threshold,
             min_gap_s=p.video.min_boundary_gap_s, method=p.video.cut_method, code=cuts_code)
        for v in videos.values()
    ]  # fmt: skip
    cut_task = cuts_task.with_options(refresh_cache=True) if refresh_cache else cuts_task
    n_skips = len(report.skipped)
    cut_rows = map_items(cut_task, cut_jobs, report, desc="cuts", key=lambda j: j["video_id"])
    for s in report.skipped[n_skips:]:
        rejects.append({"video_id": s["item"], "step": "cuts", "reason": s["reason"]})

    # 3. one task per (extractor, video) (§5.2.1); extractors reading other extractors' tables
    #    (DEPENDS: the text models read asr/ocr) run in a second wave with those tables passed in
    plan, failed = stage.plan_extractors(p)  # (spec, name, module, ref, version); a missing model skips once
    for spec, reason in failed:
        skip("*", spec, reason)
    extractor_names = [name for _, name, *_ in plan]
    results: dict = {}
    waves = [[x for x in plan if not getattr(x[2], "DEPENDS", ())], [x for x in plan if getattr(x[2], "DEPENDS", ())]]
    ex_task = extract_task.with_options(refresh_cache=True) if refresh_cache else extract_task
    for wave in waves:
        jobs = []
        for spec, name, mod, ref, version in wave:
            code = module_digest(mod, sampling_mod, probe_mod)
            sampling = stage.sampling_for(p, name, text_only=bool(getattr(mod, "DEPENDS", ())))
            for v in videos.values():
                vid = v["video_id"]
                if sampling["mode"] == "mid_scene" and vid not in cut_rows:
                    skip(vid, name, "mid-scene sampling needs the scene cuts, which failed")
                    continue
                upstream = None
                if getattr(mod, "DEPENDS", ()):
                    upstream, missing = stage.upstream_tables(mod.DEPENDS, vid, results, out_dir)
                    if missing:
                        skip(vid, name, f"needs the {', '.join(missing)} table(s) of this video, which failed or were not run")
                        continue
                job = dict(extractor=spec, name=name, video_id=vid, rel_path=v["rel_path"], digest=v["digest"], model_ref=ref,
                           model_version=version, device=p.features.device, sampling=sampling, code=code,
                           boundaries=cut_rows[vid]["cuts"] if sampling["mode"] == "mid_scene" else None,
                           upstream_digest=stage.frames_digest(upstream) if upstream is not None else None)  # fmt: skip
                jobs.append((job, upstream))
        n_skips = len(report.skipped)
        futures = [(job, ex_task.submit(job, upstream)) for job, upstream in jobs]
        results.update(collect(futures, report, key=lambda j: f"{j['name']}/{j['video_id']}"))
        for s in report.skipped[n_skips:]:
            name, _, vid = s["item"].partition("/")
            rejects.append({"video_id": vid, "step": name, "reason": s["reason"]})

    # 4. write the tables from the returned values
    summary = stage.write_outputs(out_dir, reports_dir, videos, cut_rows, results, extractor_names, rejects)
    report.write(reports_dir)
    return summary


def run(params_path: str | None = None, runner: str | None = None, refresh_cache: bool = False) -> dict:
    p = load_params(params_path)
    kind = runner or p.features.task_runner
    # the EMSYNC_DASK switch (emsync.flowkit.dask_runner), when set, wins over features.task_runner
    task_runner = dask_runner() or make_task_runner(kind, p.features.dask_workers, p.features.dask_threads)
    f = features_flow.with_options(task_runner=task_runner) if task_runner else features_flow
    return f(params_path=str(params_path) if params_path else None, refresh_cache=refresh_cache)


if __name__ == "__main__":
    from emsync.runguard import enter_stage

    env.apply_defaults()
    enter_stage("features")  # share DVC's lock; exit with the parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--params", default=None, help="params file (default: EMSYNC_PARAMS or params.yaml)")
    ap.add_argument("--runner", choices=["default", "dask"], default=None, help="override features.task_runner")
    ap.add_argument("--refresh-cache", action="store_true", help="recompute every task (ignore cached results)")
    a = ap.parse_args()
    s = run(a.params, a.runner, a.refresh_cache)
    print(
        f"features: {s['videos']} videos, {s['cuts']['cuts']} cuts, {len(s['extractors'])} extractors, {s['rejects']} rejects -> reports/features.md"
    )
