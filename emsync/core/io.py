"""Atomic writes and content digests.

Every file the pipeline produces goes through `atomic_path`: write to a temp file in the same
folder, fsync, then rename over the target. A SIGKILL leaves either the old file or the new one,
never half of one.
"""

import contextlib
import errno
import functools
import hashlib
import json
import os
import re
import shutil
import tempfile
from pathlib import Path

from emsync.core.errors import DiskFullError, InputError

_FULL_ERRNOS = (errno.ENOSPC, errno.EDQUOT)
MIN_FREE_BYTES = 64 * 1024  # an output folder with less free is refused before any work
_FULL_TEXT = ("no space left on device", "disk quota exceeded")


def is_disk_full(e: BaseException) -> bool:
    """Whether an error (or one it was raised from) says the disk is full: an OSError's errno, or
    a tool's message (ffmpeg, FluidSynth) quoted in ours."""
    seen = set()
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, DiskFullError) or (isinstance(e, OSError) and e.errno in _FULL_ERRNOS):
            return True
        if any(t in str(e).lower() for t in _FULL_TEXT):
            return True
        e = e.__cause__ or e.__context__
    return False


def disk_full_error(path, e: BaseException) -> DiskFullError:
    """The one line a full disk gives: where, and that nothing was kept."""
    if isinstance(e, DiskFullError):
        return e
    return DiskFullError(f"{path}: no space left on the device; nothing was written there (free some space and run again)")


@contextlib.contextmanager
def atomic_path(path, suffix=None, allow_empty=False):
    """Yield a temp path beside `path`; rename it onto `path` when the block exits cleanly. A full
    disk (here or in a tool writing the temp file) is a DiskFullError and keeps nothing; so is a
    0-byte result on a full disk unless `allow_empty` (a writer that swallowed its error)."""
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
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.{os.getpid()}-", suffix=suffix or path.suffix + ".tmp", dir=path.parent)
    except OSError as e:
        if is_disk_full(e):
            raise disk_full_error(path, e) from None
        raise InputError(f"{path}: cannot write in {path.parent} ({e.strerror})") from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            os.fsync(f.fileno())
        if tmp.stat().st_size == 0 and not allow_empty and shutil.disk_usage(tmp.parent).free < MIN_FREE_BYTES:
            # a writer that swallowed its ENOSPC (symusic's dump_midi did): not a real empty file
            raise DiskFullError(f"{path}: nothing was written (0 bytes) and the disk is full; the file was not replaced")
        os.chmod(tmp, _new_file_mode())  # mkstemp makes 0600; outputs get the mode open() would give
        os.replace(tmp, path)
    except Exception as e:
        if is_disk_full(e):
            raise disk_full_error(path, e) from e
        raise
    finally:
        if tmp.exists():
            tmp.unlink()


def temp_dir(prefix: str, dir=None) -> tempfile.TemporaryDirectory:
    """A TemporaryDirectory named <prefix><pid>-<random>: when a `kill -9` leaves it behind, the
    next run sees its owner is gone and removes it (sweep_stale_temps)."""
    return tempfile.TemporaryDirectory(prefix=f"{prefix}{os.getpid()}-", dir=dir)


# emsync's temporary names carry their process id: temp_dir's (emsync-*-<pid>-, .tmp-<pid>-) and
# atomic_path's (.<name>.<pid>-<random><suffix>)
_TEMP_NAME = re.compile(r"^(?:emsync-[a-z]+-|\.tmp-|\..+\.)(\d+)-[a-z0-9_]{8}")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # someone else's process
        return True
    return True


def sweep_stale_temps(folders=(), trees=()) -> list:
    """Remove emsync temp files and folders whose process is gone (a killed run's leftovers): the
    entries of each of `folders`, and everything below each of `trees`. Returns what was removed."""
    gone = []

    def check(parent: Path, name: str, is_dir: bool):
        m = _TEMP_NAME.match(name)
        if m and int(m.group(1)) != os.getpid() and not _alive(int(m.group(1))):
            p = parent / name
            shutil.rmtree(p, ignore_errors=True) if is_dir else p.unlink(missing_ok=True)
            gone.append(p)
            return True
        return False

    for folder in map(Path, folders):
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for e in entries:
            check(folder, e.name, e.is_dir(follow_symlinks=False))
    for tree in map(Path, trees):
        for dirpath, dirnames, filenames in os.walk(tree):
            here = Path(dirpath)
            dirnames[:] = [d for d in dirnames if not check(here, d, True)]
            for f in filenames:
                check(here, f, False)
    return gone


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


def check_outputs(outputs: dict, inputs: dict, own=(), kind=None):
    """Refuse, before any work, an output that would clobber an input or a project file, or cannot
    be written. The one rule for every command that writes a file.

    `outputs` / `inputs` map a flag name (as the user typed it, e.g. "--wav") to a path (None: not
    given). An output may not be an input (same path, symlink or hard link), lie inside an input
    folder, be a folder, repeat another output, or sit where no file can be created. It may not be
    a file the project owns (`project_owner`: params, dvc.yaml / dvc.lock, anything DVC or git
    tracks, a stage's outputs, reports) unless `own` names that owner (the stage whose outputs this
    command makes: "train", "store", ...) and, with `kind` ("checkpoint", "duckdb"), the file is of
    that kind. An existing checkpoint or database is replaced only by an output of its `kind`, and
    an output of a `kind` replaces only a file of that kind. Each problem is one line naming the
    flag and the path."""
    outs = {k: Path(v) for k, v in outputs.items() if v is not None}
    ins = {k: Path(v) for k, v in inputs.items() if v is not None}
    seen = {}
    for flag, out in outs.items():
        _check_not_owned(flag, out, own, kind)
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


def _check_not_owned(flag, out: Path, own, kind):
    owner = project_owner(out)
    has = file_kind(out)
    if owner and (owner[0] not in own or (kind and not (has == kind or not out.exists() and out.suffix in KIND_SUFFIXES[kind]))):
        raise InputError(f"{flag} {out}: is {owner[1]}, a file the project owns; choose another output path")
    if has and has != kind:
        raise InputError(f"{flag} {out}: holds {KINDS[has]}; this command does not write one (choose another output path)")
    if kind and out.is_file() and has != kind:
        raise InputError(f"{flag} {out}: exists and is not {KINDS[kind]}; give a new file name or an existing one of that kind")


def check_output_dir(flag, folder, names=(), inputs=None, own=()):
    """A folder a command creates or writes the files `names` into: not a file, not a folder the
    project owns (unless `own` names its owner), and each file passes check_outputs."""
    folder = Path(folder)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"{flag} {folder}: exists and is not a folder")
    owner = project_owner(folder)
    if owner and owner[0] not in own:
        raise InputError(f"{flag} {folder}: is {owner[1]}, a folder the project owns; choose another output folder")
    check_outputs({f"{flag} ({n})": folder / n for n in names} or {flag: folder / ".emsync-probe"}, inputs or {}, own)
    return folder


def check_db(flag, path, own=()):
    """A --db the command may create or rewrite: not a project file unless `own` names its stage,
    and an existing file must be a DuckDB database (never a params file, a table or a checkpoint)."""
    path = Path(path)
    if path.exists() and not path.is_file():
        raise InputError(f"{flag} {path}: is not a regular file; give a DuckDB file name")
    check_outputs({flag: path}, {}, own=own, kind="duckdb")
    return path


# --------------------------------------------------------------------------------------------
# what the project owns

KINDS = {"checkpoint": "a model checkpoint (PyTorch)", "duckdb": "a DuckDB database", "sqlite": "an SQLite database"}
KIND_SUFFIXES = {"checkpoint": (".pt", ".pth", ".ckpt"), "duckdb": (".duckdb", ".db"), "sqlite": (".sqlite", ".db")}


def file_kind(path) -> str | None:
    """ "checkpoint" / "duckdb" / "sqlite" for an existing file of that kind (by its first bytes)."""
    try:
        with open(path, "rb") as f:
            head = f.read(64)
    except OSError:
        return None
    if head[8:12] == b"DUCK":
        return "duckdb"
    if head.startswith(b"SQLite format 3\0"):
        return "sqlite"
    if head[:2] == b"\x80\x02" or (head[:4] == b"PK\x03\x04" and _torch_zip(path)):
        return "checkpoint"
    return None


def _torch_zip(path) -> bool:
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return any(n.endswith("/data.pkl") for n in z.namelist()[:8])
    except (OSError, zipfile.BadZipFile):
        return False


def project_owner(path) -> tuple[str, str] | None:
    """(owner, description) when `path` is a file the project in which it lies owns, else None.
    owner: "params", "pipeline" (dvc.yaml, dvc.lock, .dvc/, .git/, the Prefect cache), "source"
    (tracked by git), "dvc" (tracked by a .dvc file), or the name of the dvc.yaml stage whose output
    it is (reports/ files that no stage declares: "reports"). Symlinks count as where they lead."""
    from emsync.core.config import project_root

    root = project_root(required=False)
    if root is None:
        return None
    for p in {Path(os.path.abspath(path)), Path(path).resolve()}:
        try:
            rel = p.relative_to(root).as_posix()
        except ValueError:
            continue
        hit = _owner_of(rel, _owned(root, _stamp(root)))
        if hit:
            return hit
    return None


def _owner_of(rel: str, owned: dict):
    for base, (owner, what) in owned.items():
        if rel == base or rel.startswith(base + "/"):
            return owner, what
    return None


def _stamp(root: Path) -> tuple:
    """What the owned list depends on (its cache key)."""
    out = []
    for name in ("dvc.yaml", "params.yaml", ".git/index"):
        try:
            out.append(os.stat(root / name).st_mtime_ns)
        except OSError:
            out.append(None)
    return tuple(out)


@functools.lru_cache(maxsize=8)
def _owned(root: Path, stamp: tuple) -> dict:
    """{root-relative path: (owner, description)}, folders covering what lies below them."""
    owned = {
        "params.yaml": ("params", "the active parameter set params.yaml"),
        "params": ("params", "a parameter set under params/"),
        "dvc.yaml": ("pipeline", "the pipeline definition dvc.yaml"),
        "dvc.lock": ("pipeline", "the pipeline's lock file dvc.lock"),
        ".dvc": ("pipeline", "DVC's own folder"),
        ".git": ("pipeline", "git's own folder"),
        "data/prefect_results": ("pipeline", "the stages' Prefect result cache"),
    }
    for out, stage in _stage_outputs(root).items():
        owned.setdefault(out, (stage, f"an output of the `{stage}` stage (dvc.yaml)"))
    for f in _git_files(root):
        owned.setdefault(f, ("source", "a file of the project tracked by git"))
        if f.endswith(".dvc"):
            for out in _dvc_file_outs(root, f):
                owned.setdefault(out, ("dvc", f"tracked by DVC ({f})"))
    reports = _params_value(root, "paths.reports_dir") or "reports"
    owned.setdefault(str(reports).strip("/"), ("reports", "a project report"))
    # longest first, so a file inside a stage's folder names that stage, not the folder above
    return dict(sorted(owned.items(), key=lambda kv: -len(kv[0])))


def _params_raw(root: Path) -> dict:
    import yaml

    from emsync.core.config import yaml_load

    try:
        raw = yaml_load((root / "params.yaml").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return {}
    return raw if isinstance(raw, dict) else {}


def _params_value(root: Path, dotted: str, raw=None):
    value = _params_raw(root) if raw is None else raw
    for key in dotted.split("."):
        value = value.get(key) if isinstance(value, dict) else None
    return value


def _stage_outputs(root: Path) -> dict:
    """{output path: stage} of dvc.yaml, ${param} templates resolved (foreach: every item)."""
    import re

    import yaml

    from emsync.core.config import yaml_load

    try:
        stages = (yaml_load((root / "dvc.yaml").read_text(encoding="utf-8")) or {}).get("stages") or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError, AttributeError):
        return {}
    raw = _params_raw(root)

    def resolve(text, item=None):
        text = str(text).replace("${item}", str(item)) if item is not None else str(text)
        return re.sub(r"\$\{([\w.]+)\}", lambda m: str(_params_value(root, m[1], raw)), text)

    out = {}
    for name, st in stages.items():
        body, items = st, [None]
        if isinstance(st, dict) and "foreach" in st:
            body = st.get("do") or {}
            items = _params_value(root, str(st["foreach"]).strip("${}"), raw) if isinstance(st["foreach"], str) else st["foreach"]
            items = items if isinstance(items, list) else []
        for item in items:
            for kind in ("outs", "metrics", "plots"):
                for o in body.get(kind) or []:
                    path = next(iter(o)) if isinstance(o, dict) else o
                    out[resolve(path, item).strip("/")] = name
    return out


def _git_files(root: Path) -> list:
    import subprocess

    if not (root / ".git").exists():
        return []
    try:
        r = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return [f for f in r.stdout.decode("utf-8", "replace").split("\0") if f] if r.returncode == 0 else []


def _dvc_file_outs(root: Path, dvc_file: str) -> list:
    import yaml

    from emsync.core.config import yaml_load

    try:
        spec = yaml_load((root / dvc_file).read_text(encoding="utf-8")) or {}
    except (OSError, UnicodeDecodeError, yaml.YAMLError):
        return []
    base = Path(dvc_file).parent
    return [(base / o["path"]).as_posix() for o in spec.get("outs") or [] if isinstance(o, dict) and "path" in o]


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
        if is_disk_full(e):
            raise DiskFullError(f"{flag} {out}: no space left on the device of {parent}") from None
        raise InputError(f"{flag} {out}: cannot write in {parent} ({e.strerror})") from None
    os.close(fd)
    os.unlink(tmp)
    if shutil.disk_usage(parent).free < MIN_FREE_BYTES:
        raise DiskFullError(f"{flag} {out}: no space left on the device of {parent} ({shutil.disk_usage(parent).free} bytes free)")


def write_bytes(path, data: bytes):
    # empty data is asked for (the demo corpus plants a 0-byte MIDI file); the 0-byte guard is for
    # writers that may have swallowed an error
    with atomic_path(path, allow_empty=len(data) == 0) as tmp:
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


class _HashSink:
    """A write-only file that feeds a hash: a table streams into its digest, no copy is kept."""

    def __init__(self, h):
        self.h, self.n, self.closed = h, 0, False

    def write(self, b) -> int:
        self.h.update(b)
        self.n += len(b)
        return len(b)

    def tell(self) -> int:
        return self.n

    def flush(self):
        pass

    def close(self):
        self.closed = True


def frame_digest(df, *salt) -> str:
    """sha256 of a DataFrame's content: values, dtypes, column names and index (its Arrow IPC
    stream), after `salt` (anything JSON can write). A frame Arrow cannot hold is hashed by its
    values' text instead."""
    import pandas as pd
    import pyarrow as pa

    h = hashlib.sha256(json.dumps(salt, default=repr).encode())
    try:
        at = pa.Table.from_pandas(df, preserve_index=True)
    except (pa.ArrowException, TypeError, ValueError):
        h.update(repr([(str(c), str(t)) for c, t in df.dtypes.items()]).encode())
        h.update(pd.util.hash_pandas_object(df.astype(str), index=True).values.tobytes())
        return h.hexdigest()
    with pa.ipc.new_stream(pa.PythonFile(_HashSink(h), mode="w"), at.schema) as w:
        w.write_table(at)
    return h.hexdigest()


def tree_digest(paths, root) -> str:
    """One digest over several files' names (relative to `root`, so a copy of the tree elsewhere has
    the same digest) and bytes (order-independent)."""
    h = hashlib.md5()
    for name, p in sorted((Path(p).relative_to(root).as_posix(), p) for p in paths):
        h.update(name.encode())
        h.update(file_digest(p).encode())
    return h.hexdigest()
