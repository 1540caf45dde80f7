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
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix + ".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


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
