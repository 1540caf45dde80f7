"""A planted bad row stops the stage (and so `dvc repro`) with a readable data-check report."""

import json
import shutil

import pytest
import yaml

from _project import run_module

pytestmark = pytest.mark.slow


def test_planted_bad_match_score_stops_the_labeling_stage(tmp_path, demo_corpus, demo_labeling_params):
    lmd = tmp_path / "lmd"
    shutil.copytree(demo_corpus.root / "lmd", lmd)
    scores = json.loads((lmd / "match_scores.json").read_text())
    track = sorted(scores)[0]
    midi = max(scores[track], key=scores[track].get)
    scores[track][midi] = 1.5  # LMD match scores are probabilities in [0, 1]
    (lmd / "match_scores.json").write_text(json.dumps(scores))
    params = demo_labeling_params(tmp_path, lmd=lmd, shard_size=20)
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    r = run_module(tmp_path, "flows.labeling", params_file=tmp_path / "params.yaml", results=tmp_path / "results", check=False)

    assert r.returncode == 1, r.stdout[-2000:]
    tail = r.stderr.strip().splitlines()
    start = max(i for i, line in enumerate(tail) if line.startswith("emsync: error: data check failed for table 'labeling_matches'"))
    message = "\n".join(tail[start:])
    assert "between on column 'match_score': 1 rows fail, e.g. [1.5]" in message
    report = json.loads((tmp_path / "reports" / "checks" / "labeling_matches.json").read_text())
    assert report["success"] is False and report["failures"][0]["column"] == "match_score"
    assert not (tmp_path / "data" / "labeling" / "matches.parquet").exists(), "nothing half-written"
