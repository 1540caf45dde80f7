"""`emsync status`: DVC stage states, feature-store row counts, last Prefect runs, cache-hit rates."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from _project import prefect_home
from emsync.cli import main
from emsync.pipeline import status

TOY = Path(__file__).parent / "_toy_flow.py"


def _dvc(cwd, *args):
    r = subprocess.run(["dvc", *args], cwd=cwd, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr[-2000:]


def test_stage_goes_stale_when_its_dep_changes_and_up_to_date_after_repro(tmp_path):
    _dvc(tmp_path, "init", "--no-scm", "-q")
    (tmp_path / "in.txt").write_text("a\n")
    _dvc(tmp_path, "stage", "add", "-q", "-n", "copy", "-d", "in.txt", "-o", "out.txt", "cp in.txt out.txt")
    _dvc(tmp_path, "repro", "-q")
    assert status.dvc_stages(tmp_path) == {"copy": {"state": "up to date", "changes": []}}
    (tmp_path / "in.txt").write_text("b\n")
    st = status.dvc_stages(tmp_path)["copy"]
    assert st["state"] == "stale" and "deps in.txt: modified" in st["changes"]


def test_table_rows_and_cache_hit_rates_json(tmp_path, monkeypatch, capsys):
    data = tmp_path / "data"
    (data / "labeling").mkdir(parents=True)
    pd.DataFrame({"midi_id": ["a", "b", "c"]}).to_parquet(data / "labeling" / "labels.parquet")
    (data / "features" / "clip").mkdir(parents=True)
    for i, n in enumerate([2, 5]):
        pd.DataFrame({"t": range(n)}).to_parquet(data / "features" / "clip" / f"v{i}.parquet")
    runs = tmp_path / "reports" / "runs"
    runs.mkdir(parents=True)
    (runs / "tokens.json").write_text(
        json.dumps({"flow": "tokens", "tasks": 8, "cache_hits": 6, "skipped": [{"item": "x", "reason": "y"}], "seconds": 1.5})
    )
    (runs / "broken.json").write_text("{not json")
    s = status.gather(data_dir=data, reports_dir=tmp_path / "reports", dvc=False)
    assert s["tables"] == {"features_clip": 7, "labeling_labels": 3}
    assert s["runs"]["tokens"] == {"tasks": 8, "cache_hits": 6, "hit_rate": 0.75, "skipped": 1, "seconds": 1.5}
    assert "unreadable run report" in s["runs"]["broken"]["error"]
    text = status.format_text(s)
    assert "6/8 cache hits (75.0%), 1 skipped" in text and "labeling_labels" in text

    # the CLI prints the same object as JSON; a missing Prefect database is an empty list, not an error
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "no_prefect"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    monkeypatch.setenv("EMSYNC_REPORTS_DIR", str(tmp_path / "reports"))
    assert main(["status", "--json", "--no-dvc"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["runs"]["tokens"]["hit_rate"] == 0.75 and out["prefect"]["flows"] == {} and "stages" not in out


@pytest.mark.slow
def test_last_prefect_run_of_a_real_flow_is_listed(tmp_path, monkeypatch):
    env = dict(os.environ, PREFECT_HOME=prefect_home(tmp_path / "home"), PREFECT_LOCAL_STORAGE_PATH=str(tmp_path / "results"))
    env.pop("PREFECT_API_URL", None)
    r = subprocess.run([sys.executable, str(TOY), str(tmp_path / "out"), "2"], env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PREFECT_API_URL", raising=False)
    p = status.prefect_runs()
    assert p["flows"]["toy"]["state"] == "Completed" and p["flows"]["toy"]["end"]
    assert status.run_reports(tmp_path / "out")["toy"]["tasks"] == 2
