"""demo_data stage: build the embedded, seeded, offline demo corpus in data/demo/.

    python -m flows.demo_data          # what `dvc repro demo_data` runs

Outputs (layout in docs/data_layout.md): midi/<md5>.mid, lmd/{msd_metadata.parquet,
match_scores.json, echonest_to_spotify.csv, spotify_features.csv, spotify_catalog.json},
videos/<video_id>.mp4, audio/<midi md5>.wav, goemotions/{train,dev,test}.tsv + emotions.txt,
ground_truth/{midi,lmd,videos,audio}.json. One cached task per MIDI file / video / render, so a
re-run is all cache hits and a killed run resumes where it stopped. Run report:
reports/runs/demo_data.json.
"""

from pathlib import Path

from prefect import flow

from emsync.core.config import load_params
from emsync.pipeline.flowkit import RunReport, cpu_task_runner, map_items, run_task
from emsync.pipeline.stages import stage_digest
from emsync.core.io import write_bytes, write_json
from emsync.tasks.demo_data import demo_audio, demo_goemotions, demo_lmd_tables, demo_midi, demo_video

MSD_CHECKS = [
    ("row_count_between", 1, None),
    ("not_null", "track_id"),
    ("unique", "track_id"),
    ("regex", "track_id", r"^TR[A-Z0-9]{16}$"),
    ("between", "duration", 0.0, None),
]
ARCHIVE_CHECKS = [
    ("row_count_between", 1, None),
    ("not_null", "track_id"),
    ("unique", "track_id"),
    ("between", "valence", 0.0, 1.0),
    ("between", "tempo", 0.0, 300.0),
]


def _write_all(folder: Path, files: dict, pattern: str):
    """Write {name: bytes} into `folder` and delete files matching `pattern` that are not listed
    (a smaller corpus after a params change must not keep stale files)."""
    for name, data in files.items():
        write_bytes(folder / name, data)
    for old in folder.glob(pattern):
        if old.name not in files:
            old.unlink()


@flow(name="demo_data", task_runner=cpu_task_runner())  # one render per core: 221 at once only queue on the server
def demo_data_flow(params=None):
    from emsync.demo.audio import audio_songs
    from emsync.demo.lmd_tables import write_lmd_tables
    from emsync.demo.midi_corpus import assemble_midi_ground_truth, md5, plan_midi_corpus
    from emsync.demo.text import write_goemotions
    from emsync.demo.videos import video_id

    p = params or load_params()
    dp = p.demo_data
    out = p.path(dp.out_dir)
    gt_dir = out / "ground_truth"
    report = RunReport("demo_data")
    code = stage_digest("demo_data")

    # MIDI corpus: one task per file
    plan = plan_midi_corpus(dp.seed, dp.n_midi, dp.n_duplicates, dp.n_corrupt, dp.n_truncated, dp.n_zero_notes)
    key = lambda it: f"{it['kind']}-{it['index']}-{it.get('variant', 0)}"  # noqa: E731
    res = map_items(demo_midi, plan, report, desc="demo midi", key=key, seed=dp.seed, code=code)
    rendered = [(it, *res[key(it)]) for it in plan if key(it) in res]
    midi_gt = assemble_midi_ground_truth(rendered)
    _write_all(out / "midi", {f"{md5(b)}.mid": b for _, b, _ in rendered}, "*.mid")
    write_json(gt_dir / "midi.json", midi_gt)

    # LMD / MSD / Spotify tables
    from emsync.pipeline.checks import check_table

    tables = run_task(demo_lmd_tables, report, midi_gt, dp.seed, code)
    reports = p.path(p.paths.reports_dir)
    check_table(tables["msd_metadata"], "demo_msd_metadata", MSD_CHECKS, reports_dir=reports)
    check_table(tables["spotify_features"], "demo_spotify_features", ARCHIVE_CHECKS, reports_dir=reports)
    write_lmd_tables(out / "lmd", tables, gt_dir)

    # videos and audio renders
    vids = map_items(
        demo_video,
        list(range(dp.n_videos)),
        report,
        desc="demo videos",
        key=video_id,
        seed=dp.seed,
        min_s=dp.video_min_s,
        max_s=dp.video_max_s,
        code=code,
    )
    _write_all(out / "videos", {f"{v}.mp4": b for v, (b, _) in vids.items()}, "*.mp4")
    write_json(gt_dir / "videos.json", {v: e for v, (_, e) in sorted(vids.items())})
    auds = map_items(
        demo_audio, audio_songs(dp.seed, dp.n_audio), report, desc="demo audio", seed=dp.seed, sample_rate=dp.audio_sr, code=code
    )
    _write_all(out / "audio", {f"{e['midi_id']}.wav": b for b, e in auds.values()}, "*.wav")
    write_json(gt_dir / "audio.json", {e["midi_id"]: e for _, e in sorted(auds.values(), key=lambda x: x[1]["midi_id"])})

    # GoEmotions-format text
    write_goemotions(out / "goemotions", run_task(demo_goemotions, report, dp.seed, dp.n_text, code))

    report.write(reports)
    return {"midi": len(midi_gt["files"]), "videos": len(vids), "audio": len(auds), "report": report}


def _summary(r: dict, p) -> str:
    rep = r["report"]
    return (
        f"demo_data: {r['midi']} MIDI files, {r['videos']} videos, {r['audio']} audio renders; "
        f"{rep.cache_hits}/{rep.tasks} tasks cached, {len(rep.skipped)} skipped"
    )


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main("demo_data", demo_data_flow, summary=_summary)
