"""labeling stage (§3.1, §4.3): validate, dedup, match and label the MIDI corpus.

    python -m flows.labeling            # what `dvc repro labeling` runs

Outputs: data/labeling/{files,rejects,matches,labels}.parquet (keyed by midi_id),
data/labeling/json/<midi_id>.json (Listing 3.1), reports/labeling.md, reports/labeling_metrics.json,
reports/labeling_{valence,arousal}.png; run report reports/runs/labeling.json.
"""

import dataclasses
import shutil

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from emsync.config import load_params
from emsync.errors import InputError
from emsync.flowkit import RunReport, map_items, run_task
from emsync.io import file_digest, write_json, write_parquet
from emsync.labeling import report as rep
from emsync.labeling import stage
from emsync.labeling.midi import REASONS
from emsync.labeling.scan import list_midi
from emsync.stages import stage_digest
from emsync.tasks import labeling as T

FILES_CHECKS = [
    ("row_count_between", 1, None),
    ("not_null", "midi_id"),
    ("unique", "midi_id"),
    ("not_null", "content_hash"),
    ("between", "n_notes", 1, None),
    ("between", "tempo", 0.0, None),
    ("not_null", "is_unique"),
]
REJECTS_CHECKS = [("not_null", "midi_id"), ("unique", "midi_id"), ("in_set", "reason", list(REASONS))]
MATCHES_CHECKS = [
    ("not_null", "midi_id"),
    ("unique", "midi_id"),
    ("not_null", "track_id"),
    ("between", "match_score", 0.0, 1.0),
    ("in_set", "spotify_source", ["map", "search", None]),
]
LABELS_CHECKS = [
    ("row_count_between", 1, None),
    ("not_null", "midi_id"),
    ("unique", "midi_id"),
    ("between", "valence", -1.0, 1.0),
    ("between", "arousal", -1.0, 1.0),
    ("in_set", "split", ["train", "test"]),
]


# one shard at a time: each shard task already uses `workers` processes
@flow(name="labeling", task_runner=ThreadPoolTaskRunner(max_workers=1))
def labeling_flow(params=None):
    from emsync.checks import check_table

    p = params or load_params()
    c = p.labeling
    out = p.path(p.paths.data_dir) / "labeling"
    reports = p.path(p.paths.reports_dir)
    report = RunReport("labeling")
    code = stage_digest("labeling")
    midi_dir = p.path(c.midi_dir)
    paths = list_midi(midi_dir)
    if not paths:
        raise InputError(f"{midi_dir}: no MIDI files (.mid/.midi/.kar) found")

    # 1. validate + hash + features, one cached task per shard of files
    opts = {
        "workers": c.workers,
        "fast": c.fast_hash,
        "verify_every": c.verify_every,
        "fs": c.roll_fs,
        "max_tempo_bpm": c.max_tempo_bpm,
        "max_duration_s": c.max_duration_s,
        "max_bytes": int(p.limits.max_midi_mb * 2**20),
    }
    jobs = [
        {
            "shard": k,
            "paths": [str(x) for x in paths[i : i + c.shard_size]],
            "digests": [file_digest(x) for x in paths[i : i + c.shard_size]],
        }
        for k, i in enumerate(range(0, len(paths), c.shard_size))
    ]
    shards = map_items(T.inspect_shard, jobs, report, desc="inspect", key=lambda j: j["shard"], opts=opts, code=code)
    rows = stage.rekey(midi_dir, [r for k in sorted(shards) for r in shards[k]])
    valid, rejects = stage.split_scan(rows)
    for r in rejects.itertuples(index=False):
        report.skip(r.midi_id, f"{r.reason}: {r.detail}")

    # 2. dedup + matching
    sp, mp, kp = (p.path(x) for x in (c.match_scores, c.msd_metadata, c.spotify_map))
    files, matches = run_task(
        T.match_and_dedup,
        report,
        valid,
        T.frame_digest(valid),
        str(sp),
        file_digest(sp),
        str(mp),
        file_digest(mp),
        str(kp),
        file_digest(kp),
        code,
    )

    # 3. audio features: archive table or the Web API (+ search fallback)
    if c.audio_features_source == "archive":
        ap = p.path(c.audio_features_archive)
        audio = run_task(T.archive_features, report, matches, T.frame_digest(matches), str(ap), file_digest(ap), code)
        for col in ("spotify_title", "spotify_artist", "spotify_album", "search_query"):
            matches[col] = None
    elif c.audio_features_source == "api":
        api = {"cache_dir": str(p.path(c.spotify_cache_dir)), "api_base": c.spotify_api_base, "token_url": c.spotify_token_url}
        matches, audio, n_calls = T.api_features(matches, api, c.spotify_search)
        print(f"labeling: {n_calls} Spotify API calls")
    else:
        raise InputError(f"labeling.audio_features_source: {c.audio_features_source!r} is not archive or api")

    # 4. labels
    digests = [T.frame_digest(x) for x in (files, matches, audio)]
    labels = run_task(T.labels, report, files, matches, audio, digests, dataclasses.asdict(c), code)

    # 5. checks, then write every output atomically
    check_table(files, "labeling_files", FILES_CHECKS, reports)
    check_table(rejects, "labeling_rejects", REJECTS_CHECKS, reports)
    check_table(matches, "labeling_matches", MATCHES_CHECKS, reports)
    check_table(labels, "labeling_labels", LABELS_CHECKS, reports)
    write_parquet(out / "files.parquet", files)
    write_parquet(out / "rejects.parquet", rejects)
    write_parquet(out / "matches.parquet", matches.merge(audio, on="midi_id", how="left"))
    write_parquet(out / "labels.parquet", labels)
    jdir = out / "json"
    if jdir.exists():
        shutil.rmtree(jdir)
    if c.json_export:
        for mid, entry in stage.json_entries(files, matches, audio).items():
            write_json(jdir / f"{mid}.json", entry)
    m = rep.metrics(valid, rejects, labels, audio)
    rep.write_report(m, labels, reports, c.arousal_feature)
    report.write(reports)
    return m


def _summary(m: dict, p) -> str:
    return (
        f"labeling: {m['files']} files, {m['valid']} valid, {m['unique']} unique, {m['matched']} matched, "
        f"{m['with_valence']} with valence, {m['with_arousal']} with arousal"
    )


if __name__ == "__main__":
    from emsync import flowkit

    flowkit.main("labeling", labeling_flow, dask=True, summary=_summary)
