"""The DuckDB feature store and `emsync sql`."""

import subprocess
import sys

import duckdb
import pandas as pd
import pytest

from emsync.core.errors import DataCheckError
from emsync.pipeline import store
from emsync.pipeline.checks import check_table


@pytest.fixture
def tables(tmp_path, monkeypatch):
    data = tmp_path / "data"
    (data / "labeling").mkdir(parents=True)
    (data / "features" / "clip").mkdir(parents=True)
    (data / "demo" / "lmd").mkdir(parents=True)
    pd.DataFrame({"midi_id": ["a", "b"], "valence": [0.5, -0.25]}).to_parquet(data / "labeling" / "labels.parquet")
    for vid in ["v1", "v2", "v3"]:
        pd.DataFrame({"video_id": [vid] * 2, "t": [0.0, 1.0]}).to_parquet(data / "features" / "clip" / f"{vid}.parquet")
    (data / "features" / "asr").mkdir()
    pd.DataFrame({"video_id": ["v1"], "text": ["hi"]}).to_parquet(data / "features" / "asr" / "v1.parquet")  # one part
    pd.DataFrame({"x": [1]}).to_parquet(data / "demo" / "lmd" / "raw.parquet")  # raw inputs are not views
    monkeypatch.setenv("EMSYNC_ROOT", str(tmp_path))
    return data


def test_refresh_makes_one_view_per_table(tables, tmp_path, monkeypatch):
    views = store.refresh(tmp_path / "store.duckdb", tables)
    assert sorted(views) == ["features_asr", "features_clip", "labeling_labels"]
    con = duckdb.connect(str(tmp_path / "store.duckdb"), read_only=True)
    monkeypatch.chdir(tmp_path)  # views are root-relative, as in a clone
    assert con.execute("SELECT count(*) FROM features_clip").fetchone()[0] == 6
    assert con.execute("SELECT count(DISTINCT video_id) FROM features_clip").fetchone()[0] == 3
    assert con.execute("SELECT valence FROM labeling_labels WHERE midi_id='b'").fetchone()[0] == -0.25
    names = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    assert names == {"features_asr", "features_clip", "labeling_labels"}


def test_sql_cli_prints_and_writes(tables, tmp_path):
    store.refresh(tmp_path / "store.duckdb", tables)
    db = str(tmp_path / "store.duckdb")
    # the CLI resolves views against the repo root; point it at the temp tree via cwd-relative paths
    out = tmp_path / "res.csv"
    code = (
        "import sys, emsync.pipeline.store as s, pathlib; import os; os.environ['EMSYNC_ROOT'] = sys.argv[1];"
        "from emsync.cli import main; sys.exit(main(sys.argv[2:]))"
    )
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path), "sql", "SHOW TABLES", "--db", db], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "features_clip" in r.stdout and "labeling_labels" in r.stdout
    r = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), "sql", "SELECT midi_id FROM labeling_labels ORDER BY 1", "--db", db, "--out", str(out)],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert pd.read_csv(out)["midi_id"].tolist() == ["a", "b"]
    r = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path), "sql", "SELECT 1", "--db", db, "--out", str(tmp_path / "r.xlsx")],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 1 and "use a .parquet or .csv" in r.stderr and not list(tmp_path.glob("*r.xlsx*"))
    r = subprocess.run([sys.executable, "-c", code, str(tmp_path), "sql", "SELECT * FROM nope", "--db", db], capture_output=True, text=True)
    assert r.returncode == 1 and "SQL error" in r.stderr and "Traceback" not in r.stderr


def test_missing_store_is_a_clear_error(tmp_path):
    r = subprocess.run(
        [sys.executable, "-m", "emsync", "sql", "SHOW TABLES", "--db", str(tmp_path / "none.duckdb")], capture_output=True, text=True
    )
    assert r.returncode == 1 and "feature store not found" in r.stderr


def test_planted_bad_row_fails_the_data_check_with_a_readable_report(tmp_path):
    df = pd.DataFrame({"midi_id": ["a", "b", "b", None], "valence": [0.1, 0.2, 1.7, 0.0]})
    with pytest.raises(DataCheckError) as e:
        check_table(
            df, "labeling_labels", [("not_null", "midi_id"), ("unique", "midi_id"), ("between", "valence", -1.0, 1.0)], reports_dir=tmp_path
        )
    msg = str(e.value)
    assert "labeling_labels" in msg and "column 'valence'" in msg and "1 rows fail" in msg and "1.7" in msg
    assert "column 'midi_id'" in msg
    assert (tmp_path / "checks" / "labeling_labels.json").exists()
    ok = check_table(df.iloc[:2], "labeling_labels", [("unique", "midi_id")], reports_dir=tmp_path)
    assert ok["success"]


def test_a_table_that_passed_is_not_validated_again_but_a_changed_one_is(tmp_path):
    """A cached re-run writes the same rows: their check passes from the recorded digest, in a fresh
    process without importing great_expectations; one changed value, or other expectations, are
    validated again, and a failed check never counts as a pass."""
    df = pd.DataFrame({"midi_id": ["a", "b", "c"], "valence": [0.1, -0.2, 0.9], "notes": [[60, 64], [62], []]})
    expectations = [("unique", "midi_id"), ("between", "valence", -1.0, 1.0)]
    assert check_table(df, "labeling_labels", expectations, reports_dir=tmp_path)["success"]
    df.to_parquet(tmp_path / "t.parquet")
    code = (
        "import sys, pandas as pd; from emsync.pipeline.checks import check_table; "
        f"r = check_table(pd.read_parquet(sys.argv[1]), 'labeling_labels', {expectations!r}, reports_dir=sys.argv[2]); "
        "print(r['success'], 'great_expectations' in sys.modules)"
    )
    again = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path / "t.parquet"), str(tmp_path)], capture_output=True, text=True, cwd=tmp_path
    )
    assert again.stdout.split() == ["True", "False"], again.stderr[-2000:]

    changed = df.copy()
    changed.loc[1, "valence"] = 1.7
    for _ in range(2):  # the failure is recorded, and a recorded failure is not a pass
        with pytest.raises(DataCheckError, match="1 rows fail"):
            check_table(changed, "labeling_labels", expectations, reports_dir=tmp_path)
    with pytest.raises(DataCheckError, match="column 'valence'"):  # the same rows as the pass, stricter expectations
        check_table(df, "labeling_labels", [("between", "valence", -0.5, 0.5)], reports_dir=tmp_path)
