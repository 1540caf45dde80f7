"""The seams (STYLE habits 15, 16): layers only look down, and importing changes nothing.

Each test walks the real sources (the AST, not grep) or imports the real package in a fresh
interpreter, so a new module that breaks a rule fails here with its file and line.
"""

import ast
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _imports(path: Path):
    """(line, absolute module name, relative?) for every import in `path`, relative ones resolved
    against the file's folder (models/x.py: `from .y import` -> models.y)."""
    rel = path.relative_to(ROOT).with_suffix("")
    package = list(rel.parts[:-1])
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            for a in node.names:
                yield node.lineno, a.name, False
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module
            yield node.lineno, mod, bool(node.level)
            for a in node.names:  # `from emsync import cli` imports emsync.cli
                yield node.lineno, f"{mod}.{a.name}", bool(node.level)


def _sources(folder: str):
    return sorted(p for p in (ROOT / folder).rglob("*.py") if not p.is_symlink())


def _under(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def test_no_flow_imports_another_flow():
    bad = []
    for f in _sources("flows"):
        for line, mod, _ in _imports(f):
            for prefix in ("flows", "emsync.flows"):
                if _under(mod, prefix) and mod not in (prefix, f"{prefix}.{f.stem}"):
                    bad.append(f"{f.relative_to(ROOT)}:{line} imports {mod}")
    assert bad == []


def test_library_never_imports_the_cli():
    """Layers look down: cli/ parses and prints; the library (and `python -m emsync`'s __main__,
    which is the CLI's entry point) never reaches up into it."""
    lib = [f for f in _sources("emsync") if f.relative_to(ROOT / "emsync").parts[0] not in ("cli", "__main__.py")]
    lib += _sources("tasks") + _sources("flows") + _sources("models")
    bad = [f"{f.relative_to(ROOT)}:{line} imports {mod}" for f in lib for line, mod, _ in _imports(f) if _under(mod, "emsync.cli")]
    assert bad == []


def test_models_import_nothing_from_emsync():
    bad = [
        f"{f.relative_to(ROOT)}:{line} imports {mod}"
        for f in _sources("models")
        for line, mod, _ in _imports(f)
        if _under(mod, "emsync") and not _under(mod, "emsync.models")
    ]
    assert bad == []


def test_models_tasks_flows_live_in_the_emsync_namespace():
    """One import namespace (issue 12 item 7): the top-level folders are emsync.models/.tasks/.flows,
    so an install never puts a generic `models` package into site-packages."""
    for name in ("models", "tasks", "flows"):
        link = ROOT / "emsync" / name
        assert link.is_symlink() and link.resolve() == (ROOT / name).resolve()
    bad = [
        f"{f.relative_to(ROOT)}:{line} imports {mod}"
        for folder in ("emsync", "tasks", "flows", "models", "tests")
        for f in _sources(folder)
        for line, mod, relative in _imports(f)
        if not relative and mod.split(".")[0] in ("models", "tasks", "flows")
    ]
    assert bad == []


IMPORT_ALL = """
import ast, importlib, json, os, pkgutil, sys
from pathlib import Path
import emsync
mods = sorted((m.name, m.module_finder.path) for m in pkgutil.walk_packages(emsync.__path__, "emsync.") if not m.name.endswith("__main__"))
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

    from emsync.env import OFFLINE_DEFAULTS

    unset = {*OFFLINE_DEFAULTS, "PREFECT_LOCAL_STORAGE_PATH", "PREFECT_LOGGING_LEVEL", "YOLO_CONFIG_DIR"}
    env = {k: v for k, v in os.environ.items() if k not in unset}
    r = subprocess.run([sys.executable, "-c", IMPORT_ALL], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert {"emsync.flowkit", "emsync.checks", "emsync.video.loading", "emsync.flows.features", "emsync.models.generation"} <= set(
        out["modules"]
    )
    assert out["changed"] == [] and out["same_hook"]
