"""The lyrics stage end to end on the demo corpus with tiny saved classifiers: outputs, rejects,
CSV exports shaped like the published ones, the archive import, and a cached re-run."""

import json

import pandas as pd
import pytest
import torch
import yaml

from emsync.labeling.scan import list_midi, midi_id_of, scan
from emsync.lyrics.labels import EKMAN7, GO28, columns
from emsync.lyrics.model import save_classifier, train_wordpiece
from emsync.models.lyrics_classifier import build, preset

pytestmark = pytest.mark.slow


def test_lyrics_flow_on_demo_corpus(tmp_path, demo_corpus, shared_data, run_flow):
    gt = demo_corpus.ground_truth["files"]
    paths = list_midi(demo_corpus.midi_dir)
    valid = [r["midi_id"] for r in scan(paths) if r["valid"]]
    files = tmp_path / "files.parquet"
    pd.DataFrame({"midi_id": valid}).to_parquet(files)
    tok = train_wordpiece(["I love you so much tonight", "the night is dark and cold"] * 5, vocab_size=80)
    for n, labels in ((7, EKMAN7), (28, GO28)):
        torch.manual_seed(n)
        save_classifier(build(preset("tiny", n_labels=n, vocab_size=len(tok)), labels), tok, tmp_path / "models" / str(n))
    params = {
        "paths": {"data_dir": "data", "reports_dir": "reports"},
        "lyrics": {
            "midi_dir": str(demo_corpus.midi_dir),
            "files": str(files),
            "models": str(tmp_path / "models"),
            "out_dir": "data/lyrics",
            "min_words": 20,
            "shard_size": 10,
            "archive_dir": str(shared_data / "lyrics_emotions"),
            "device": "cpu",
        },
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    run_flow("lyrics", tmp_path / "params.yaml", tmp_path / "results")

    out = tmp_path / "data" / "lyrics"
    lyr, rej, lab = (pd.read_parquet(out / f"{t}.parquet") for t in ("lyrics", "rejects", "labels"))
    english = {h for h, e in gt.items() if e["kind"] in ("ok", "duplicate") and e["lyrics_lang"] == "en" and e["n_lyric_words"] >= 20}
    assert set(lab["midi_id"]) == english and len(english) >= 3
    assert set(lyr["midi_id"]) == set(valid)  # one row per valid file
    for r in lyr.itertuples():
        assert r.n_words == gt[r.midi_id]["n_lyric_words"]
        assert (r.language if isinstance(r.language, str) else None) == gt[r.midi_id]["lyrics_lang"]
    invalid = {midi_id_of(p) for p in paths} - set(valid)
    assert set(rej.loc[rej["reason"] == "invalid_midi", "midi_id"]) == invalid and invalid
    assert set(rej.loc[rej["reason"] == "not_english", "midi_id"]) == {h for h in valid if gt[h]["lyrics_lang"] not in (None, "en")}
    assert set(rej["midi_id"]) | set(lab["midi_id"]) == {midi_id_of(p) for p in paths}
    probs = lab[columns(7) + columns(28)].to_numpy()
    assert ((probs > 0) & (probs < 1)).all() and not lab["truncated"].any()  # demo lyrics are < 512 tokens
    # exports shaped like the author's files
    head7 = (shared_data / "lyrics_emotions" / "7labels.csv").read_text().splitlines()[0]
    head28 = (shared_data / "lyrics_emotions" / "28labels.csv").read_text().splitlines()[0]
    ours7, ours28 = pd.read_csv(out / "7labels.csv"), pd.read_csv(out / "28labels.csv")
    assert ",".join(ours7.columns) == head7 and ",".join(ours28.columns) == head28
    assert len(ours7) == len(lab) and ours7["file"].str.endswith(".mid").all()
    # archive import keyed by midi_id
    arch = pd.read_parquet(out / "archive.parquet")
    assert arch.set_index("midi_id").loc["b97c529ab9ef783a849b896816001748", "p7_joy"] == 0.9295
    m = json.loads((tmp_path / "reports" / "lyrics_metrics.json").read_text())
    assert m["labelled"] == len(english) and m["archive"] == {"n_common": 0}
    assert set(m["counts_28"]) == set(GO28) - {"neutral"}
    md = (tmp_path / "reports" / "lyrics.md").read_text()
    assert "File path: " in md and "7-label predictions:" in md
    assert (tmp_path / "reports" / "lyrics_counts.png").stat().st_size > 1000

    run_flow("lyrics", tmp_path / "params.yaml", tmp_path / "results")  # unchanged inputs: every task a cache hit
    run = json.loads((tmp_path / "reports" / "runs" / "lyrics.json").read_text())
    assert run["all_cached"], run
    assert pd.read_parquet(out / "labels.parquet").equals(lab)
