"""`emsync bench train_step --device cpu` reports data-loading and compute time per step."""

import json
import subprocess
import sys


def test_bench_train_step_prints_data_and_compute_time_per_step():
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "emsync",
            "bench",
            "train_step",
            "--device",
            "cpu",
            "--batch",
            "2",
            "--seq-len",
            "32",
            "--steps",
            "2",
            "--warmup",
            "1",
            "--songs",
            "4",
            "--song-tokens",
            "300",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout)
    m = out["modes"]["fp32"]
    assert out["device"] == "cpu" and out["seq_len"] == 32
    assert 0 < m["data_s_per_step"] < m["s_per_step"] and 0 < m["compute_s_per_step"] < m["s_per_step"]
    assert m["tokens_per_s"] > 0 and 0 < m["data_share"] < 1
