"""The project is where the user stands (STYLE 17): the root is the nearest folder
upward holding dvc.yaml (or EMSYNC_ROOT), never the package's install folder. One install acting
in two clones touches only the clone it runs in; a non-editable install in a venv runs
`emsync params use`, `generate` and `soundtrack` inside a clone."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from emsync.core.config import load_params, project_root
from emsync.core.errors import ParamsError

from _model_helpers import tiny_checkpoint
from _root import ROOT
from _videos import cut_video


def test_root_is_nearest_dvc_yaml_upward_or_emsync_root(tmp_path, monkeypatch):
    (tmp_path / "proj" / "sub" / "deep").mkdir(parents=True)
    (tmp_path / "proj" / "dvc.yaml").write_text("stages: {}\n")
    (tmp_path / "proj" / "params.yaml").write_text("generate: {top_p: 0.5}\n")
    monkeypatch.delenv("EMSYNC_ROOT", raising=False)
    monkeypatch.delenv("EMSYNC_PARAMS", raising=False)
    monkeypatch.chdir(tmp_path / "proj" / "sub" / "deep")
    assert project_root() == (tmp_path / "proj").resolve()
    assert load_params().generate.top_p == 0.5  # params.yaml of the project stood in
    assert load_params().path("data/x") == (tmp_path / "proj" / "data" / "x").resolve()
    monkeypatch.setenv("EMSYNC_ROOT", str(ROOT))
    assert project_root() == ROOT
    monkeypatch.delenv("EMSYNC_ROOT")
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ParamsError, match="no emsync project here.*EMSYNC_ROOT"):
        project_root()


def _clone(src, dst):
    subprocess.run(["git", "clone", "-q", "--no-hardlinks", str(src), str(dst)], check=True)
    return dst


def _env():
    env = {k: v for k, v in os.environ.items() if k not in ("EMSYNC_ROOT", "EMSYNC_PARAMS", "EMSYNC_REPORTS_DIR", "PYTHONPATH")}
    return {**env, "PYTHONDONTWRITEBYTECODE": "1"}


@pytest.fixture(scope="module")
def two_clones(tmp_path_factory):
    t = tmp_path_factory.mktemp("clones")
    return _clone(ROOT, t / "a"), _clone(ROOT, t / "b")


def test_one_install_two_clones_each_command_touches_its_own_clone(two_clones):
    a, b = two_clones
    run_a_code = "import sys; sys.path.insert(0, sys.argv[1]); from emsync.cli import main; sys.exit(main(sys.argv[2:]))"
    before = (a / "params.yaml").read_bytes()
    for clone in (b, b / "emsync"):  # from the clone root and from a subfolder
        (b / "params.yaml").write_bytes(before)
        r = subprocess.run(
            [sys.executable, "-c", run_a_code, str(a), "params", "use", "thesis"], cwd=clone, env=_env(), capture_output=True, text=True
        )
        assert r.returncode == 0, r.stderr
        assert (b / "params.yaml").read_bytes() == (b / "params" / "thesis.yaml").read_bytes()
        assert (a / "params.yaml").read_bytes() == before  # the install's own clone is untouched
    code = "import sys; sys.path.insert(0, sys.argv[1]); from emsync.core.config import project_root; print(project_root())"
    r = subprocess.run([sys.executable, "-c", code, str(a)], cwd=b, env=_env(), capture_output=True, text=True, check=True)
    assert Path(r.stdout.strip()) == b.resolve()


@pytest.mark.slow
def test_non_editable_install_in_a_venv_works_inside_a_clone(two_clones, tmp_path):
    a, b = two_clones
    venv = tmp_path / "venv"
    # --without-pip: the base pip and setuptools (with bdist_wheel) serve the venv; a bundled old setuptools would not
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True)
    py = venv / "bin" / "python"
    env = _env()
    r = subprocess.run(
        [str(py), "-m", "pip", "install", "-q", "--no-deps", "--no-build-isolation", "--no-index", str(a)],
        env=env,
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr[-2000:]
    emsync = venv / "bin" / "emsync"
    where = subprocess.run(
        [str(py), "-c", "import emsync; print(emsync.__file__)"], cwd=tmp_path, env=env, capture_output=True, text=True, check=True
    ).stdout
    assert "site-packages" in where  # the installed copy, not a clone

    r = subprocess.run([str(emsync), "params", "use", "thesis"], cwd=b / "data", env=env, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert (b / "params.yaml").read_bytes() == (b / "params" / "thesis.yaml").read_bytes()
    r = subprocess.run([str(emsync), "params", "use", "demo"], cwd=b, env=env, capture_output=True, text=True)
    assert r.returncode == 0 and (b / "params.yaml").read_bytes() == (b / "params" / "demo.yaml").read_bytes()
    assert not list(Path(where.strip()).parent.parent.glob("params.yaml"))  # nothing written into site-packages

    ckpt = b / load_params(b / "params.yaml").train.checkpoint  # where params say the checkpoint is
    ckpt.parent.mkdir(parents=True, exist_ok=True)
    tiny_checkpoint(ckpt)
    out = b / "out.mid"
    r = subprocess.run(
        [str(emsync), "generate", "--valence", "0.2", "--arousal", "0.1", "--duration", "3", "--seed", "1", "-o", "out.mid"],
        cwd=b,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert out.stat().st_size > 0
    video, _ = cut_video(tmp_path / "clip.mp4", [2.0, 2.0], size="96x64")
    r = subprocess.run(
        [str(emsync), "soundtrack", str(video), "-o", "scored.mp4", "-q", "--valence", "0.2", "--arousal", "0.1"],
        cwd=b,
        env=env,
        capture_output=True,
        text=True,
    )
    assert r.returncode == 0, r.stderr
    assert (b / "scored.mp4").stat().st_size > 0
    assert not (a / "out.mid").exists() and not (a / "scored.mp4").exists()
    shutil.rmtree(venv)
