"""Training the lyrics classifiers through the engine (§3.2.1): the train_lyrics stage on the demo
GoEmotions set, and a bounded real-data run that must beat the baselines."""

import json

import pytest
import torch
import yaml

from emsync.lyrics.labels import EKMAN7, GO28
from emsync.lyrics.model import load_classifier

pytestmark = pytest.mark.slow


@pytest.fixture
def one_thread():
    n = torch.get_num_threads()
    torch.set_num_threads(1)  # small models on a shared box: one thread is the fastest
    yield
    torch.set_num_threads(n)


def test_train_lyrics_flow_on_demo_goemotions(tmp_path, run_flow):
    from emsync.demo.text import build_goemotions

    build_goemotions(tmp_path / "goemotions", seed=1234, n_text=300)
    params = {
        "paths": {"data_dir": "data", "reports_dir": "reports"},
        "train_lyrics": {
            "data_dir": str(tmp_path / "goemotions"),
            "out_dir": "models/lyrics",
            "device": "cpu",
            "max_epochs": 40,
            "patience": 10,
        },
    }
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    stdout = run_flow("train_lyrics", tmp_path / "params.yaml", tmp_path / "results", OMP_NUM_THREADS="1")
    assert "train_lyrics 7-label: test macro-F1" in stdout

    m = json.loads((tmp_path / "reports" / "lyrics_classifier_metrics.json").read_text())
    s7, s28 = m["7"], m["28"]
    assert s7["thesis_test_macro_f1"] == 0.64 and s28["thesis_test_macro_f1"] == 0.5
    assert s7["test_macro_f1"] > max(s7["baseline_majority_f1"], s7["baseline_frequency_f1"], s7["baseline_all_positive_f1"])
    assert s28["test_macro_f1"] > max(s28["baseline_majority_f1"], s28["baseline_frequency_f1"])
    for n, labels in ((7, EKMAN7), (28, GO28)):
        model, tok, extra = load_classifier(tmp_path / "models" / "lyrics" / str(n), labels)
        assert extra["cutoff"] == m[str(n)]["cutoff"] and extra["labels"] == labels
        assert model.config.dim == 32 and model.config.problem_type == "multi_label_classification"
        assert (tmp_path / "reports" / f"lyrics_train_loss_{n}.png").exists()
        assert "step,loss,lr" in (tmp_path / "reports" / f"lyrics_train_loss_{n}.csv").read_text().splitlines()[0]
    md = (tmp_path / "reports" / "lyrics_classifier.md").read_text()
    assert "### Table 3.3: 7-label" in md and "### Table 3.4: 28-label" in md
    assert "| **macro-average** | 0.40 | 0.53 |" in md  # Table 3.4's Demszky / thesis precision
    weights = (tmp_path / "models" / "lyrics" / "7" / "model.safetensors").read_bytes()

    run_flow(
        "train_lyrics", tmp_path / "params.yaml", tmp_path / "results", OMP_NUM_THREADS="1"
    )  # unchanged: both runs come from the task cache
    run = json.loads((tmp_path / "reports" / "runs" / "train_lyrics.json").read_text())
    assert run["all_cached"], run
    assert (tmp_path / "models" / "lyrics" / "7" / "model.safetensors").read_bytes() == weights


def test_real_goemotions_sample_beats_the_baselines(shared_data, one_thread):
    """A small from-scratch model, 8,000 training comments, 600 steps: its dev macro-F1 is above the
    majority-class, label-frequency and all-positive baselines (7 labels)."""
    from emsync.lyrics.train import LyricsTrainConfig, train_classifier

    cfg = LyricsTrainConfig(
        n_labels=7,
        data_dir=str(shared_data / "goemotions" / "data" / "original"),
        size="tiny",
        vocab_size=4000,
        max_length=64,
        batch_size=32,
        lr=2e-3,
        max_steps=600,
        eval_every=120,
        patience=10,
        max_train_rows=8000,
        max_eval_rows=1000,
    )
    r = train_classifier(cfg)["result"]
    b = r["baselines"]["dev"]
    assert r["steps"] == 600 and r["n"] == {"train": 8000, "dev": 1000, "test": 1000}
    assert b["majority"]["f1"] < b["frequency"]["f1"] < b["all_positive"]["f1"]
    assert r["dev_macro_f1"] > b["all_positive"]["f1"] + 0.02
    assert r["test"]["macro"]["f1"] > r["baselines"]["test"]["all_positive"]["f1"]
    assert r["evals"][-1]["loss"] < r["evals"][0]["loss"]
