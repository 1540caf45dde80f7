"""The works of the chosen music21 sources, one `Work` each, without parsing any music.

A score file is one work; an ABC file holding many tunes (O'Neill's, Aird's: up to 200 per file)
is split at its `X:` lines into one work per tune, each parsed with the file's header (the text
before the first `X:`), so a tune costs one tune's parse, not the whole book's.

Work ids are readable and stable: `<source>-<file stem>` or `<source>-<file stem>-<k>` (k = the
tune's 1-based position in its file), with characters outside [A-Za-z0-9._-] replaced by `_`.
The id is the work's `midi_id` through the labels and tokens tables.
"""

import re
from dataclasses import asdict, dataclass
from pathlib import Path

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


@dataclass(frozen=True)
class Work:
    work_id: str
    source: str
    path: str  # relative to the music21 corpus folder, '/'-separated
    tune: int = 0  # 1-based tune position in a multi-tune ABC file; 0 = the whole file

    def to_dict(self) -> dict:
        return asdict(self)


def corpus_root() -> Path:
    """The music21 wheel's corpus folder."""
    import music21

    return Path(music21.__file__).parent / "corpus"


def _safe(text: str) -> str:
    return _UNSAFE.sub("_", text).strip("_")


def abc_tunes(text: str) -> tuple[str, list[str]]:
    """(header, [tune text]) of an ABC file: tunes start at lines beginning with 'X:'."""
    starts = [m.start() for m in re.finditer(r"(?m)^X:", text)]
    if not starts:
        return "", [text]
    return text[: starts[0]], [text[a:b] for a, b in zip(starts, starts[1:] + [len(text)])]


def list_works(sources, root=None) -> list[Work]:
    """Every work of the named sources (see sources.SOURCES for the file kinds), sorted by id."""
    from emsync.real_music.sources import SOURCES

    root = Path(root) if root else corpus_root()
    works = []
    for name in sources:
        src = SOURCES[name]
        files = sorted(p for p in (root / name).rglob("*") if p.is_file() and p.suffix.lower() in src.suffixes)
        for f in files:
            rel = f.relative_to(root).as_posix()
            stem = _safe(f.relative_to(root / name).with_suffix("").as_posix().replace("/", "-"))
            if f.suffix.lower() == ".abc":
                _, tunes = abc_tunes(f.read_text(encoding="utf-8", errors="replace"))
                if len(tunes) > 1:
                    works += [Work(f"{name}-{stem}-{k:04d}", name, rel, k) for k in range(1, len(tunes) + 1)]
                    continue
            works.append(Work(f"{name}-{stem}", name, rel, 0))
    return sorted(works, key=lambda w: w.work_id)
