"""The labeling flow end to end on the demo corpus (archive source): outputs, checks, Listing 3.1
JSON, report, and a re-run that is all cache hits."""

import json
import math

import pandas as pd
import pytest
import yaml


pytestmark = pytest.mark.slow


def test_labeling_flow_on_demo_corpus(tmp_path, demo_corpus, demo_labeling_params, run_flow):
    params = demo_labeling_params(tmp_path, shard_size=20)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    run_flow("labeling", tmp_path / "params.yaml", tmp_path / "results")

    out = tmp_path / "data" / "labeling"
    files, rejects = pd.read_parquet(out / "files.parquet"), pd.read_parquet(out / "rejects.parquet")
    matches, labels = pd.read_parquet(out / "matches.parquet"), pd.read_parquet(out / "labels.parquet")
    gt = demo_corpus.ground_truth["files"]
    assert set(rejects["midi_id"]) == {h for h, e in gt.items() if e["kind"] not in ("ok", "duplicate")}
    n_dups = sum(len(g) - 1 for g in demo_corpus.ground_truth["duplicate_groups"])
    assert int(files["is_unique"].sum()) == len(files) - n_dups == len(labels)
    lmd_gt = json.loads((demo_corpus.root / "ground_truth" / "lmd.json").read_text())
    assert all(lmd_gt["true_match"][m] == t for m, t in zip(matches["midi_id"], matches["track_id"]))
    assert labels["valence"].dropna().between(-1, 1).all() and labels["arousal"].dropna().between(-1, 1).all()
    # valence = 2 v - 1 of the archive's valence; the planted 0.0 values are missing
    arch = pd.read_csv(demo_corpus.root / "lmd" / "spotify_features.csv").set_index("track_id")["valence"]
    lab = labels.set_index("midi_id")
    for m, t in zip(matches["midi_id"], matches["track_id"]):
        v = arch.get(t)
        want = 2 * v - 1 if v is not None and pd.notna(v) and v != 0.0 else None
        got = lab.loc[m, "valence"]
        assert (want is None and pd.isna(got)) or got == pytest.approx(want)
    matched = sorted(labels.loc[labels["matched"], "midi_id"])
    assert labels.loc[labels["split"] == "test", "midi_id"].tolist() == matched[len(matched) - math.ceil(len(matched) * 0.05) :]

    entries = sorted((out / "json").glob("*.json"))
    assert len(entries) == len(matches)
    e = json.loads(entries[0].read_text())
    ((mid, body),) = e.items()
    assert mid == entries[0].stem and set(body) == {"midi_features", "matched_features"}
    assert {"note_density", "tempo", "n_instruments"} <= set(body["midi_features"])
    assert body["matched_features"]["track_id"] == lmd_gt["true_match"][mid]

    m = json.loads((tmp_path / "reports" / "labeling_metrics.json").read_text())
    assert m["files"] == len(gt) and m["valid"] == len(files) and m["unique"] == len(labels)
    assert m["with_valence"] == int(labels["valence"].notna().sum()) and m["hours_unique"] > 0
    assert "| unique content |" in (tmp_path / "reports" / "labeling.md").read_text()
    assert (tmp_path / "reports" / "labeling_valence.png").read_bytes()[:4] == b"\x89PNG"

    run_flow("labeling", tmp_path / "params.yaml", tmp_path / "results")  # unchanged inputs: all cache hits
    run = json.loads((tmp_path / "reports" / "runs" / "labeling.json").read_text())
    assert run["all_cached"] and run["tasks"] == run["cache_hits"] >= 4
    assert pd.read_parquet(out / "labels.parquet").equals(labels)
