"""The package layout: models/, tasks/ and flows/ exist once, at the checkout's root, and a wheel
ships them as emsync.models/.tasks/.flows (pyproject's package-dir), with no generic top-level
`models`, `tasks` or `flows` and no symlink anywhere in the repository."""

import os
import shutil
import subprocess
import sys
import tomllib
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAPPED = ("models", "tasks", "flows")


def _package_folders() -> set:
    """Every importable package of the checkout, by the name it has in the wheel."""
    names = {".".join(p.parent.relative_to(ROOT).parts) for p in (ROOT / "emsync").rglob("__init__.py")}
    for top in MAPPED:
        names |= {".".join(("emsync", *p.parent.relative_to(ROOT).parts)) for p in (ROOT / top).rglob("__init__.py")}
    return names


def test_pyproject_lists_every_package_and_maps_the_top_level_folders():
    """A subpackage missing from pyproject's list would silently be left out of the wheel."""
    tool = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["tool"]["setuptools"]
    assert set(tool["packages"]) == _package_folders()
    assert tool["package-dir"] == {f"emsync.{name}": name for name in MAPPED}


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_no_symlink_is_tracked():
    r = subprocess.run(["git", "ls-files", "-s"], cwd=ROOT, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        pytest.skip("not a git checkout")
    assert [line.split("\t")[1] for line in r.stdout.splitlines() if line.startswith("120000 ")] == []


def _build_wheel(tmp_path: Path) -> Path:
    """The wheel of a copy of the sources (setuptools writes build/ and *.egg-info beside them)."""
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src)
    for name in ("emsync", *MAPPED):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    cmd = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "--disable-pip-version-check"]
    subprocess.run([*cmd, ".", "-w", str(tmp_path / "dist")], cwd=src, check=True, capture_output=True, timeout=300)
    (wheel,) = (tmp_path / "dist").glob("emsync-*.whl")
    return wheel


@pytest.mark.slow  # builds a wheel and a virtual environment (about 10 s)
def test_wheel_installs_and_runs_outside_the_checkout(tmp_path):
    wheel = _build_wheel(tmp_path)
    names = zipfile.ZipFile(wheel).namelist()
    for f in (
        "emsync/models/music_transformer.py",
        "emsync/flows/tokens.py",
        "emsync/tasks/tokens.py",
        "emsync/cli/__init__.py",
        "emsync/weights/music/checkpoint.pt",
        "emsync/weights/music/MODEL_CARD.md",
    ):  # the shipped generator is package data
        assert f in names
    assert {n.split("/")[0] for n in names} == {"emsync", wheel.name.split("-py3")[0] + ".dist-info"}

    # dependencies come from this interpreter; only emsync itself is installed into the venv
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", "--without-pip", str(venv)], check=True, timeout=120)
    py = venv / "bin" / "python"
    subprocess.run([py, "-m", "pip", "install", "-q", "--no-deps", "--disable-pip-version-check", wheel], check=True, timeout=300)

    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    where = "import sys, emsync.models, emsync.flows.tokens as f; print(emsync.models.__file__, f.__file__, emsync._CheckoutFolders in sys.meta_path)"
    runs = {
        "usage: emsync": [venv / "bin" / "emsync", "--help"],
        "real": [
            py,
            "-c",
            "from emsync.music.generator import load_generator, packaged_checkpoint as p; print(load_generator(p())[1]['weights']['kind'])",
        ],
        "--params": [py, "-m", "emsync.flows.tokens", "--help"],
        "": [py, "-c", where],
    }
    for expected, cmd in runs.items():
        r = subprocess.run(cmd, cwd=elsewhere, env=env, capture_output=True, text=True, timeout=120)
        assert r.returncode == 0 and expected in r.stdout, (cmd, r.stdout[-1000:], r.stderr[-2000:])
    models_init, tokens_flow, checkout_finder = r.stdout.split()
    site = venv.resolve() / "lib"
    assert Path(models_init).resolve().is_relative_to(site) and Path(tokens_flow).resolve().is_relative_to(site)
    assert checkout_finder == "False"  # the installed package finds its own emsync/models, no checkout finder
