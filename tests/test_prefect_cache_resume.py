"""Prefect inside the pipeline: cache hits on re-run, SIGKILL + resume, a real local server."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from _project import prefect_api

TOY = Path(__file__).parent / "_toy_flow.py"
pytestmark = pytest.mark.slow


def _env(results_dir, **extra):
    e = dict(os.environ)
    e["PREFECT_LOCAL_STORAGE_PATH"] = str(results_dir)
    e.update(extra)
    return e


def _run_toy(outdir, n, results, **extra):
    r = subprocess.run(
        [sys.executable, str(TOY), str(outdir), str(n)], env=_env(results, **extra), capture_output=True, text=True, timeout=240
    )
    assert r.returncode == 0, r.stderr[-2000:]
    return json.loads((Path(outdir) / "runs" / "toy.json").read_text())


def test_rerun_of_unchanged_flow_is_all_cache_hits(tmp_path):
    first = _run_toy(tmp_path / "out", 4, tmp_path / "results")
    assert first["tasks"] == 4 and first["cache_hits"] == 0
    second = _run_toy(tmp_path / "out", 4, tmp_path / "results")
    assert second["tasks"] == 4 and second["cache_hits"] == 4 and second["all_cached"]
    assert (tmp_path / "out" / "calls.log").read_text().split() == ["0", "1", "2", "3"]


def test_sigkill_then_resume_recomputes_only_unfinished_items(tmp_path):
    n, out, results = 6, tmp_path / "killed", tmp_path / "results"
    proc = subprocess.Popen(
        [sys.executable, str(TOY), str(out), str(n)],
        env=_env(results, TOY_SLEEP_S="1.5"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    deadline = time.time() + 180
    while time.time() < deadline and len(list((out / "items").glob("*.txt"))) < 2:
        time.sleep(0.1)
    os.killpg(proc.pid, signal.SIGKILL)  # the flow and its temporary Prefect server
    proc.wait()
    finished = {p.stem for p in (out / "items").glob("*.txt")}
    assert 2 <= len(finished) < n, "the kill should land mid-run"
    assert not (out / "all.txt").exists()
    assert not [p for p in out.rglob("*") if p.name.startswith(".") and p.suffix == ".tmp"], "no partial files"

    report = _run_toy(out, n, results)
    calls = (out / "calls.log").read_text().split()
    for item in finished:
        assert calls.count(item) == 1, f"finished item {item} was recomputed"
    assert sorted(set(calls), key=int) == [str(i) for i in range(n)]
    assert report["cache_hits"] >= len(finished)

    ref = _run_toy(tmp_path / "ref", n, tmp_path / "ref_results")
    assert ref["cache_hits"] == 0
    assert (out / "all.txt").read_bytes() == (tmp_path / "ref" / "all.txt").read_bytes()
    for i in range(n):
        assert (out / "items" / f"{i}.txt").read_bytes() == (tmp_path / "ref" / "items" / f"{i}.txt").read_bytes()


def test_flow_run_is_recorded_by_a_real_local_prefect_server(tmp_path, prefect_server):
    api = prefect_server.api
    _run_toy(tmp_path / "out", 2, tmp_path / "results", PREFECT_API_URL=api, PREFECT_HOME=str(prefect_server.home))
    assert any(run["state_type"] == "COMPLETED" for run in prefect_api(f"{api}/flow_runs/filter", {}))
    assert "toy" in {f["name"] for f in prefect_api(f"{api}/flows/filter", {})}
