"""labeling stage (§3.1, §4.3): validate, dedup, match and label the MIDI corpus.

    python -m flows.labeling            # what `dvc repro labeling` runs

Outputs: data/labeling/{files,rejects,matches,labels}.parquet (keyed by midi_id),
data/labeling/json/<midi_id>.json (Listing 3.1), reports/labeling.md, reports/labeling_metrics.json,
reports/labeling_{valence,arousal}.png; run report reports/runs/labeling.json.
"""

import dataclasses

from prefect import flow
from prefect.task_runners import ThreadPoolTaskRunner

from emsync.core.config import load_params
from emsync.core.errors import InputError
from emsync.pipeline.flowkit import RunReport, map_items, run_task
from emsync.core.io import file_digest, frame_digest
from emsync.labeling import stage
from emsync.pipeline.stages import stage_digest
from emsync.tasks import labeling as T


# one shard at a time: each shard task already uses `workers` processes
@flow(name="labeling", task_runner=ThreadPoolTaskRunner(max_workers=1))
def labeling_flow(params=None):
    p = params or load_params()
    c = p.labeling
    report = RunReport("labeling")
    code = stage_digest("labeling")
    midi_dir = p.path(c.midi_dir)
    paths = stage.midi_paths(midi_dir)

    # 1. validate + hash + features, one cached task per shard of files
    jobs, opts = stage.inspect_jobs(p, paths)
    shards = map_items(T.inspect_shard, jobs, report, desc="inspect", key=lambda j: j["shard"], opts=opts, code=code)
    rows = stage.rekey(midi_dir, [r for k in sorted(shards) for r in shards[k]])
    valid, rejects = stage.split_scan(rows)
    for r in rejects.itertuples(index=False):
        report.skip(r.midi_id, f"{r.reason}: {r.detail}")

    # 2. dedup + matching
    sp, mp, kp = (p.path(x) for x in (c.match_scores, c.msd_metadata, c.spotify_map))
    sources = (str(sp), file_digest(sp), str(mp), file_digest(mp), str(kp), file_digest(kp))
    files, matches = run_task(T.match_and_dedup, report, valid, frame_digest(valid), *sources, code)

    # 3. audio features: archive table or the Web API (+ search fallback)
    if c.audio_features_source == "archive":
        ap = p.path(c.audio_features_archive)
        audio = run_task(T.archive_features, report, matches, frame_digest(matches), str(ap), file_digest(ap), code)
        for col in ("spotify_title", "spotify_artist", "spotify_album", "search_query"):
            matches[col] = None
    elif c.audio_features_source == "api":
        api = {"cache_dir": str(p.path(c.spotify_cache_dir)), "api_base": c.spotify_api_base, "token_url": c.spotify_token_url}
        matches, audio, n_calls = T.api_features(matches, api, c.spotify_search)
        print(f"labeling: {n_calls} Spotify API calls")
    else:
        raise InputError(f"labeling.audio_features_source: {c.audio_features_source!r} is not archive or api")

    # 4. labels; 5. checks, then every output atomically
    digests = [frame_digest(x) for x in (files, matches, audio)]
    labels = run_task(T.labels, report, files, matches, audio, digests, dataclasses.asdict(c), code)
    m = stage.write_outputs(p, files, rejects, matches, audio, labels, valid)
    report.write(p.path(p.paths.reports_dir))
    return m


def _summary(m: dict, p) -> str:
    return (
        f"labeling: {m['files']} files, {m['valid']} valid, {m['unique']} unique, {m['matched']} matched, "
        f"{m['with_valence']} with valence, {m['with_arousal']} with arousal"
    )


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main("labeling", labeling_flow, dask=True, summary=_summary)
