"""The EMSYNC_DASK switch: the map-heavy flows on a 2-process distributed.LocalCluster (through
prefect-dask's DaskTaskRunner) write byte-identical outputs to the single-process run."""

import hashlib

import numpy as np
import pandas as pd
import pytest
import yaml

from _project import run_module
from emsync.core.errors import InputError
from emsync.pipeline.flowkit import dask_runner


def test_switch_values():
    assert dask_runner("") is None and dask_runner("0") is None
    assert dask_runner("tcp://10.0.0.5:8786").address == "tcp://10.0.0.5:8786"
    local = dask_runner("3")
    assert local.address is None and local.cluster_kwargs["n_workers"] == 3 and local.cluster_kwargs["processes"]
    assert dask_runner("local").cluster_kwargs["n_workers"] == 4
    with pytest.raises(InputError, match="EMSYNC_DASK"):
        dask_runner("lots")


def _run(module, params_file, results, dask, announced=True):
    r = run_module(params_file.parent, module, params_file=params_file, results=results, EMSYNC_DASK=dask)
    if announced:
        assert ("tasks on Dask (a local cluster of 2 processes)" in r.stderr) == (dask == "2")
    else:  # the features flow picks its runner itself: the cluster's workers log their start
        assert ("distributed.worker" in r.stderr) == (dask == "2")


def _hashes(folder):
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_labeling_and_tokens_on_a_two_worker_cluster_match_the_single_process_run(tmp_path, demo_corpus, demo_labeling_params):
    gt = demo_corpus.ground_truth["files"]
    valid = sorted(m for m, e in gt.items() if e["kind"] == "ok")
    labels = tmp_path / "labels.parquet"
    pd.DataFrame(
        {
            "midi_id": valid,
            "valence": np.linspace(-1, 1, len(valid)),
            "arousal": np.nan,
            "split": ["train"] * (len(valid) - 4) + ["test"] * 4,
        }
    ).to_parquet(labels)
    outs = {}
    for mode in ("", "2"):
        d = tmp_path / (mode or "single")
        params = demo_labeling_params(d, shard_size=10, workers=1)
        params["tokens"] = {"midi_dir": str(demo_corpus.midi_dir), "labels": str(labels), "out_dir": "tokens", "shard_files": 8}
        (d).mkdir()
        (d / "params.yaml").write_text(yaml.safe_dump(params))
        # separate result stores: the cluster run really computes every task, none is a cache hit
        _run("flows.labeling", d / "params.yaml", d / "results", mode)
        _run("flows.tokens", d / "params.yaml", d / "results", mode)
        outs[mode] = (_hashes(d / "data" / "labeling"), _hashes(d / "tokens"))
    single, cluster = outs[""], outs["2"]
    assert len(single[0]) > 4 and len(single[1]) > 3
    assert cluster == single


@pytest.mark.slow
def test_features_on_a_two_worker_cluster_match_the_single_process_run(tmp_path, demo_videos):
    """The features flow with the real CLIP extractor (a tiny random open_clip model saved here) on
    one demo video: the 2-worker cluster writes byte-identical Parquet to the single-process run."""
    from emsync.video.tiny_models import build

    clip = build("clip", tmp_path / "models", seed=0)
    videos = tmp_path / "videos"
    videos.mkdir()
    src = sorted(demo_videos.videos_dir.iterdir())[0]
    (videos / src.name).symlink_to(src)
    outs = {}
    for mode in ("", "2"):
        d = tmp_path / (mode or "single")
        d.mkdir()
        params = {
            "paths": {"data_dir": "data", "reports_dir": "reports", "store": "data/emsync.duckdb"},
            "features": {
                "videos_dir": str(videos),
                "models_dir": str(tmp_path / "models"),
                "extractors": ["clip"],
                "models": {"clip": str(clip)},
            },
            "video": {"n_frames": 4},
        }
        (d / "params.yaml").write_text(yaml.safe_dump(params))
        _run("flows.features", d / "params.yaml", d / "results", mode, announced=False)
        outs[mode] = {k: v for k, v in _hashes(d / "data" / "features").items() if k.endswith(".parquet")}
    assert {f"clip/{src.stem}.parquet", "cuts.parquet"} <= set(outs[""])
    assert outs["2"] == outs[""]
