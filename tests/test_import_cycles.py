"""No two modules of the project import each other, directly or around a loop (lazy imports inside
functions count: they still tie the two modules' meaning together)."""

import ast
from pathlib import Path

import networkx as nx

ROOT = Path(__file__).resolve().parent.parent
TOP = ("emsync", "flows", "tasks", "models")


def _modules() -> dict:
    """{module name: file} for every source file, the top-level folders under their emsync.* name."""
    out = {}
    for top in TOP:
        for p in sorted((ROOT / top).rglob("*.py")):
            parts = list(p.relative_to(ROOT).with_suffix("").parts)
            parts = parts[:-1] if parts[-1] == "__init__" else parts
            out[".".join(parts if parts[0] == "emsync" else ["emsync", *parts])] = p
    return out


def _canonical(name: str, mods: dict) -> str | None:
    """The project module an imported name lands in (emsync.music.vocab.PAD -> emsync.music.vocab)."""
    name = f"emsync.{name}" if name.split(".")[0] in TOP[1:] else name
    while name and name not in mods:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(mods: dict) -> nx.DiGraph:
    g = nx.DiGraph()
    for mod, path in mods.items():
        package = mod.split(".") if path.name == "__init__.py" else mod.split(".")[:-1]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = ".".join(package[: len(package) - node.level + 1] + [node.module or ""]).strip(".") if node.level else node.module
                names = [base] + [f"{base}.{a.name}" for a in node.names]
            else:
                continue
            for target in filter(None, (_canonical(n, mods) for n in names)):
                if target != mod and not mod.startswith(target + "."):  # a package's own __init__ is no cycle
                    g.add_edge(mod, target)
    return g


def test_no_import_cycle():
    cycles = [sorted(c) for c in nx.strongly_connected_components(import_graph(_modules())) if len(c) > 1]
    assert cycles == [], f"modules that import each other: {cycles}"


def test_a_planted_cycle_is_found(tmp_path):
    (tmp_path / "a.py").write_text("def f():\n    from emsync.b import g\n")
    (tmp_path / "b.py").write_text("from emsync.a import f\n")
    g = import_graph({"emsync.a": tmp_path / "a.py", "emsync.b": tmp_path / "b.py"})
    assert [sorted(c) for c in nx.strongly_connected_components(g) if len(c) > 1] == [["emsync.a", "emsync.b"]]


def test_core_imports_no_other_emsync_package():
    """emsync/core/ is the bottom of the library (README, Module map): none of its modules imports,
    even lazily, a module outside it."""
    g = import_graph(_modules())
    core = [m for m in g if m.startswith("emsync.core.")]
    assert {"emsync.core.config", "emsync.core.io", "emsync.core.provenance"} <= set(core)
    assert sorted((a, b) for a in core for b in g.successors(a) if not b.startswith("emsync.core")) == []


def test_a_core_module_importing_upward_is_found(tmp_path):
    (tmp_path / "io.py").write_text("def f():\n    from emsync.pipeline.stages import STAGES\n")
    (tmp_path / "stages.py").write_text("STAGES = ()\n")
    g = import_graph({"emsync.core.io": tmp_path / "io.py", "emsync.pipeline.stages": tmp_path / "stages.py"})
    assert list(g.successors("emsync.core.io")) == ["emsync.pipeline.stages"]
