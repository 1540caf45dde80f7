"""`emsync sql` is sandboxed: reads under data/ only, writes nothing, loads no extensions."""

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from emsync.core.errors import InputError
from emsync.pipeline import store


@pytest.fixture
def repo(tmp_path, monkeypatch):
    data = tmp_path / "data" / "labeling"
    data.mkdir(parents=True)
    pd.DataFrame({"midi_id": ["a", "b"], "valence": [0.5, -0.25]}).to_parquet(data / "labels.parquet")
    (tmp_path / "params.yaml").write_text("seed: 1\n")
    (tmp_path / "secret.csv").write_text("user,password\nme,hunter2\n")
    monkeypatch.setenv("EMSYNC_ROOT", str(tmp_path))
    monkeypatch.chdir(tmp_path)  # DuckDB reads a view's relative path from the working directory first
    store.refresh(tmp_path / "data" / "emsync.duckdb", tmp_path / "data")
    return tmp_path


def test_views_still_answer(repo):
    assert store.query("SELECT valence FROM labeling_labels ORDER BY midi_id")["valence"].tolist() == [0.5, -0.25]
    assert set(store.query("SHOW TABLES")["name"]) == {"labeling_labels"}


@pytest.mark.parametrize(
    "sql",
    [
        "SELECT * FROM read_csv('/etc/passwd')",
        "SELECT * FROM read_text('/etc/hostname')",
        "SELECT * FROM read_csv('{root}/secret.csv')",
        "SELECT * FROM read_text('{root}/data/../params.yaml')",
        "SELECT * FROM glob('/etc/*')",
    ],
)
def test_reads_outside_data_are_refused(repo, sql):
    with pytest.raises(InputError, match="SQL refused.*--allow-read"):
        store.query(sql.format(root=repo))


@pytest.mark.parametrize(
    "sql",
    [
        "COPY (SELECT 1 AS x) TO 'data/labeling/labels.parquet' (FORMAT parquet)",
        "COPY (SELECT 1 AS x) TO '{root}/params.yaml' (FORMAT csv)",
        "SELECT 1; COPY (SELECT 1 AS x) TO 'data/labeling/labels.parquet' (FORMAT parquet)",
        "EXPORT DATABASE '{root}/data/exp'",
        "ATTACH '{root}/data/new.duckdb'",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET allowed_directories = ['/']",
        "CREATE TABLE t AS SELECT 1",
    ],
)
def test_writes_extensions_and_settings_are_refused(repo, sql):
    before = {p: p.read_bytes() for p in [repo / "params.yaml", repo / "data/labeling/labels.parquet"]}
    with pytest.raises(InputError, match="SQL refused"):
        store.query(sql.format(root=repo))
    assert {p: p.read_bytes() for p in before} == before
    assert not (repo / "data" / "exp").exists() and not (repo / "data" / "new.duckdb").exists()


def test_allow_read_widens_to_the_named_file_only(repo):
    df = store.query(f"SELECT * FROM read_csv('{repo}/secret.csv')", allow_read=[repo / "secret.csv"])
    assert df["password"].tolist() == ["hunter2"]
    with pytest.raises(InputError, match="SQL refused"):
        store.query(f"SELECT * FROM read_text('{repo}/params.yaml')", allow_read=[repo / "secret.csv"])
    with pytest.raises(InputError, match="no such file"):
        store.query("SELECT 1", allow_read=[repo / "nope.csv"])


def _cli(repo, *args):
    code = (
        "import sys, pathlib, emsync.pipeline.store as s; import os; os.environ['EMSYNC_ROOT'] = sys.argv[1];"
        "from emsync.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}  # this checkout's emsync
    return subprocess.run([sys.executable, "-c", code, str(repo), "sql", *args], capture_output=True, text=True, cwd=repo, env=env)


def test_cli_out_never_overwrites_the_store_or_a_table(repo):
    labels = repo / "data/labeling/labels.parquet"
    before = labels.read_bytes()
    r = _cli(repo, "SELECT 1 AS x", "--out", str(labels))
    assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and "inside the input folder" in r.stderr
    assert labels.read_bytes() == before
    r = _cli(repo, "SELECT * FROM read_csv('/etc/passwd')")
    assert r.returncode == 1 and "SQL refused" in r.stderr and "root:" not in r.stdout
    r = _cli(repo, f"SELECT password FROM read_csv('{repo}/secret.csv')", "--allow-read", str(repo / "secret.csv"))
    assert r.returncode == 0 and "hunter2" in r.stdout
