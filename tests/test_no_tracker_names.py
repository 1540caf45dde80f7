"""Code, tests and params say what they do, not which tracker entry asked for it: no "issue <n>"
(the tracker is not part of the project and its numbers mean nothing to a reader of the code)."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TRACKER = re.compile("issue" + r" ?#?\d", re.IGNORECASE)  # split so this file does not match itself
FOLDERS = ("emsync", "flows", "tasks", "models", "tests", "scripts", "params")


def tracker_references(root: Path) -> list:
    """`path:line: text` of every tracker reference in the project's sources and params."""
    out = []
    for folder in FOLDERS:
        for f in sorted((root / folder).rglob("*")):
            if f.suffix not in (".py", ".yaml", ".md"):
                continue
            for n, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
                if TRACKER.search(line):
                    out.append(f"{f.relative_to(root)}:{n}: {line.strip()[:100]}")
    return out


def test_no_tracker_reference_in_code_tests_or_params():
    assert tracker_references(ROOT) == []


def test_a_planted_reference_is_found(tmp_path):
    planted = '"""Bounds (' + "Issue" + ' 10 item 2)."""'
    (tmp_path / "emsync").mkdir()
    (tmp_path / "emsync" / "x.py").write_text(planted + "\n")
    assert tracker_references(tmp_path) == [f"emsync/x.py:1: {planted}"]
