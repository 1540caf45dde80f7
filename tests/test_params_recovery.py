"""A bad params.yaml costs no outputs.

`emsync params check` refuses empty and partial files; the pipeline's inputs stage runs it on any
params edit; every stage output, reports included, is DVC-cached, so after a failed `dvc repro`
`dvc checkout` restores each output byte for byte."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emsync.core.config import load_params
from emsync.core.errors import ParamsError

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "params" / "demo.yaml"


def _bad_params(tmp_path):
    full = yaml.safe_load(DEMO.read_text())
    partial = {k: v for k, v in full.items() if k != "generate"}
    no_key = {**full, "labeling": {k: v for k, v in full["labeling"].items() if k != "max_tempo_bpm"}}
    typo = {**full, "labeling": {**full["labeling"], "max_tempo_bmp": 1000.0}}
    wrong_type = {**full, "tokens": {**full["tokens"], "chord_min_notes": "three"}}
    return {
        "empty": ("", "empty"),
        "comments only": ("# nothing here\n", "empty"),
        "partial (a section missing)": (yaml.safe_dump(partial), "1 key(s) missing (generate)"),
        "partial (a key missing)": (yaml.safe_dump(no_key), "1 key(s) missing (labeling.max_tempo_bpm)"),
        "typo key": (yaml.safe_dump(typo), "unknown key 'labeling.max_tempo_bmp' (did you mean 'max_tempo_bpm'?)"),
        "wrong type": (yaml.safe_dump(wrong_type), "tokens.chord_min_notes: expected an integer"),
        "not YAML": ("labeling: [unclosed\n", "not valid YAML"),
        "not a mapping": ("- a\n- b\n", "expected a mapping of sections"),
    }


def test_params_check_rejects_each_bad_kind(tmp_path):
    load_params(DEMO, complete=True)
    load_params(ROOT / "params" / "thesis.yaml", complete=True)
    for kind, (text, msg) in _bad_params(tmp_path).items():
        f = tmp_path / "params.yaml"
        f.write_text(text)
        with pytest.raises(ParamsError) as e:
            load_params(f, complete=True)
        assert msg in str(e.value), kind
        r = subprocess.run([sys.executable, "-m", "emsync", "params", "check", str(f)], capture_output=True, text=True, cwd=ROOT)
        assert r.returncode == 1 and len(r.stderr.strip().splitlines()) == 1 and msg in r.stderr, (kind, r.stderr)
    with pytest.raises(ParamsError, match="params file not found"):
        load_params(tmp_path / "missing.yaml", complete=True)


def test_every_pipeline_output_is_dvc_cached_and_params_edits_rerun_the_check():
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    for name, st in stages.items():
        for kind in ("outs", "metrics", "plots"):
            for out in st.get(kind, []):
                opts = next(iter(out.values())) if isinstance(out, dict) else None
                assert (opts or {}).get("cache") is not False, (name, out)  # cache: false would lose it
    assert {"params.yaml": None} in stages["inputs"]["params"]  # all keys
    assert "params check" in stages["inputs"]["cmd"]


STAGES = """
stages:
  inputs:
    cmd: {py} -m emsync params check params.yaml > reports/inputs.txt
    params:
      - params.yaml:
    outs:
      - reports/inputs.txt
  work:
    cmd: {py} work.py
    deps:
      - work.py
      - reports/inputs.txt
    params:
      - labeling
    outs:
      - data/work
      - reports/work.md
    metrics:
      - reports/work.json
"""
WORK = """import json, os
from emsync.core.config import load_params
p = load_params("params.yaml")  # a stage's flow: rejects bad params, but DVC removed its outputs first
os.makedirs("data/work", exist_ok=True)
open("data/work/t.txt", "w").write(str(p.labeling.max_tempo_bpm))
open("reports/work.md", "w").write("# report")
json.dump({"n": 1}, open("reports/work.json", "w"))
"""


def _outputs(repo):
    return {p: (repo / p).read_bytes() for p in ("data/work/t.txt", "reports/work.md", "reports/work.json", "reports/inputs.txt")}


@pytest.mark.slow
def test_dvc_checkout_restores_every_output_after_each_bad_params(tmp_path):
    if not shutil.which("dvc"):
        pytest.skip("dvc not installed")
    repo = tmp_path / "repo"
    (repo / "reports").mkdir(parents=True)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1"}

    def sh(*cmd, check=True):
        r = subprocess.run(list(cmd), cwd=repo, env=env, capture_output=True, text=True)
        assert not check or r.returncode == 0, (cmd, r.stdout[-2000:], r.stderr[-2000:])
        return r

    sh("git", "init", "-q")
    sh("dvc", "init", "-q")
    (repo / "dvc.yaml").write_text(STAGES.format(py=sys.executable))
    (repo / "work.py").write_text(WORK)
    shutil.copy(DEMO, repo / "params.yaml")
    sh("dvc", "repro")
    good = _outputs(repo)
    for kind, (text, msg) in [*_bad_params(tmp_path).items(), ("missing file", (None, "params.yaml"))]:
        if text is None:
            (repo / "params.yaml").unlink()
        else:
            (repo / "params.yaml").write_text(text)
        r = sh("dvc", "repro", check=False)
        assert r.returncode != 0, kind
        # refused by the inputs stage (`emsync params check`) or, for unreadable YAML, by DVC itself
        assert msg in r.stderr or "params.yaml" in r.stderr, (kind, r.stdout[-1500:], r.stderr[-1500:])
        shutil.copy(DEMO, repo / "params.yaml")
        sh("dvc", "checkout", "-f")  # the documented recovery
        assert _outputs(repo) == good, kind
        assert "up to date" in sh("dvc", "status").stdout, kind
