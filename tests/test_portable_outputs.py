"""Stage outputs do not depend on where the project is cloned (STYLE 18): the
labeling and tokens stages run in two project folders at different paths give byte-identical
output folders, and no Parquet table under data/ holds an absolute path."""

import hashlib
import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest
import yaml

from _root import ROOT

pytestmark = pytest.mark.slow


def _project(dst, corpus):
    dst.mkdir(parents=True)
    shutil.copy(ROOT / "dvc.yaml", dst / "dvc.yaml")  # what makes it a project (emsync.core.config.project_root)
    shutil.copytree(corpus.midi_dir, dst / "corpus" / "midi")
    shutil.copytree(corpus.root / "lmd", dst / "corpus" / "lmd")
    lmd = "corpus/lmd/"
    params = {
        "paths": {"data_dir": "data", "reports_dir": "reports", "store": "data/emsync.duckdb"},
        "labeling": {
            "midi_dir": "corpus/midi",
            "match_scores": lmd + "match_scores.json",
            "msd_metadata": lmd + "msd_metadata.parquet",
            "spotify_map": lmd + "echonest_to_spotify.csv",
            "audio_features_archive": lmd + "spotify_features.csv",
            "shard_size": 50,
        },
        "tokens": {"midi_dir": "corpus/midi", "labels": "data/labeling/labels.parquet", "out_dir": "data/tokens"},
    }
    (dst / "params.yaml").write_text(yaml.safe_dump(params))
    # no test settings (EMSYNC_ROOT...): the project is the working folder; the session's warm runner
    # (EMSYNC_WARM_SOCKET) forks each flow in that folder, as it would start there cold
    keep = ("EMSYNC_SHARED_DATA", "EMSYNC_WARM_SOCKET")
    env = {k: v for k, v in os.environ.items() if not k.startswith("EMSYNC_") or k in keep}
    env.update(
        PYTHONPATH=str(ROOT), PREFECT_LOCAL_STORAGE_PATH=str(dst / "prefect"), PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="180"
    )
    for stage in ("labeling", "tokens"):
        r = subprocess.run([sys.executable, "-m", f"flows.{stage}"], cwd=dst, env=env, capture_output=True, text=True, timeout=600)
        assert r.returncode == 0, r.stderr[-3000:]
    return dst


def _digest(folder):
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        if p.is_file():
            h.update(p.relative_to(folder).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()


def test_two_clones_at_different_paths_give_identical_outputs(tmp_path, demo_corpus):
    a = _project(tmp_path / "one", demo_corpus)
    b = _project(tmp_path / "elsewhere" / "deeper" / "two", demo_corpus)
    for stage in ("labeling", "tokens"):
        assert _digest(a / "data" / stage) == _digest(b / "data" / stage), stage
    tables = sorted((a / "data").rglob("*.parquet")) + sorted((b / "data").rglob("*.parquet"))
    assert len(tables) >= 8
    for t in tables:  # no absolute path in any string cell of any table
        df = pd.read_parquet(t)
        for col in df.select_dtypes(include="object").columns:
            cells = df[col].dropna().astype(str)
            bad = cells[cells.str.contains(str(tmp_path), regex=False) | cells.str.startswith("/")]
            assert bad.empty, (t.relative_to(tmp_path), col, bad.head(3).tolist())
    rejects = pd.read_parquet(a / "data" / "labeling" / "rejects.parquet")
    assert len(rejects) > 0 and rejects["path"].str.startswith("corpus/midi/").sum() == 0  # relative to labeling.midi_dir
