"""Atomic writes and content digests.

Every file the pipeline produces goes through `atomic_path`: write to a temp file in the same
folder, fsync, then rename over the target. A SIGKILL leaves either the old file or the new one,
never half of one.
"""

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path

from emsync.errors import InputError


@contextlib.contextmanager
def atomic_path(path, suffix=None):
    """Yield a temp path beside `path`; rename it onto `path` when the block exits cleanly."""
    path = Path(path)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise InputError(f"cannot create output folder {path.parent}: {e.strerror}") from e
    if not os.access(path.parent, os.W_OK):
        raise InputError(f"output folder {path.parent} is not writable")
    if path.is_dir():
        raise InputError(f"{path}: is a folder; give a file name")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix + ".tmp", dir=path.parent)
    except OSError as e:
        raise InputError(f"{path}: cannot write in {path.parent} ({e.strerror})") from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.chmod(tmp, _new_file_mode())  # mkstemp makes 0600; outputs get the mode open() would give
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _new_file_mode() -> int:
    """0666 less the process umask, as for a file created with open()."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def _same_file(a: Path, b: Path) -> bool:
    """Same path, a symlink to it, or a hard link of it."""
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist: compare where the names lead
        return a.resolve() == b.resolve()


def check_outputs(outputs: dict, inputs: dict):
    """Refuse, before any work, an output that would clobber an input or cannot be written.

    `outputs` / `inputs` map a flag name (as the user typed it, e.g. "--wav") to a path (None: not
    given). An output may not be an input (same path, symlink or hard link), lie inside an input
    folder, be a folder, repeat another output, or sit where no file can be created. Each problem is
    one line naming the flag and the path."""
    outs = {k: Path(v) for k, v in outputs.items() if v is not None}
    ins = {k: Path(v) for k, v in inputs.items() if v is not None}
    seen = {}
    for flag, out in outs.items():
        for iflag, inp in ins.items():
            if _same_file(out, inp):
                raise InputError(f"{flag} {out}: is the same file as the input {iflag} {inp}; choose another output path")
            if inp.is_dir() and out.resolve().is_relative_to(inp.resolve()):
                raise InputError(f"{flag} {out}: is inside the input folder {iflag} {inp}; write it elsewhere")
        for oflag, other in seen.items():
            if _same_file(out, other):
                raise InputError(f"{flag} {out}: is the same file as {oflag}; give each output its own path")
        seen[flag] = out
        if out.is_dir():
            raise InputError(f"{flag} {out}: is a folder; give a file name")
        if out.exists() and not out.is_file():
            raise InputError(f"{flag} {out}: is not a regular file; give a file name")
        _check_writable(flag, out)


def _check_writable(flag, out: Path):
    """Create (and remove) a temp file in the output's nearest existing folder."""
    parent = out.absolute().parent
    while not parent.exists():
        parent = parent.parent
    if not parent.is_dir():
        raise InputError(f"{flag} {out}: {parent} is not a folder")
    try:
        fd, tmp = tempfile.mkstemp(prefix=".emsync-probe.", dir=parent)
    except OSError as e:
        raise InputError(f"{flag} {out}: cannot write in {parent} ({e.strerror})") from None
    os.close(fd)
    os.unlink(tmp)


def write_bytes(path, data: bytes):
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def write_text(path, text: str):
    write_bytes(path, text.encode("utf-8"))


def write_json(path, obj, indent=2):
    write_text(path, json.dumps(obj, indent=indent, sort_keys=True, ensure_ascii=False, default=_json_default) + "\n")


def _json_default(o):
    import numpy as np

    if isinstance(o, np.integer):
        return int(o)
    if isinstance(o, np.floating):
        return None if np.isnan(o) else float(o)
    if isinstance(o, np.ndarray):
        return o.tolist()
    if isinstance(o, Path):
        return str(o)
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


def write_parquet(path, df, **kwargs):
    """Write a DataFrame as Parquet atomically (no index; deterministic row order is the caller's)."""
    with atomic_path(path) as tmp:
        df.to_parquet(tmp, index=False, **kwargs)


def read_json(path):
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: file not found")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as e:
        raise InputError(f"{path}: not valid JSON ({e.msg} at line {e.lineno})") from e


def file_digest(path, algo="md5", chunk=1 << 20) -> str:
    """Hex digest of a file's bytes (md5 by default, as LMD names its files)."""
    h = hashlib.new(algo)
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def tree_digest(paths) -> str:
    """One digest over several files' names and bytes (order-independent)."""
    h = hashlib.md5()
    for p in sorted(map(str, paths)):
        h.update(p.encode())
        h.update(file_digest(p).encode())
    return h.hexdigest()
