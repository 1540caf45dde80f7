"""DVC experiments on a tiny project built like emsync's stages: its params.yaml
has emsync's `video` section, the stage reads it with emsync.core.config.load_params, runs the real
FFmpeg scene-cut detector (§5.1) on a DVC-tracked clip and writes a DVC metric. `dvc exp run -S`
changes `video.scene_threshold` and the metric follows it; a queued sweep runs both queued points
and `dvc exp show --json` lists each with its own metric."""

import json
import os
import shutil
import subprocess
import sys

import pytest
import yaml

from _root import ROOT
from _videos import cut_video
from emsync.video.cuts import ffmpeg_cuts, ffmpeg_scores

pytestmark = [pytest.mark.slow, pytest.mark.skipif(not shutil.which("dvc"), reason="dvc not installed")]

STAGE = """from emsync.core.config import load_params
from emsync.core.io import write_json
from emsync.video.cuts import detect_cuts

p = load_params().video
cuts = detect_cuts("clip.mp4", threshold=p.scene_threshold, method=p.cut_method)
write_json("metrics.json", {"n_cuts": len(cuts), "cuts": cuts})
"""


def _run(cmd, cwd, env, timeout=180):
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(cmd)}:\n{(r.stdout + r.stderr)[-3000:]}"
    return r.stdout


def _metrics_by_threshold(show):
    """{scene_threshold: n_cuts} for the baseline and every experiment in `dvc exp show --json`."""
    out = {}

    def add(data):
        t = data["params"]["params.yaml"]["data"]["video"]["scene_threshold"]
        out[t] = data["metrics"]["metrics.json"]["data"]["n_cuts"]

    for row in show:
        if row["rev"] == "workspace":
            continue
        add(row["data"])
        for exp in row.get("experiments") or []:
            for rev in exp["revs"]:
                assert rev["error"] is None, rev["error"]
                add(rev["data"])
    return out


def test_exp_run_and_a_queued_sweep_over_the_scene_threshold(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    # three scenes of different sources: cuts at 1 s and 2 s, with different scene scores
    _, truth = cut_video(proj / "clip.mp4", [1.0, 1.0, 1.0], size="160x120")
    scores = dict(ffmpeg_scores(proj / "clip.mp4")[0])
    cut_scores = sorted(max(s for t, s in scores.items() if abs(t - c) < 0.05) for c in truth)
    # sweep points: below both cut scores, between them (when they differ), above both
    points = [0.27, round((cut_scores[0] + cut_scores[1]) / 2, 4), 0.999]
    expected = {t: len(ffmpeg_cuts(proj / "clip.mp4", t)) for t in points}
    assert expected[0.27] == 2 and expected[0.999] == 0

    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1", "EMSYNC_PARAMS": ""}
    env.pop("EMSYNC_ROOT", None)
    _run(["git", "init", "-q"], proj, env)
    _run(["git", "config", "user.email", "t@example.com"], proj, env)
    _run(["git", "config", "user.name", "t"], proj, env)
    _run(["dvc", "init", "-q"], proj, env)
    _run(["dvc", "add", "-q", "clip.mp4"], proj, env)
    (proj / "stage.py").write_text(STAGE)
    (proj / "params.yaml").write_text(yaml.safe_dump({"video": {"scene_threshold": 0.27, "cut_method": "ffmpeg"}}))
    (proj / "dvc.yaml").write_text(
        yaml.safe_dump(
            {
                "stages": {
                    "cuts": {
                        "cmd": f"{sys.executable} stage.py",
                        "deps": ["stage.py", "clip.mp4"],
                        "params": ["video.scene_threshold", "video.cut_method"],
                        "metrics": [{"metrics.json": {"cache": False}}],
                    }
                }
            }
        )
    )
    _run(["dvc", "repro", "-q"], proj, env)
    _run(["git", "add", "-A"], proj, env)
    _run(["git", "commit", "-qm", "baseline"], proj, env)
    assert json.loads((proj / "metrics.json").read_text())["n_cuts"] == expected[0.27]

    # one experiment: its metric differs from the baseline's and matches FFmpeg at that threshold
    _run(["dvc", "exp", "run", "-S", "video.scene_threshold=0.999"], proj, env)
    assert json.loads((proj / "metrics.json").read_text())["n_cuts"] == expected[0.999] != expected[0.27]

    # a queued sweep: two points queued, run by the queue's worker, both listed with their metric
    _run(["dvc", "exp", "run", "--queue", "-S", f"video.scene_threshold={points[1]}"], proj, env)
    _run(["dvc", "exp", "run", "--queue", "-S", "video.scene_threshold=0.0"], proj, env)
    _run(["dvc", "exp", "run", "--run-all"], proj, env, timeout=300)
    shown = _metrics_by_threshold(json.loads(_run(["dvc", "exp", "show", "--json"], proj, env)))
    expected[0.0] = len(ffmpeg_cuts(proj / "clip.mp4", 0.0))
    assert shown == expected
    assert expected[0.0] > expected[0.27]  # every changed frame is a "cut" at threshold 0
