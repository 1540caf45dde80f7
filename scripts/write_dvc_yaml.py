"""Write dvc.yaml from the stage declarations (emsync.pipeline.stages.STAGES): each stage's command, its code
deps (the same list its Prefect cache keys hash), data deps, params, outs, metrics and plots.

    python scripts/write_dvc_yaml.py           # rewrite dvc.yaml (and pipelines/*/dvc.yaml)
    python scripts/write_dvc_yaml.py --check   # exit 1 when a dvc.yaml is not what the declarations give

Stages declared with a `pipeline` folder go to that folder's dvc.yaml (e.g. pipelines/real_music),
with `wdir` back to the root, so their paths and params are the root's and the demo `dvc repro`
(the root dvc.yaml) never runs them.

A new stage, or a new registered extractor (its EXTRACTOR_CODE entry): declare it in
emsync/pipeline/stages.py and run this script. tests/test_stage_code.py checks dvc.yaml is in sync.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HEADER = """\
# Written by scripts/write_dvc_yaml.py from the stage declarations in emsync/pipeline/stages.py: edit those, not this file.
# Each stage runs one Prefect flow. Data deps are DVC params templates (`${labeling.midi_dir}`...) read from
# params.yaml, so each stage depends on the folders its active parameter set names. Per-item output folders are
# `persist: true`: Prefect's task cache (data/prefect_results) relies on them surviving a re-run, which DVC would
# otherwise delete.
stages:
"""
PIPELINE_HEADER = """\
# Written by scripts/write_dvc_yaml.py from the stage declarations in emsync/pipeline/stages.py: edit those, not this file.
# A pipeline of its own: the demo `dvc repro` (the root dvc.yaml) never runs or checks these stages.
#   dvc repro {folder}/dvc.yaml                  # every stage whose inputs changed
#   dvc repro -s -f {folder}/dvc.yaml:<stage>    # one stage, forced
# Paths are relative to the repository root (wdir) and params come from its params.yaml.
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
    if s.pipeline:
        body.append(f"{ind}wdir: {'/'.join(['..'] * len(Path(s.pipeline).parts))}")
    if s.frozen:
        body.append(f"{ind}frozen: true")
    if s.code or s.deps:
        body.append(f"{ind}deps:")
        if s.code and s.flow:
            body.append(f"{ind}  # code: emsync.pipeline.stages.STAGE_CODE[{(s.code_key or s.name)!r}], also the stage's Prefect cache key")
        body += [line for e in (*s.code, *s.deps) for line in _entry(e, ind + "  ")]
    for section in SECTIONS:
        entries = getattr(s, section)
        if entries:
            body.append(f"{ind}{section}:" + (f"  # {notes[section]}" if section in notes else ""))
            body += [line for e in entries for line in _entry(e, ind + "  ")]
    return head + body


def dvc_yaml(pipeline: str = "") -> str:
    """The text of the dvc.yaml of `pipeline` ("" = the root one)."""
    from emsync.pipeline.stages import STAGES

    head = PIPELINE_HEADER.format(folder=pipeline) if pipeline else HEADER
    return head + "\n".join("\n".join(stage_yaml(s)) + "\n" for s in STAGES if s.pipeline == pipeline)


if __name__ == "__main__":
    from emsync.pipeline.stages import PIPELINES

    stale = []
    for pipeline in PIPELINES:
        path = ROOT / pipeline / "dvc.yaml"
        rel = path.relative_to(ROOT)
        text = path.read_text() if path.exists() else ""
        new = dvc_yaml(pipeline)
        if new != text:
            stale.append(str(rel))
            if "--check" not in sys.argv:
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(new)
        print(f"{rel}: {'in sync' if new == text else 'out of date' if '--check' in sys.argv else 'rewritten'}")
    if "--check" in sys.argv and stale:
        print("run python scripts/write_dvc_yaml.py")
        sys.exit(1)
