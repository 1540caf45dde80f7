"""The layers (STYLE habits 15, 16): layers only look down, and importing changes nothing.

Each test walks the real sources (the AST, not grep) or imports the real package in a fresh
interpreter, so a new module that breaks a rule fails here with its file and line.
"""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


# Layers, lowest first: a module imports only from its own layer or the ones below it.
LAYERS = ("models", "library", "tasks", "flows", "cli")
MODELS_BANNED = ("prefect", "duckdb", "dvc")  # models/ is pure PyTorch: no orchestration, store or pipeline
DYNAMIC = ("import_module", "__import__", "run_module")  # importlib.import_module("x"), runpy.run_module("x")


def module_name(path: Path) -> str:
    """The name a source file loads under: emsync/x/y.py -> emsync.x.y; the top-level models/,
    tasks/ and flows/ folders are the emsync.models/.tasks/.flows packages."""
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    parts = parts if parts[0] == "emsync" else ["emsync", *parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _dynamic_target(node: ast.Call):
    """The module a dynamic import names by a literal (an f-string's literal head counts)."""
    name = getattr(node.func, "attr", None) or getattr(node.func, "id", None)
    if name not in DYNAMIC or not node.args:
        return None
    arg = node.args[0]
    if isinstance(arg, ast.Constant) and isinstance(arg.value, str):
        return arg.value
    if isinstance(arg, ast.JoinedStr) and arg.values and isinstance(arg.values[0], ast.Constant):
        return arg.values[0].value.rstrip(".") or None
    return None


def imports(module: str, source: str, is_package: bool = False):
    """(line, absolute module name) of every import in `source`, which loads as `module`:
    relative imports resolve in that namespace (models/x.py's `from ..tasks import t` is
    emsync.tasks.t), `from a import b` also yields a.b, and dynamic imports by literal count."""
    package = module.split(".") if is_package else module.split(".")[:-1]
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module
            yield node.lineno, base
            for a in node.names:  # `from emsync import cli` imports emsync.cli
                yield node.lineno, f"{base}.{a.name}"
        elif isinstance(node, ast.Call):
            target = _dynamic_target(node)
            if target and not target.startswith("."):
                yield node.lineno, target


def layer(module: str):
    """Which layer an emsync module belongs to (None: not ours)."""
    parts = module.split(".")
    if parts[0] != "emsync":
        return None
    if len(parts) > 1 and parts[1] in ("cli", "__main__"):
        return "cli"
    if len(parts) > 1 and parts[1] in ("models", "tasks", "flows"):
        return parts[1]
    return "library"


def violations(module: str, source: str, is_package: bool = False) -> list:
    """Every import in `source` (loading as `module`) that breaks a layer rule, one line each."""
    own = layer(module)
    bad = []
    for line, target in imports(module, source, is_package):
        if target.split(".")[0] in ("models", "tasks", "flows"):
            target = f"emsync.{target}"
        where = f"{module}:{line} imports {target}"
        theirs = layer(target)
        if theirs is not None and LAYERS.index(theirs) > LAYERS.index(own):
            bad.append(f"{where}: {own} may not import {theirs}")
        elif own == theirs == "flows" and target.split(".")[2:3] not in ([], module.split(".")[2:3]):
            bad.append(f"{where}: a flow never imports another flow")
        elif own == "models" and target.split(".")[0] in MODELS_BANNED:
            bad.append(f"{where}: models/ is pure PyTorch")
    return _one_per_line(bad)


def _one_per_line(bad: list) -> list:
    """One report per import statement (`from a import b` yields both a and a.b)."""
    seen, out = set(), []
    for b in bad:
        line = b.split(" imports ")[0]
        if line not in seen:
            seen.add(line)
            out.append(b)
    return out


def _sources(folder: str):
    return sorted((ROOT / folder).rglob("*.py"))


def test_layers_only_look_down():
    """cli > flows > tasks > library > models, for every module of the package (the files under
    emsync/, models/, tasks/ and flows/, named as they load)."""
    files = [f for folder in ("emsync", "models", "tasks", "flows") for f in _sources(folder)]
    assert len(files) > 100
    bad = [v for f in files for v in violations(module_name(f), f.read_text(encoding="utf-8"), f.name == "__init__.py")]
    assert bad == []


@pytest.mark.parametrize(
    "path, source",
    [
        ("emsync/soundtrack.py", "from emsync.flows import soundtrack"),
        ("tasks/train.py", "from emsync.flows.train import train_flow"),
        ("models/vemoclap.py", "from ..tasks import train"),
        ("models/classifiers.py", "import duckdb"),
        ("emsync/pipeline/store.py", "import importlib\nimportlib.import_module('emsync.cli')"),
        ("flows/train.py", "from . import tokens"),
        ("flows/train.py", "import flows.tokens"),
        ("emsync/music/generator.py", "import importlib\nimportlib.import_module(f'emsync.tasks.{name}')"),
    ],
    ids=[
        "library-imports-a-flow",
        "task-imports-a-flow",
        "model-imports-a-task-relatively",
        "model-imports-duckdb",
        "library-imports-the-cli-dynamically",
        "flow-imports-another-flow",
        "flow-imports-another-flow-by-its-folder-name",
        "library-imports-tasks-by-f-string",
    ],
)
def test_each_kind_of_violation_is_caught(path, source):
    """The rule's own test: each planted import, in the file named, is reported."""
    assert len(violations(module_name(ROOT / path), source)) == 1


def test_imports_resolve_in_the_namespace_the_file_loads_under():
    assert module_name(ROOT / "models" / "vemoclap.py") == "emsync.models.vemoclap"
    assert module_name(ROOT / "emsync" / "cli" / "__init__.py") == "emsync.cli"
    assert [m for _, m in imports("emsync.models.vemoclap", "from .classifier_blocks import Block")] == [
        "emsync.models.classifier_blocks",
        "emsync.models.classifier_blocks.Block",
    ]
    assert [m for _, m in imports("emsync.cli", "from . import run", is_package=True)] == ["emsync.cli", "emsync.cli.run"]
    assert violations("emsync.flows.train", "from emsync.tasks import train\nfrom emsync.core import config\nimport torch") == []


def _absolute_imports(path: Path):
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            yield from ((node.lineno, a.name) for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level:
            yield node.lineno, node.module


def test_models_tasks_flows_live_in_the_emsync_namespace():
    """One import namespace: the top-level folders load as emsync.models/.tasks/.flows (no copy or
    link under emsync/), and no module imports them under a bare `models`/`tasks`/`flows` name."""
    import importlib

    for name in ("models", "tasks", "flows"):
        assert not (ROOT / "emsync" / name).exists()
        assert Path(importlib.import_module(f"emsync.{name}").__file__) == ROOT / name / "__init__.py"
    bad = [
        f"{f.relative_to(ROOT)}:{line} imports {mod}"
        for folder in ("emsync", "tasks", "flows", "models", "tests")
        for f in _sources(folder)
        for line, mod in _absolute_imports(f)
        if mod.split(".")[0] in ("models", "tasks", "flows")
    ]
    assert bad == []


IMPORT_ALL = """
import ast, importlib, json, os, pkgutil, sys
from pathlib import Path
import emsync, emsync.flows, emsync.models, emsync.tasks
# in a checkout models/, tasks/ and flows/ sit beside emsync/, so each is walked from its own path
pkgs = (emsync, emsync.models, emsync.tasks, emsync.flows)
mods = sorted({(m.name, m.module_finder.path) for p in pkgs for m in pkgutil.walk_packages(p.__path__, p.__name__ + ".") if not m.name.endswith("__main__")})
# Third-party packages may set variables when imported (transformers' models set TORCHINDUCTOR_CACHE_DIR):
# import every module-level third-party import first, so only emsync's own effects are compared.
for name, folder in mods:
    f = Path(folder) / (name.rsplit(".", 1)[1] + ".py")
    f = f if f.exists() else Path(folder) / name.rsplit(".", 1)[1] / "__init__.py"
    for node in ast.parse(f.read_text()).body:
        if isinstance(node, ast.Import):
            pairs = [(a.name, None) for a in node.names]
        elif isinstance(node, ast.ImportFrom) and not node.level:
            pairs = [(node.module, a.name) for a in node.names]
        else:
            continue
        for module, attr in pairs:
            if not module.startswith("emsync"):
                try:
                    getattr(importlib.import_module(module), attr or "__name__", None)  # lazy modules load on access
                except ImportError:
                    pass
before, hook = dict(os.environ), sys.excepthook
for name, _ in mods:
    importlib.import_module(name)
changed = sorted(k for k in set(before) | set(os.environ) if before.get(k) != os.environ.get(k))
print(json.dumps({"modules": [n for n, _ in mods], "changed": changed, "same_hook": sys.excepthook is hook}))
"""


def test_importing_emsync_leaves_the_environment_unchanged():
    """Every emsync module (flows/tasks/models included) imported in a clean interpreter: os.environ
    and sys.excepthook stay as they were; only entry points call env.apply_defaults()."""
    import json
    import os

    from emsync.core.env import OFFLINE_DEFAULTS

    unset = {*OFFLINE_DEFAULTS, "PREFECT_LOCAL_STORAGE_PATH", "PREFECT_LOGGING_LEVEL", "YOLO_CONFIG_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    r = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert {
        "emsync.pipeline.flowkit",
        "emsync.pipeline.checks",
        "emsync.video.loading",
        "emsync.flows.features",
        "emsync.models.generation",
    } <= set(out["modules"])
    assert out["changed"] == [] and out["same_hook"]
