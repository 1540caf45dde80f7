"""`dvc status` on a copy of the project: after both extractor stages are recorded in dvc.lock,
editing the beats extractor's module (or its network) makes only features_beats stale, and editing
the features.models entry of clip only features_clip (one DVC stage per extractor)."""

import json
import shutil
import subprocess

import pytest

from _root import ROOT

STAGES = ["features_clip", "features_beats"]


def _dvc(cwd, *args):
    r = subprocess.run(["dvc", *args], cwd=cwd, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, (r.stdout + r.stderr)[-3000:]
    return r.stdout


def _stale(cwd) -> dict:
    """{stage: [changed dep paths or params keys]} of the two stages."""
    out = {}
    for stage, entries in json.loads(_dvc(cwd, "status", "--json", *STAGES)).items():
        changed = []
        for e in entries:
            for dep, what in (e.get("changed deps") or {}).items() if isinstance(e, dict) else []:
                changed += list(what) if isinstance(what, dict) else [dep]
        out[stage] = sorted(changed)
    return out


@pytest.mark.skipif(shutil.which("dvc") is None, reason="dvc not installed")
def test_one_extractor_edit_makes_only_its_stage_stale(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    for name in ("emsync", "flows", "tasks", "models"):
        shutil.copytree(ROOT / name, proj / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "dvc.yaml", proj)
    shutil.copy(ROOT / "params" / "demo.yaml", proj / "params.yaml")
    _dvc(proj, "init", "--no-scm", "-q")
    # the stages' data deps and outputs, as empty stand-ins: dvc commit records them without running
    for d in (
        "data/demo/videos",
        "data/demo_models",
        "data/features/clip",
        "data/features/beats",
        "data/features/rejects",
        "reports/features",
    ):
        (proj / d).mkdir(parents=True, exist_ok=True)
    for f in ("reports/inputs.json", "data/features/cuts.parquet"):
        (proj / f).write_text("{}\n")
    for name in ("clip", "beats"):
        (proj / "data" / "features" / "rejects" / f"{name}.parquet").write_bytes(b"")
        (proj / "reports" / "features" / f"{name}.json").write_text("{}\n")
    _dvc(proj, "commit", "-f", "-q", *STAGES)
    assert _stale(proj) == {}  # both recorded: up to date

    beats = proj / "emsync" / "video" / "extractors" / "beats.py"
    beats.write_text(beats.read_text() + "\n# an edit\n")
    assert _stale(proj) == {"features_beats": ["emsync/video/extractors/beats.py"]}
    _dvc(proj, "commit", "-f", "-q", *STAGES)

    network = proj / "models" / "beats.py"
    network.write_text(network.read_text() + "\n# an edit\n")
    assert _stale(proj) == {"features_beats": ["models/beats.py"]}
    _dvc(proj, "commit", "-f", "-q", *STAGES)

    params = proj / "params.yaml"
    params.write_text(params.read_text().replace("clip: data/demo_models/clip", "clip: data/demo_models/clip_v2"))
    assert _stale(proj) == {"features_clip": ["features.models.clip"]}
