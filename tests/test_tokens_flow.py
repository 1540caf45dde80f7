"""The tokens stage end to end (`python -m flows.tokens`, what `dvc repro tokens` runs)."""

import json

import numpy as np
import pandas as pd
import pytest
import yaml

from emsync.music import vocab as V
from emsync.music.dataset import ChunkDataset

pytestmark = pytest.mark.slow


def test_flow_writes_shards_index_and_rejects_then_rerun_is_cached(demo_corpus, tmp_path, run_flow):
    gt = demo_corpus.ground_truth["files"]
    out = tmp_path / "tokens"
    labels = tmp_path / "labels.parquet"
    valid = sorted(m for m, e in gt.items() if e["kind"] == "ok")
    pd.DataFrame(
        {
            "midi_id": valid + ["0" * 32],  # one labelled id without a file
            "valence": np.linspace(-1, 1, len(valid) + 1),
            "arousal": np.nan,
            "split": ["train"] * (len(valid) - 3) + ["test"] * 4,
        }
    ).to_parquet(labels)
    params = {
        "paths": {"reports_dir": "reports"},
        "tokens": {"midi_dir": str(demo_corpus.midi_dir), "labels": str(labels), "out_dir": "tokens", "shard_files": 16},
    }
    pf = tmp_path / "params.yaml"
    pf.write_text(yaml.safe_dump(params))
    run_flow("tokens", pf, tmp_path / "results")

    index = pd.read_parquet(out / "index.parquet")
    assert index["midi_id"].tolist() == valid  # duplicates/broken files are not in labels, so not tokenized
    assert (index["split"] == "test").sum() == 3 and index["arousal"].isna().all()
    assert sorted(p.name for p in (out / "shards").iterdir()) == ["00000.npy", "00001.npy", "00002.npy"]
    assert json.loads((out / "vocab.json").read_text())["version"] == V.VOCAB_VERSION
    for _, r in index.iterrows():  # chord times = the planted ones (within one 8 ms step)
        want = np.asarray(gt[r["midi_id"]]["chord_times"])
        assert len(r["chord_times"]) == len(want) and np.all(np.abs(np.asarray(r["chord_times"]) - want) <= 0.008)
    report = json.loads((tmp_path / "reports" / "runs" / "tokens.json").read_text())
    assert report["tasks"] == 3 and report["cache_hits"] == 0
    assert [s["item"] for s in report["skipped"]] == ["0" * 32]
    tokens, offsets, v, a = ChunkDataset(out, "train", chunk_len=64)[0]
    assert tokens.shape == (64,) and not np.isnan(v.item()) and np.isnan(a.item())

    before = (out / "shards" / "00001.npy").read_bytes()
    run_flow("tokens", pf, tmp_path / "results")
    report = json.loads((tmp_path / "reports" / "runs" / "tokens.json").read_text())
    assert report["all_cached"] and report["tasks"] == 3
    assert (out / "shards" / "00001.npy").read_bytes() == before
