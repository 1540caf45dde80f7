"""Write dvc.yaml from the stage declarations (emsync.stages.STAGES): each stage's command, its code
deps (the same list its Prefect cache keys hash), data deps, params, outs, metrics and plots.

    python scripts/write_dvc_yaml.py           # rewrite dvc.yaml
    python scripts/write_dvc_yaml.py --check   # exit 1 when dvc.yaml is not what the declarations give

A new stage, or a new registered extractor (its EXTRACTOR_CODE entry): declare it in
emsync/stages.py and run this script. tests/test_stage_code.py checks dvc.yaml is in sync.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = """\
# Written by scripts/write_dvc_yaml.py from the stage declarations in emsync/stages.py: edit those, not this file.
# Each stage runs one Prefect flow. Data deps are DVC params templates (`${labeling.midi_dir}`...) read from
# params.yaml, so each stage depends on the folders its active parameter set names. Per-item output folders are
# `persist: true`: Prefect's task cache (data/prefect_results) relies on them surviving a re-run, which DVC would
# otherwise delete.
stages:
"""
SECTIONS = ("params", "outs", "metrics", "plots")


def _scalar(v) -> str:
    return "true" if v is True else "false" if v is False else str(v)


def _entry(e, ind: str) -> list:
    """YAML lines of one list entry: "path[  # note]" or (path, {options} | None[, note])."""
    if isinstance(e, str):
        return [f"{ind}- {e}"]
    path, opts, *note = e
    tail = f"  # {note[0]}" if note else ""
    if not opts:
        return [f"{ind}- {path}:{tail}"]
    lines = [f"{ind}- {path}:"] + [f"{ind}    {k}: {_scalar(v)}" for k, v in opts.items()]
    return lines[:-1] + [lines[-1] + tail]


def stage_yaml(s) -> list:
    """The lines of one stage (a foreach stage's body under `do:`)."""
    notes = dict(s.section_notes)
    ind = "      " if s.foreach else "    "
    head = [f"  {s.name}:" + (f"  # {s.note}" if s.note else "")]
    if s.foreach:
        head += [f"    foreach: {s.foreach}", "    do:"]
    body = [f"{ind}cmd: {s.cmd}"]
    if s.frozen:
        body.append(f"{ind}frozen: true")
    if s.code or s.deps:
        body.append(f"{ind}deps:")
        if s.code and s.flow:
            body.append(f"{ind}  # code: emsync.stages.STAGE_CODE[{(s.code_key or s.name)!r}], also the stage's Prefect cache key")
        body += [line for e in (*s.code, *s.deps) for line in _entry(e, ind + "  ")]
    for section in SECTIONS:
        entries = getattr(s, section)
        if entries:
            body.append(f"{ind}{section}:" + (f"  # {notes[section]}" if section in notes else ""))
            body += [line for e in entries for line in _entry(e, ind + "  ")]
    return head + body


def dvc_yaml() -> str:
    from emsync.stages import STAGES

    return HEADER + "\n".join("\n".join(stage_yaml(s)) + "\n" for s in STAGES)


if __name__ == "__main__":
    path = ROOT / "dvc.yaml"
    text = path.read_text()
    new = dvc_yaml()
    if "--check" in sys.argv:
        print("dvc.yaml: " + ("in sync" if new == text else "out of date (run python scripts/write_dvc_yaml.py)"))
        sys.exit(0 if new == text else 1)
    if new != text:
        path.write_text(new)
    print(f"dvc.yaml: {'rewritten' if new != text else 'already in sync'}")
