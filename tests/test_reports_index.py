"""reports/index.{md,html}: every report with the stage, params and DVC md5 from a real dvc.lock; figures inline."""

import base64
import subprocess
import sys

import yaml

from emsync.pipeline.reports_index import build

MAKE = """import sys, pathlib, yaml, matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
a = yaml.safe_load(open("params.yaml"))["alpha"]
pathlib.Path("reports").mkdir(exist_ok=True)
pathlib.Path("reports/table.md").write_text(f"# Table 4.1 (demo)\\n\\n| mode | nll |\\n|---|---|\\n| none | {a} |\\n")
plt.plot([0, 1], [0, a]); plt.savefig("reports/curve.png")
pathlib.Path("reports/m.json").write_text('{"nll": %s}' % a)
"""


def _dvc(cwd, *args):
    r = subprocess.run(["dvc", *args], cwd=cwd, capture_output=True, text=True, timeout=180)
    assert r.returncode == 0, r.stderr[-2000:]


def test_index_names_stage_params_and_dvc_md5_and_inlines_figures(tmp_path):
    (tmp_path / "make.py").write_text(MAKE)
    (tmp_path / "params.yaml").write_text("alpha: 3\n")
    _dvc(tmp_path, "init", "--no-scm", "-q")
    _dvc(
        tmp_path,
        "stage",
        "add",
        "-q",
        "-n",
        "make",
        "-p",
        "alpha",
        "-d",
        "make.py",
        "-o",
        "reports/table.md",
        "-o",
        "reports/curve.png",
        "-M",
        "reports/m.json",
        f"{sys.executable} make.py",
    )
    _dvc(tmp_path, "repro", "-q")
    lock = yaml.safe_load((tmp_path / "dvc.lock").read_text())["stages"]["make"]
    md5 = {o["path"]: o["md5"] for o in lock["outs"]}

    md_path, html_path = build(tmp_path / "reports", root=tmp_path)
    md = md_path.read_text()
    assert f"- [Table 4.1 (demo)](table.md) — stage `make`, DVC md5 `{md5['reports/table.md']}`, params: alpha=3" in md
    assert f"[curve](curve.png) — stage `make`, DVC md5 `{md5['reports/curve.png']}`" in md
    assert "[m](m.json)" in md and "index" not in md.split("## ", 1)[1]
    page = html_path.read_text()
    assert base64.b64encode((tmp_path / "reports" / "curve.png").read_bytes()).decode() in page
    assert "<table>" in page and "<td>3</td>" in page

    # a changed parameter is a new entry after the stage re-runs
    (tmp_path / "params.yaml").write_text("alpha: 5\n")
    _dvc(tmp_path, "repro", "-q")
    md, _ = build(tmp_path / "reports", root=tmp_path)
    assert "params: alpha=5" in md.read_text() and "<td>5</td>" in (tmp_path / "reports" / "index.html").read_text()
