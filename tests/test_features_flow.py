"""The feature flow end to end (flows/features.py): tables, rejects for bad videos, the summary,
all cache hits on a re-run, and a Dask run equal to the default run."""

import json
import os
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from _project import run_module

from _videos import cut_video, scenes

pytestmark = pytest.mark.slow


def _run(ws: Path, *args):
    run_module(ws, "flows.features", "--params", ws / "params.yaml", *args, results=ws / "results")
    return json.loads((ws / "reports" / "runs" / "features.json").read_text())


def _rejects(ws: Path) -> pd.DataFrame:
    """Every step's rejects (data/features/rejects/<step>.parquet, one per DVC stage)."""
    return pd.concat([pd.read_parquet(p) for p in sorted((ws / "data" / "features" / "rejects").glob("*.parquet"))], ignore_index=True)


def _tables(ws: Path) -> dict:
    return {str(p.relative_to(ws / "data" / "features")): pd.read_parquet(p) for p in sorted((ws / "data" / "features").rglob("*.parquet"))}


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    ws = tmp_path_factory.mktemp("features_flow")
    v = ws / "videos"
    v.mkdir()
    cut_video(v / "scenes.mp4", [2.0, 4.0, 1.0, 3.0], size="160x120")  # cuts 2, 6, 7 -> boundaries 6 (2 is < 4 s from the start)
    scenes(v / "mute.mkv", [("testsrc2", 3.0)], size="96x64", audio=None)
    (v / "empty.mp4").write_bytes(b"")
    (v / "junk.mp4").write_bytes(os.urandom(4000))
    (v / "notes.txt").write_text("not a video")  # ignored: not a video extension
    (ws / "params.yaml").write_text(
        "paths: {data_dir: data, reports_dir: reports, store: data/emsync.duckdb}\n"
        f"features: {{videos_dir: {v}, extractors: [tests._video_statsum_extractor, tests._video_stats_extractor, tests._no_such_extractor]}}\n"
        "video: {n_frames: 8, frame_mode: equidistant, cut_method: pyav}\n"
    )
    first = _run(ws)
    return ws, first, _tables(ws)


def test_tables_rejects_and_summary(ws):
    ws, first, tables = ws
    cuts = tables["cuts.parquet"].set_index("video_id")
    assert sorted(cuts.index) == ["mute", "scenes"]
    assert list(cuts.loc["scenes", "cuts"]) == pytest.approx([2.0, 6.0, 7.0], abs=1e-3)
    assert list(cuts.loc["scenes", "boundaries"]) == pytest.approx([6.0], abs=1e-3)
    assert list(cuts.loc["mute", "cuts"]) == [] and cuts.loc["mute", "duration"] == pytest.approx(3.0, abs=0.05)
    for vid in ("scenes", "mute"):
        t = tables[f"stats/{vid}.parquet"]
        assert len(t) == 8 and list(t.columns) == ["video_id", "t", "embedding", "model_id", "model_version"]
        assert (t["video_id"] == vid).all() and t["t"].is_monotonic_increasing
    assert all(e[3] == 0 for e in tables["stats/mute.parquet"]["embedding"])  # no audio stream -> silent chunks
    assert min(e[3] for e in tables["stats/scenes.parquet"]["embedding"]) > 0.05  # the sine (amplitude 1/8) RMS
    rejects = _rejects(ws)
    assert sorted(zip(rejects["video_id"], rejects["step"])) == [("*", "tests._no_such_extractor"), ("empty", "probe"), ("junk", "probe")]
    assert rejects.set_index("video_id").loc["empty", "reason"].endswith("empty.mp4: empty file (0 bytes)")
    # the DEPENDS extractor ran after the one it reads, on its returned table
    for vid in ("scenes", "mute"):
        summ = tables[f"statsum/{vid}.parquet"]
        assert summ["n_rows"].tolist() == [8]
        assert summ["embedding"][0] == pytest.approx(np.mean(np.stack(tables[f"stats/{vid}.parquet"]["embedding"]), axis=0), abs=1e-6)
    assert first["tasks"] == 6 and first["cache_hits"] == 0 and len(first["skipped"]) == 3
    md = (ws / "reports" / "features.md").read_text()
    assert "| features_stats | **unknown**: none | 2 | 16 | 0.217 |" in md and "## Rejects (3)" in md  # a plugin names no weights
    summary = json.loads((ws / "reports" / "features.json").read_text())
    assert summary["extractors"]["stats"]["s_per_video_minute"] > 0
    import duckdb

    from emsync.pipeline import store

    assert not (ws / "data" / "emsync.duckdb").exists()  # the store stage's output, not this stage's
    with pytest.MonkeyPatch.context() as mp:  # views hold project-relative paths
        mp.chdir(ws)
        mp.setenv("EMSYNC_ROOT", str(ws))
        store.refresh(ws / "data" / "emsync.duckdb", ws / "data")  # what the store stage runs next
        con = duckdb.connect(str(ws / "data" / "emsync.duckdb"), read_only=True)
        try:
            assert con.execute("select count(*) from features_stats").fetchone()[0] == 16
            assert con.execute("select count(*) from features_cuts").fetchone()[0] == 2
            assert con.execute("select count(*) from features_rejects").fetchone()[0] == 3  # every step's, one view
        finally:
            con.close()


def test_rerun_is_all_cache_hits_with_identical_tables(ws):
    ws, _, tables = ws
    again = _run(ws)
    assert again["tasks"] == 6 and again["cache_hits"] == 6 and again["all_cached"]
    after = _tables(ws)
    assert after.keys() == tables.keys()
    for k in tables:
        pd.testing.assert_frame_equal(after[k], tables[k])


def test_one_step_at_a_time_equals_the_whole_flow(ws):
    """The DVC stages' commands (--cuts, --extractor NAME, --report) rebuild the same tables and
    report from the same cached tasks; the DEPENDS extractor reads its input from the other's folder."""
    ws, _, tables = ws
    md = (ws / "reports" / "features.md").read_text()
    for p in ws.glob("data/features/**/*.parquet"):
        p.unlink()
    (ws / "reports" / "features.md").unlink()
    steps = [("--cuts",), ("--extractor", "tests._video_stats_extractor"), ("--extractor", "tests._video_statsum_extractor")]
    runs = {}
    for step in steps:
        _run(ws, *step)
        runs[step[-1]] = json.loads((ws / "reports" / "runs" / f"features_{step[-1].lstrip('-')}.json").read_text())
    assert [runs[s[-1]]["cache_hits"] for s in steps] == [2, 2, 2]  # the same task keys as the whole flow's
    assert not list((ws / "data" / "features" / "rejects").glob("*no_such*"))  # the missing plugin's step did not run
    _run(ws, "--report")
    after = _tables(ws)
    assert after.keys() == {k for k in tables if "no_such" not in k}
    for k in after:
        pd.testing.assert_frame_equal(after[k], tables[k])
    report = (ws / "reports" / "features.md").read_text()
    assert report.split("## Rejects")[0] == md.split("## Rejects")[0] and "## Rejects (2)" in report


def test_dask_runner_equals_default_runner(ws):
    ws, _, tables = ws
    dask = _run(ws, "--runner", "dask", "--refresh-cache")
    assert dask["tasks"] == 6 and dask["cache_hits"] == 0  # really recomputed on the Dask cluster
    after = _tables(ws)
    assert after.keys() == tables.keys()
    for k in tables:
        pd.testing.assert_frame_equal(after[k], tables[k])


def test_truncated_video_is_a_recorded_reject(tmp_path):
    """A truncated file (header says 4 s, data stops at about 1 s): the extractors' frame sampling is
    rejected with the reason, instead of reading its last frame again for the missing positions."""
    v = tmp_path / "videos"
    v.mkdir()
    full = scenes(tmp_path / "full.mp4", [("testsrc2", 4.0)], size="96x64", extra=("-movflags", "+faststart"))
    (v / "trunc.mp4").write_bytes(full.read_bytes()[: full.stat().st_size // 3])
    (tmp_path / "params.yaml").write_text(
        "paths: {data_dir: data, reports_dir: reports, store: data/emsync.duckdb}\n"
        f"features: {{videos_dir: {v}, extractors: [tests._video_stats_extractor]}}\n"
        "video: {n_frames: 8, frame_mode: equidistant}\n"
    )
    _run(tmp_path)
    rejects = _rejects(tmp_path).set_index(["video_id", "step"])
    assert "trunc.mp4: truncated: frames decode only to" in rejects.loc[("trunc", "stats"), "reason"]
