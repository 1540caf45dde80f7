"""The lyrics classifier's training task (what the engine calls) and the Tables 3.3/3.4 report."""

import numpy as np
import pytest
import torch

from emsync.lyrics.labels import EKMAN7, GO28
from emsync.lyrics.model import train_wordpiece
from emsync.lyrics.report import THESIS, evaluate, table_markdown
from emsync.lyrics.task import LyricsTask, encode
from emsync.models.lyrics_classifier import preset

TEXTS = [f"text number {i} is {'happy' if i % 2 else 'sad'}" for i in range(37)]


def _task(batch_size=8, seed=0):
    tok = train_wordpiece(TEXTS, vocab_size=60)
    y = np.zeros((37, 7), np.float32)
    y[np.arange(37), np.arange(37) % 7] = 1
    ids = encode(tok, TEXTS, 16)
    return LyricsTask(preset("tiny", n_labels=7, vocab_size=len(tok)), EKMAN7, ids, y, ids[:10], y[:10], batch_size, seed)


def test_batches_depend_on_seed_and_step_only_and_cover_each_epoch():
    a, b = _task(), _task()
    assert a.steps_per_epoch == 5
    for step in (0, 3, 7, 11):
        x, z = a.batch(step), b.batch(step)
        assert torch.equal(x["input_ids"], z["input_ids"]) and torch.equal(x["targets"], z["targets"])
    seen = torch.cat([a.batch(s)["targets"] for s in range(5)])
    assert seen.shape[0] == 37 and seen.sum(0).tolist() == a.train_y.sum(0).tolist()  # every row once
    assert not torch.equal(a.batch(0)["input_ids"], a.batch(5)["input_ids"])  # a new permutation per epoch
    assert not torch.equal(a.batch(0)["input_ids"], _task(seed=1).batch(0)["input_ids"])


def test_padding_mask_and_loss():
    t = _task()
    bt = t.batch(0)
    lens = bt["attention_mask"].sum(1)
    assert bool((bt["input_ids"][bt["attention_mask"] == 0] == 0).all()) and int(lens.max()) == bt["input_ids"].shape[1]
    m = t.build_model()
    loss = t.loss(m, bt)
    assert loss.ndim == 0 and 0.5 < loss.item() < 0.9  # BCE of ~0.5 sigmoid outputs is ln 2
    met = t.metrics(m)
    assert set(met) == {"macro_f1", "cutoff", "loss"} and 0 <= met["macro_f1"] <= 1


def test_thesis_tables_and_our_table_shape():
    assert THESIS[7]["macro-average"][5] == 0.64 and THESIS[28]["macro-average"][5] == 0.50
    assert sorted(k for k in THESIS[28] if k != "macro-average") == sorted(GO28)
    rng = np.random.default_rng(0)
    y = (rng.random((40, 7)) > 0.6).astype(float)
    res = evaluate(y * 0.8 + 0.1, y, EKMAN7, 0.5)  # perfect separation at 0.5
    assert res["macro"]["f1"] == 1.0 and res["macro_at_0.3"]["f1"] == 1.0
    md = table_markdown(res, 7, "Table 3.3")
    rows = [ln for ln in md.splitlines() if ln.startswith("| ")]
    assert len(rows) == 1 + 7 + 1  # header, labels, macro
    assert rows[1].startswith("| anger | 0.50 | 0.50 | 1.00 |")
    assert "| **macro-average** | 0.59 | 0.60 | 1.00 | 0.69 | 0.69 | 1.00 | 0.64 | 0.64 | **1.00** |" in md


@pytest.mark.parametrize("n", [7, 28])
def test_thesis_table_has_every_label(n):
    assert len(THESIS[n]) == n + 1


def test_listing_excerpt_and_labels_above_the_threshold():
    import pandas as pd

    from emsync.lyrics.corpus import excerpt, listing
    from emsync.lyrics.labels import columns

    assert excerpt("one\ntwo\n\nthree\nfour", 3) == ["one", "two", "three"]
    assert excerpt(" ".join(["word"] * 40), 2, width=30) == ["word " * 5 + "word"] * 2  # unmarked lyrics are wrapped
    row = {"midi_id": "x", "file": "a/x.mid"} | {c: 0.01 for c in columns(7) + columns(28)}
    row |= {"p7_joy": 0.8072, "p7_neutral": 0.1953, "p28_optimism": 0.7554, "p28_neutral": 0.2954}
    text = listing(pd.DataFrame([row]), {"x": "Imagine there's no heaven\nIt's easy if you try"}, ["x"])
    assert text.splitlines() == [
        "File path: a/x.mid",
        "Lyrics:",
        "Imagine there's no heaven",
        "It's easy if you try",
        "7-label predictions:",
        "joy: 0.8072",
        "neutral: 0.1953",
        "28-label predictions:",
        "optimism: 0.7554",
        "neutral: 0.2954",
    ]  # Listing 3.2's shape
