"""A fresh clone gets the pipeline's outputs from the DVC remote: `dvc push` to a local
remote named like emsync's (a folder beside the clone, relative to .dvc/), `git clone`, `dvc pull`,
and `dvc status` says up to date with the same bytes as the original."""

import configparser
import os
import shutil
import subprocess
import sys

import pytest

from _root import ROOT

pytestmark = pytest.mark.skipif(not shutil.which("dvc"), reason="dvc not installed")

STAGE = """import hashlib, pathlib
src = pathlib.Path("raw/in.txt").read_bytes()
out = pathlib.Path("out"); out.mkdir(exist_ok=True)
for i in range(3):
    (out / f"part{i}.txt").write_text(hashlib.sha256(src + bytes([i])).hexdigest())
"""


def _run(cmd, cwd, timeout=120):
    env = {**os.environ, "DVC_NO_ANALYTICS": "1", "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com"}
    env.update(GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com")
    r = subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, f"{' '.join(cmd)}:\n{(r.stdout + r.stderr)[-3000:]}"
    return r.stdout


def test_the_repository_names_a_local_default_remote():
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / ".dvc" / "config")
    assert cfg["core"]["remote"] == "local"
    url = cfg["'remote \"local\"'"]["url"]
    assert "://" not in url and not os.path.isabs(url)  # a folder beside the clone, relative to .dvc/


@pytest.mark.slow
def test_fresh_clone_pulls_from_the_local_remote_and_is_up_to_date(tmp_path):
    work = tmp_path / "work"
    proj = work / "proj"
    (proj / "raw").mkdir(parents=True)
    _run(["git", "init", "-q"], proj)
    _run(["dvc", "init", "-q"], proj)
    # the same layout as emsync's .dvc/config: a folder beside the clone, written relative to .dvc/
    _run(["dvc", "remote", "add", "-d", "local", "../remote"], proj)
    assert "url = ../../remote" in (proj / ".dvc" / "config").read_text()
    (proj / "raw" / "in.txt").write_text("demo input\n")
    _run(["dvc", "add", "-q", "raw/in.txt"], proj)
    (proj / "stage.py").write_text(STAGE)
    _run(
        ["dvc", "stage", "add", "-q", "-n", "parts", "-d", "stage.py", "-d", "raw/in.txt", "-o", "out", f"{sys.executable} stage.py"], proj
    )
    _run(["dvc", "repro", "-q"], proj)
    _run(["git", "add", "-A"], proj)
    _run(["git", "commit", "-qm", "pipeline"], proj)
    _run(["dvc", "push", "-q"], proj)
    assert (work / "remote" / "files" / "md5").is_dir()
    original = {p.name: p.read_text() for p in (proj / "out").iterdir()}

    clone = work / "clone"
    _run(["git", "clone", "-q", str(proj), str(clone)], work)
    assert not (clone / "out").exists() and not (clone / "raw" / "in.txt").exists()
    _run(["dvc", "pull", "-q"], clone)
    assert {p.name: p.read_text() for p in (clone / "out").iterdir()} == original
    assert (clone / "raw" / "in.txt").read_text() == "demo input\n"
    assert "Data and pipelines are up to date" in _run(["dvc", "status"], clone)
    assert "Cache and remote 'local' are in sync" in _run(["dvc", "status", "--cloud"], clone)
    # and nothing runs again: the pulled outputs are the pipeline's
    assert "didn't change, skipping" in _run(["dvc", "repro"], clone)
