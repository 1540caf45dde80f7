"""DVC deps are complete and derived (issue 12 item 4): each flow stage's code deps in dvc.yaml equal
its declared list (emsync.stages.STAGE_CODE), that list covers every module the flow imports, and
the flow's Prefect cache key hashes the same list."""

import ast
from pathlib import Path

import pytest
import yaml

from emsync.stages import STAGE_CODE, code_files, digest, stage_digest

ROOT = Path(__file__).resolve().parent.parent
CODE_PREFIXES = ("emsync/", "flows/", "tasks/", "models/", "scripts/")


def _flow_stages() -> dict:
    """{flow name: code deps} for every dvc.yaml stage that runs `python -m flows.<name>`."""
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    out = {}
    for st in stages.values():
        st = st.get("do", st)  # a foreach stage: its template
        cmd = st["cmd"]
        if cmd.startswith("python -m flows."):
            deps = [d for d in st.get("deps", []) if isinstance(d, str) and d.startswith(CODE_PREFIXES)]
            out[cmd.split("flows.")[1].split()[0]] = deps
    return out


def _module_file(name: str):
    parts = name.split(".")
    if parts[0] == "emsync" and len(parts) > 1 and parts[1] in ("models", "tasks", "flows"):
        parts = parts[1:]  # emsync.models -> the top-level models/ folder (the symlink's target)
    elif parts[0] not in ("emsync", "models", "tasks", "flows"):
        return None
    p = ROOT.joinpath(*parts)
    for cand in (p / "__init__.py", p.with_suffix(".py")):
        if cand.exists():
            return cand
    return None


def _import_closure(start: Path) -> set:
    """Repository .py files reachable from `start` through static imports (lazy ones included)."""
    seen, todo = set(), [start]
    while todo:
        f = todo.pop()
        if f in seen:
            continue
        seen.add(f)
        package = list(f.relative_to(ROOT).parts[:-1])
        for n in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = []
            if isinstance(n, ast.Import):
                names = [a.name for a in n.names]
            elif isinstance(n, ast.ImportFrom):
                base = ".".join(package[: len(package) - n.level + 1] + ([n.module] if n.module else [])) if n.level else n.module
                names = [base] + [f"{base}.{a.name}" for a in n.names]
            todo += [g for g in map(_module_file, names) if g is not None and g not in seen]
    return seen


def test_every_flow_stage_has_a_declared_code_list():
    assert sorted(_flow_stages()) == sorted(STAGE_CODE)


@pytest.mark.parametrize("stage", sorted(STAGE_CODE))
def test_dvc_code_deps_equal_the_declared_list(stage):
    deps = _flow_stages()[stage]
    assert len(deps) == len(set(deps)) and sorted(deps) == sorted(STAGE_CODE[stage])


@pytest.mark.parametrize("stage", sorted(STAGE_CODE))
def test_declared_list_covers_every_module_the_flow_imports(stage):
    declared = {f.resolve() for f in code_files(STAGE_CODE[stage])}
    markers = {ROOT / d / "__init__.py" for d in ("tasks", "models", "flows")}  # empty package markers
    missing = sorted(
        str(f.relative_to(ROOT)) for f in _import_closure(ROOT / "flows" / f"{stage}.py") - markers if f.resolve() not in declared
    )
    assert missing == [], f"add to emsync.stages.STAGE_CODE[{stage!r}] and dvc.yaml: {missing}"


@pytest.mark.parametrize("stage", ["demo_data", "labeling", "tokens", "train", "evaluate"])
def test_the_flow_keys_its_tasks_on_the_declared_code(stage):
    src = (ROOT / "flows" / f"{stage}.py").read_text(encoding="utf-8")
    calls = [n for n in ast.walk(ast.parse(src)) if isinstance(n, ast.Call) and getattr(n.func, "id", None) == "stage_digest"]
    assert [c.args[0].value for c in calls] == [stage]


def test_the_digest_follows_the_bytes_and_names(tmp_path):
    a, b = tmp_path / "a.py", tmp_path / "b.py"
    a.write_text("x = 1\n")
    b.write_text("x = 1\n")
    first = digest([a])
    assert digest([a]) == first and digest([b]) != first  # same bytes, other file: another key
    a.write_text("x = 2\n")
    assert digest([a]) != first
    assert len(stage_digest("tokens")) == 32
