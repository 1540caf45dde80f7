"""Params that do nothing are errors: every key in params.yaml is read by code.

A key counts as read when its name appears in the code outside emsync/core/config.py as an attribute
(`p.video.scene_threshold`), a keyword argument, or a string (`getattr(gp, "top_p")`, dict keys).
That is a name-level check: a key whose name some other section also reads still passes, but a key
that no code mentions at all (the kind that silently does nothing) fails here with its dotted name.
"""

import ast
import dataclasses
from pathlib import Path

from emsync.core import config

ROOT = Path(__file__).resolve().parent.parent


def _names_in_code() -> set:
    names = set()
    for folder in ("emsync", "flows", "tasks", "models", "scripts"):
        for f in (ROOT / folder).rglob("*.py"):
            if f == ROOT / "emsync" / "core" / "config.py":
                continue
            for n in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
                if isinstance(n, ast.Attribute):
                    names.add(n.attr)
                elif isinstance(n, ast.keyword) and n.arg:
                    names.add(n.arg)
                elif isinstance(n, ast.Constant) and isinstance(n.value, str):
                    names.add(n.value)
    return names


def unread_keys(params, names: set) -> list:
    """Dotted names of the params keys (section.key) whose name `names` does not hold."""
    out = []
    for section in dataclasses.fields(params):
        value = getattr(params, section.name)
        if not dataclasses.is_dataclass(value):
            continue
        out += [f"{section.name}.{f.name}" for f in dataclasses.fields(value) if f.name not in names]
    return out


def test_every_params_key_is_read_by_code():
    p = config.load_params(ROOT / "params.yaml")
    unread = unread_keys(p, _names_in_code())
    assert unread == [], f"params keys no code reads (wire them or remove them): {unread}"


def test_an_unread_key_is_caught():
    @dataclasses.dataclass(frozen=True)
    class Section:
        used: int = 1
        forgotten: float = 2.0

    @dataclasses.dataclass(frozen=True)
    class FakeParams:
        demo: Section = Section()

    assert unread_keys(FakeParams(), {"used"}) == ["demo.forgotten"]
