"""The batch `soundtrack` stage (flows/soundtrack.py) end to end on a tiny random generator: the
data/soundtrack/<video_id>/<condition>.{mid,wav,mp4,json} layout, the Parquet table in the DuckDB
store, the bad inputs (no audio, no cuts, one frame, an empty file), the objective report, and a
re-run that is all cache hits and rebuilds deleted files."""

import json
from pathlib import Path

import pandas as pd
import pytest
import torch

from _model_helpers import tiny_checkpoint
from _project import run_module
from _videos import cut_video, ffmpeg
from emsync.models.audio_tagger import AudioTagger, AudioTaggerConfig
from emsync.models.emotion_regressor import EmotionRegressor, EmotionRegressorConfig, regressor_bytes
from emsync.music import vocab as V

pytestmark = pytest.mark.slow

CONDITIONS = ["emsync", "no_boundaries", "neutral", "random_emotion"]


def _run(ws: Path):
    run_module(ws, "flows.soundtrack", params_file=ws / "params.yaml", results=ws / "results")
    return json.loads((ws / "reports" / "runs" / "soundtrack.json").read_text())


@pytest.fixture(scope="module")
def ws(tmp_path_factory):
    ws = tmp_path_factory.mktemp("soundtrack_stage")
    v = ws / "videos"
    v.mkdir()
    cut_video(v / "cuts.mp4", [4.5, 4.5, 2.0], size="160x120")  # cuts 4.5, 9.0 -> both boundaries
    cut_video(v / "mute.mp4", [5.0], size="160x120", audio=None)  # no audio, no cuts
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x48:r=25", "-frames:v", "1", "-pix_fmt", "yuv420p", v / "oneframe.mp4")
    (v / "empty.mp4").write_bytes(b"")
    tiny_checkpoint(ws / "gen.pt", {V.shift_id(200): 4.0, V.CHORD: 3.0, V.on_id(V.PIANO, 60): 2.0})
    torch.manual_seed(0)  # tiny random music tagger and V/A regressor for the KL and emotion columns
    AudioTagger(AudioTaggerConfig(channels=[4, 8], d_embed=8, n_classes=5, chunk_s=2.0)).save_pretrained(ws / "tagger")
    reg = EmotionRegressor(EmotionRegressorConfig(n_layers=1, n_heads=2, d_model=16, d_ff=32, max_len=32)).eval()
    (ws / "reg.pt").write_bytes(regressor_bytes(reg))
    (ws / "params.yaml").write_text(
        "paths: {data_dir: data, reports_dir: reports, store: data/emsync.duckdb}\n"
        f"soundtrack: {{videos_dir: {v}, seed: 3, long_video_s: 8.0}}\n"  # cuts.mp4 (11 s) takes the one-at-a-time path
        f"generate: {{slide_stride: 16}}\ntrain: {{checkpoint: {ws}/gen.pt}}\n"  # the stage scores the pipeline's own train.checkpoint
        "classify: {emotion_checkpoint: none.pt}\n"
        "evaluate: {regressor_checkpoint: reg.pt}\n"
        f"features: {{models: {{music: {ws}/tagger}}}}\n"
        "video: {cut_method: pyav}\n"
    )
    first = _run(ws)
    return ws, first


def test_layout_and_table(ws):
    ws, first = ws
    data = ws / "data"
    table = pd.read_parquet(data / "soundtrack" / "soundtrack.parquet")
    for col in (
        "video_id",
        "condition",
        "valence",
        "arousal",
        "cuts",
        "chord_times",
        "timings",
        "mid_path",
        "wav_path",
        "mp4_path",
        "json_path",
    ):
        assert col in table.columns
    scored = sorted(set(table.video_id))
    assert "cuts" in scored and "mute" in scored and "empty" not in scored
    for vid in scored:
        assert list(table[table.video_id == vid].condition) == CONDITIONS
    for row in table.itertuples():
        for col in ("mid_path", "wav_path", "mp4_path", "json_path"):
            rel = getattr(row, col)
            assert not Path(rel).is_absolute() and rel == f"soundtrack/{row.video_id}/{row.condition}.{col[:-5]}"
            assert (data / rel).stat().st_size > 0
        rec = json.loads((data / row.json_path).read_text())
        assert rec["condition"] == row.condition and rec["valence"] == pytest.approx(row.valence)
        assert list(rec["chord_times"]) == pytest.approx(list(row.chord_times))
        assert "total" in json.loads(row.timings)
    cuts = table[table.video_id == "cuts"].set_index("condition")
    assert list(cuts.loc["emsync", "cuts"]) == pytest.approx([4.5, 9.0], abs=0.05)
    # conditions: no classifier checkpoint -> emsync reads the video with the packaged-model estimator
    # (test patterns: no face, no text -> neutral, said so); no_boundaries drops only the boundaries
    assert (cuts.loc["emsync", "valence"], cuts.loc["emsync", "arousal"]) == (0.0, 0.0)
    assert cuts.loc["emsync", "emotion_source"] == "estimator" and cuts.loc["neutral", "emotion_source"] == "neutral"
    rec = json.loads((data / cuts.loc["emsync", "json_path"]).read_text())
    assert rec["emotion_classifier"]["used"] and rec["emotion_classifier"]["source"] == "estimator"
    assert any("neutral by default" in x for x in rec["emotion_classifier"]["sees"])
    roles = {w["role"]: w["kind"] for w in rec["weights"]}  # the test generator records nothing: never shown as real
    assert roles["music generator"] == "unknown" and roles["facial expression"] == "real" and "music generator" in rec["weights_warning"]
    assert bool(cuts.loc["emsync", "conditioned_on_boundaries"]) and not bool(cuts.loc["no_boundaries", "conditioned_on_boundaries"])
    rv, ra = cuts.loc["random_emotion", "valence"], cuts.loc["random_emotion", "arousal"]
    assert (rv, ra) != (0.0, 0.0) and abs(rv) <= 0.8 and abs(ra) <= 0.8
    mute = table[table.video_id == "mute"]
    assert not mute.has_audio.any() and all(len(c) == 0 for c in mute.cuts)


def test_bad_inputs_are_recorded_not_fatal(ws):
    ws, first = ws
    skips = pd.read_parquet(ws / "data" / "soundtrack" / "skips.parquet")
    reasons = dict(zip(skips.video_id, skips.reason))
    assert "empty" in reasons and "empty.mp4" in reasons["empty"]
    table = pd.read_parquet(ws / "data" / "soundtrack" / "soundtrack.parquet")
    # one frame: scored, a 0.04 s soundtrack under every condition
    one = table[table.video_id == "oneframe"]
    assert list(one.condition) == CONDITIONS and (one.duration_s < 0.1).all()
    assert not any(s.startswith("oneframe") for s in skips.video_id)


def test_store_registers_the_table(ws, monkeypatch):
    import duckdb

    from emsync.pipeline import store

    ws, _ = ws
    monkeypatch.setenv("EMSYNC_ROOT", str(ws))  # views hold project-relative paths
    monkeypatch.chdir(ws)
    db = ws / "data" / "emsync.duckdb"
    tables = store.refresh(db, ws / "data")
    assert "soundtrack_soundtrack" in tables and "soundtrack_skips" in tables
    con = duckdb.connect(str(db), read_only=True)
    con.execute(f"SET file_search_path = '{ws}'")
    n = con.execute("SELECT count(*) FROM soundtrack_soundtrack WHERE condition = 'emsync'").fetchone()[0]
    assert n == len(pd.read_parquet(ws / "data" / "soundtrack" / "soundtrack.parquet").query("condition == 'emsync'"))


def test_report_and_metrics(ws):
    ws, _ = ws
    m = json.loads((ws / "reports" / "soundtrack_metrics.json").read_text())
    assert set(m["per_condition"]) == set(CONDITIONS)
    rows = pd.read_parquet(ws / "data" / "soundtrack" / "metrics.parquet")
    table = pd.read_parquet(ws / "data" / "soundtrack" / "soundtrack.parquet")
    assert list(zip(rows.video_id, rows.condition)) == list(zip(table.video_id, table.condition))
    cuts = rows[rows.video_id == "cuts"].set_index("condition")
    # the cut-to-chord distance is recomputed from the record's boundaries and chords
    for c in CONDITIONS:
        rec = table[(table.video_id == "cuts") & (table.condition == c)].iloc[0]
        d = [min((abs(b - x) for x in rec.chord_times), default=float("inf")) for b in rec.boundaries]
        assert cuts.loc[c, "cut_to_chord_s"] == pytest.approx(sum(d) / len(d))
        assert 0 <= cuts.loc[c, "av_align_frame"] <= 1 and 0 <= cuts.loc[c, "av_align_second"] <= 1
        assert 0 <= cuts.loc[c, "av_align_filtered_frame"] <= 1 and 0 <= cuts.loc[c, "av_align_filtered_second"] <= 1
        assert cuts.loc[c, "kl"] >= 0 and cuts.loc[c, "emotion_l1"] >= 0
    # KL needs the original audio: none for the mute video
    assert rows[rows.video_id == "mute"].kl.isna().all()
    n_audio = int(table[table.condition == "emsync"].has_audio.sum())
    assert all(m["per_condition"][c]["kl_n"] == n_audio for c in CONDITIONS)
    md = (ws / "reports" / "soundtrack.md").read_text()
    assert "| emsync |" in md and "item wall s per video-min (not the thesis's runtime)" in md
    assert "/ thesis" not in md  # no number of ours printed beside a thesis number it is not computed like
    csv = pd.read_csv(ws / "reports" / "soundtrack_metrics.csv")
    assert list(csv.condition) == CONDITIONS
    assert (ws / "reports" / "soundtrack_metrics.png").read_bytes()[:4] == b"\x89PNG"


def test_rerun_is_cached_and_rebuilds_deleted_files(ws):
    ws, first = ws
    table = pd.read_parquet(ws / "data" / "soundtrack" / "soundtrack.parquet")
    gone = ws / "data" / table.wav_path.iloc[0]
    before = gone.read_bytes()
    gone.unlink()
    again = _run(ws)
    failed = [s for s in first["skipped"] if not s["item"].startswith("empty/")]  # failed tasks run (and fail) again
    assert again["tasks"] == first["tasks"] + 1  # + the one item re-scored for its missing file
    assert again["cache_hits"] == first["tasks"] - len(failed)
    assert gone.read_bytes() == before  # same seed, same bytes
    timing = ["timings", "seconds_total", "seconds_per_minute"]
    assert pd.read_parquet(ws / "data" / "soundtrack" / "soundtrack.parquet").drop(columns=timing).equals(table.drop(columns=timing))
