"""Feature stage (§5.1, §5.2.1): scene cuts and one pretrained-feature table per extractor.

For every video in `features.videos_dir`:
- `data/features/cuts.parquet`: video_id, duration, fps, method, cuts (raw), boundaries (after the
  4 s difference filter);
- `data/features/<extractor>/<video_id>.parquet`: one cached task per (extractor, video);
- `data/features/rejects.parquet`: video_id, step, reason for every video/step that was skipped;
- `reports/features.md` (+ `.json`): rows per table, seconds per video-minute per extractor;
then the DuckDB store is refreshed. A bad video is a recorded skip, never a stopped flow.

    python -m flows.features                  # params.yaml; features.task_runner: default | dask
    python -m flows.features --runner dask --refresh-cache
"""
import argparse
from pathlib import Path

import pandas as pd
from prefect import flow

from emsync import env, store
from emsync.checks import check_table
from emsync.config import ROOT, Params, load_params
from emsync.errors import InputError
from emsync.flowkit import RunReport, collect, map_items
from emsync.io import file_digest, write_json, write_parquet, write_text
from emsync.tasks.features import code_digest, cuts_task, extract_task, resolve_extractor

VIDEO_EXTS = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v"}
REJECT_COLUMNS = ["video_id", "step", "reason"]


def list_videos(videos_dir: Path) -> list[Path]:
    if not videos_dir.is_dir():
        raise InputError(f"{videos_dir}: videos folder not found (features.videos_dir); run the demo_data stage first")
    return sorted(p for p in videos_dir.iterdir() if p.suffix.lower() in VIDEO_EXTS and not p.name.startswith("."))


def _rel(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(ROOT))
    except ValueError:
        return str(p.resolve())


def make_task_runner(kind: str, workers: int = 1, threads: int = 2):
    """Prefect's default thread-pool runner, or a local Dask cluster (threads, processes=False)."""
    if kind == "default":
        return None
    if kind == "dask":
        import logging

        from prefect_dask import DaskTaskRunner

        logging.getLogger("distributed").setLevel(logging.WARNING)  # no per-worker INFO lines

        return DaskTaskRunner(cluster_kwargs={"n_workers": workers, "threads_per_worker": threads, "processes": False, "dashboard_address": None})
    raise InputError(f"features.task_runner: unknown runner {kind!r} (default | dask)")


def _sampling(p: Params, name: str, text_only: bool = False) -> dict:
    """How to sample a video for extractor `name`: the video section, overridden per extractor by
    features.sampling; text-only extractors (reading asr/ocr tables) decode nothing."""
    s = dict(n_frames=p.video.n_frames, mode=p.video.frame_mode, seed=p.video.seed, audio_sr=p.video.audio_sr,
             max_side=p.video.max_side, with_audio=True)  # fmt: skip
    if text_only:
        s.update(n_frames=0, mode="equidistant", with_audio=False)
    override = p.features.sampling.get(name, {})
    unknown = set(override) - set(s)
    if unknown:
        raise InputError(f"features.sampling.{name}: unknown keys {sorted(unknown)} (known: {sorted(s)})")
    return {**s, **override}


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
    for path in list_videos(p.path(p.features.videos_dir)):
        try:
            info = probe(path)
        except InputError as e:
            skip(path.stem, "probe", str(e))
            continue
        videos[path.stem] = {"video_id": path.stem, "rel_path": _rel(path), "digest": file_digest(path), "duration": info.duration}

    # 2. scene cuts (§5.1)
    cuts_code = code_digest(cuts_mod, probe_mod)
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
    plan = []  # (spec, name, module, ref, version)
    for spec in p.features.extractors:
        try:
            mod = resolve_extractor(spec)
            name = getattr(mod, "NAME", spec) if "." in spec else spec  # a module path's table is named by its NAME
            ref = p.features.models.get(name, getattr(mod, "DEFAULT_MODEL", ""))
            plan.append((spec, name, mod, ref, model_version(mod, ref)))
        except Exception as e:  # a missing model skips that extractor for every video, once
            skip("*", spec, f"{type(e).__name__}: {e}")
    extractor_names = [name for _, name, *_ in plan]
    results: dict = {}
    waves = [[x for x in plan if not getattr(x[2], "DEPENDS", ())], [x for x in plan if getattr(x[2], "DEPENDS", ())]]
    ex_task = extract_task.with_options(refresh_cache=True) if refresh_cache else extract_task
    for wave in waves:
        jobs = []
        for spec, name, mod, ref, version in wave:
            code = code_digest(mod, sampling_mod, probe_mod)
            sampling = _sampling(p, name, text_only=bool(getattr(mod, "DEPENDS", ())))
            for v in videos.values():
                vid = v["video_id"]
                if sampling["mode"] == "mid_scene" and vid not in cut_rows:
                    skip(vid, name, "mid-scene sampling needs the scene cuts, which failed")
                    continue
                upstream = None
                if getattr(mod, "DEPENDS", ()):
                    upstream, missing = _upstream(mod.DEPENDS, vid, results, out_dir)
                    if missing:
                        skip(vid, name, f"needs the {', '.join(missing)} table(s) of this video, which failed or were not run")
                        continue
                job = dict(extractor=spec, name=name, video_id=vid, rel_path=v["rel_path"], digest=v["digest"], model_ref=ref,
                           model_version=version, device=p.features.device, sampling=sampling, code=code,
                           boundaries=cut_rows[vid]["cuts"] if sampling["mode"] == "mid_scene" else None,
                           upstream_digest=_frames_digest(upstream) if upstream is not None else None)  # fmt: skip
                jobs.append((job, upstream))
        n_skips = len(report.skipped)
        futures = [(job, ex_task.submit(job, upstream)) for job, upstream in jobs]
        results.update(collect(futures, report, key=lambda j: f"{j['name']}/{j['video_id']}"))
        for s in report.skipped[n_skips:]:
            name, _, vid = s["item"].partition("/")
            rejects.append({"video_id": vid, "step": name, "reason": s["reason"]})

    # 4. write the tables from the returned values
    summary = write_outputs(out_dir, reports_dir, videos, cut_rows, results, extractor_names, rejects)
    report.write(reports_dir)
    store.refresh(p.path(p.paths.store), data_dir)
    return summary


def model_version(mod, ref) -> str:
    """The model's version for the cache key (weights digest / hub commit / package version per
    role). Raises InputError when a model cannot be found, before any video is touched."""
    from emsync.video.loading import resolve

    if isinstance(ref, dict) or isinstance(getattr(mod, "DEFAULT_MODEL", None), dict):
        from emsync.video.extractors import merge_refs

        refs = merge_refs(mod.DEFAULT_MODEL, ref)
        return ";".join(f"{role}={resolve(r)[2] if r and r != 'none' else 'none'}" for role, r in sorted(refs.items()))
    return resolve(ref)[2] if ref and ref != "none" else ""


def _upstream(depends, video_id: str, results: dict, out_dir: Path):
    """({name: this video's table}, [missing names]) from this run's results, else from disk."""
    tables, missing = {}, []
    for dep in depends:
        if f"{dep}/{video_id}" in results:
            tables[dep] = results[f"{dep}/{video_id}"]["table"]
        elif (out_dir / dep / f"{video_id}.parquet").exists():
            tables[dep] = pd.read_parquet(out_dir / dep / f"{video_id}.parquet")
        else:
            missing.append(dep)
    return tables, missing


def _frames_digest(tables: dict) -> str:
    import hashlib

    h = hashlib.md5()
    for name in sorted(tables):
        h.update(name.encode())
        h.update(tables[name].to_json(orient="split", default_handler=str).encode())
    return h.hexdigest()


def write_outputs(out_dir: Path, reports_dir: Path, videos: dict, cut_rows: dict, results: dict, extractors: list, rejects: list) -> dict:
    cols = ["video_id", "duration", "fps", "method", "cuts", "boundaries"]
    cuts_df = pd.DataFrame([{c: cut_rows[k][c] for c in cols} for k in sorted(cut_rows)], columns=cols)
    check_table(cuts_df, "features_cuts", [("not_null", "video_id"), ("unique", "video_id"), ("between", "duration", 0.0, None)])
    write_parquet(out_dir / "cuts.parquet", cuts_df)
    write_parquet(out_dir / "rejects.parquet", pd.DataFrame(rejects, columns=REJECT_COLUMNS).sort_values(["step", "video_id"]))

    per_extractor = {}
    for name in extractors:
        mine = {k.partition("/")[2]: r for k, r in results.items() if k.partition("/")[0] == name}
        folder = out_dir / name
        for vid in sorted(mine):
            write_parquet(folder / f"{vid}.parquet", mine[vid]["table"])
        for stale in folder.glob("*.parquet") if folder.exists() else []:  # videos gone or now skipped
            if stale.stem not in mine:
                stale.unlink()
        if mine:
            check_table(pd.concat([r["table"] for r in mine.values()]), f"features_{name}", [("not_null", "video_id")])
        minutes = sum(videos[v]["duration"] for v in mine) / 60
        decode = sum(r["decode_s"] for r in mine.values())
        extract = sum(r["extract_s"] for r in mine.values())
        per_extractor[name] = {
            "videos": len(mine),
            "rows": int(sum(len(r["table"]) for r in mine.values())),
            "video_minutes": round(minutes, 3),
            "decode_s": round(decode, 2),
            "extract_s": round(extract, 2),
            "load_s": round(max((r["load_s"] for r in mine.values()), default=0.0), 2),
            "s_per_video_minute": round((decode + extract) / minutes, 2) if minutes else None,
        }
    summary = {
        "videos": len(videos),
        "cuts": {"videos": len(cuts_df), "cuts": int(cuts_df["cuts"].map(len).sum()), "boundaries": int(cuts_df["boundaries"].map(len).sum()),
                 "seconds": round(sum(r["seconds"] for r in cut_rows.values()), 2)},
        "extractors": per_extractor,
        "rejects": len(rejects),
    }  # fmt: skip
    write_json(reports_dir / "features.json", summary)
    write_text(reports_dir / "features.md", summary_markdown(summary, rejects))
    return summary


def summary_markdown(summary: dict, rejects: list) -> str:
    c = summary["cuts"]
    lines = [
        "# Feature stage summary",
        "",
        f"{summary['videos']} readable videos; scene cuts on {c['videos']}: {c['cuts']} cuts, {c['boundaries']} boundaries "
        f"after the 4 s filter ({c['seconds']} s).",
        "",
        "Seconds are each task's wall time on the machine that computed it (kept through cache hits): decoding + sampling, "
        "then the model, with tasks running concurrently on the task runner (so on few cores they include waiting); model "
        "loading is listed apart. `emsync bench features` gives sequential per-extractor figures.",
        "",
        "| table | videos | rows | video-min | decode s | extract s | s / video-min | model load s |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e in summary["extractors"].items():
        lines.append(f"| features_{name} | {e['videos']} | {e['rows']} | {e['video_minutes']} | {e['decode_s']} | {e['extract_s']} | "
                     f"{e['s_per_video_minute']} | {e['load_s']} |")  # fmt: skip
    lines += ["", f"## Rejects ({len(rejects)})", ""]
    if rejects:
        lines += ["| video_id | step | reason |", "|---|---|---|"]
        lines += [f"| {r['video_id']} | {r['step']} | {str(r['reason']).replace('|', '/')[:200]} |" for r in rejects]
    else:
        lines.append("none")
    return "\n".join(lines) + "\n"


def run(params_path: str | None = None, runner: str | None = None, refresh_cache: bool = False) -> dict:
    p = load_params(params_path)
    kind = runner or p.features.task_runner
    task_runner = make_task_runner(kind, p.features.dask_workers, p.features.dask_threads)
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
    print(f"features: {s['videos']} videos, {s['cuts']['cuts']} cuts, {len(s['extractors'])} extractors, {s['rejects']} rejects -> reports/features.md")
