"""The one key of a music file, `midi_id`, and paths stored relative to the scanned folder, so
tables do not depend on where the project is cloned (STYLE 4 and 18).

    midi_ids(paths, root) -> {path: midi_id}

A file's id is its stem when no other file in the tree shares it (LMD and LPD files are named by
the md5 of their bytes, so their ids stay the md5); files whose stems repeat (a/Imagine.mid,
b/Imagine.mid) are keyed by their path relative to `root`, so two files never share a row.
"""

from collections import Counter
from pathlib import Path


def rel_path(path, root) -> str:
    """`path` relative to `root`, '/'-separated (the path itself if it lies outside `root`)."""
    p, r = Path(path).absolute(), Path(root).absolute()
    try:
        return p.relative_to(r).as_posix()
    except ValueError:
        return p.as_posix()


def midi_ids(paths, root) -> dict:
    """{path (as given): midi_id}, unique over `paths` for any folder tree under `root`."""
    paths = list(paths)
    stems = Counter(Path(p).stem for p in paths)
    return {p: Path(p).stem if stems[Path(p).stem] == 1 else rel_path(p, root) for p in paths}


def relative_text(text, root):
    """`text` (an error message) with `root`'s absolute prefix removed, so it names files relative to it."""
    if not isinstance(text, str):
        return text
    for r in {str(Path(root).absolute()), str(Path(root).resolve())}:
        text = text.replace(r.rstrip("/") + "/", "")
    return text
