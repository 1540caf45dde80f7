"""The DuckDB feature store: one view per Parquet table under data/.

A table is either one file `data/<stage>/<table>.parquet` (view `<stage>_<table>`) or a folder
of parts `data/<stage>/<table>/*.parquet` (view `<stage>_<table>`, parts unioned by name).
Views use paths relative to the repository root, so the .duckdb file stays valid in any clone;
`emsync sql` resolves them from the root (DuckDB's file_search_path); a bare
`duckdb data/emsync.duckdb` works when started in the root.
"""

import os
import re
from pathlib import Path

from emsync.core.config import project_root
from emsync.core.errors import InputError

SKIP_DIRS = {"prefect_results", ".dvc", "demo"}  # demo: raw inputs, not pipeline tables

# Views joining tables of different stages, created when all their inputs exist: {name: (inputs, SQL)}
JOINED_VIEWS = {
    # §3.2 lyric emotion probabilities beside the §4.3 valence/arousal labels of the same file
    "lyrics_labels_va": (
        ("lyrics_labels", "labeling_labels"),
        "SELECT l.*, v.valence, v.arousal, v.split FROM lyrics_labels l LEFT JOIN labeling_labels v USING (midi_id)",
    ),
}


def _view_name(rel: Path) -> str:
    parts = list(rel.with_suffix("").parts) if rel.suffix == ".parquet" else list(rel.parts)
    return re.sub(r"[^0-9a-zA-Z_]", "_", "_".join(parts)).lower()


def discover_tables(data_dir=None) -> dict:
    """{view name: glob relative to the repo root} for every Parquet table under data/.

    Files directly in data/<stage>/ are one table each; any deeper folder holding Parquet files
    is one table made of its parts (e.g. data/features/clip/<video_id>.parquet)."""
    data_dir = Path(data_dir or project_root() / "data")
    tables = {}
    for dirpath, dirnames, filenames in os.walk(data_dir):
        dirnames[:] = sorted(d for d in dirnames if d not in SKIP_DIRS and not d.startswith("."))
        here = Path(dirpath)
        parquet = sorted(f for f in filenames if f.endswith(".parquet") and not f.startswith("."))
        if not parquet:
            continue
        rel = here.relative_to(data_dir)
        if len(rel.parts) >= 2:
            tables[_view_name(rel)] = _rel_to_root(here) + "/*.parquet"
        else:
            for f in parquet:
                tables[_view_name(rel / f)] = _rel_to_root(here / f)
    return dict(sorted(tables.items()))


def _rel_to_root(p: Path) -> str:
    try:
        return str(p.resolve().relative_to(project_root()))
    except ValueError:
        return str(p.resolve())


def refresh(db_path=None, data_dir=None) -> dict:
    """(Re)create one view per table in the DuckDB file (plus the JOINED_VIEWS whose inputs exist);
    drop views whose table is gone."""
    import duckdb

    from emsync.core.io import atomic_path

    db_path = Path(db_path or project_root() / "data" / "emsync.duckdb")
    tables = discover_tables(data_dir)
    # build into a temp file and rename: readers never see a half-written catalogue
    with atomic_path(db_path, suffix=".duckdb") as tmp:
        tmp.unlink()
        con = duckdb.connect(str(tmp))
        con.execute(f"SET file_search_path = '{project_root()}'")
        for name, glob in tables.items():
            con.execute(f"CREATE OR REPLACE VIEW {name} AS SELECT * FROM read_parquet('{glob}', union_by_name=true)")
        for name, (inputs, sql) in JOINED_VIEWS.items():
            if all(t in tables for t in inputs):
                con.execute(f"CREATE OR REPLACE VIEW {name} AS {sql}")
        con.close()
    return tables


def connect(db_path=None, read_only=True):
    import duckdb

    db_path = _existing_store(db_path)
    con = duckdb.connect(str(db_path), read_only=read_only)
    con.execute(f"SET file_search_path = '{project_root()}'")  # views hold root-relative paths
    return con


# Statement kinds `emsync sql` runs: reads only. COPY/EXPORT/ATTACH/INSTALL/SET... are refused
# before DuckDB sees them, so the analyst entry point can never write a file or change a setting.
READ_STATEMENTS = {"SELECT", "EXPLAIN", "PRAGMA", "CALL"}


def _existing_store(path=None) -> Path:
    """The store file to open: it must exist and be a DuckDB database (never created by a read)."""
    from emsync.core.io import file_kind

    path = db_path(path)
    if not path.is_file():
        raise InputError(f"{path}: feature store not found; run `dvc repro` (or `emsync store refresh`) first")
    if file_kind(path) != "duckdb":
        raise InputError(f"--db {path}: not a DuckDB database")
    return path


def db_path(path=None) -> Path:
    return Path(path or project_root() / "data" / "emsync.duckdb")


def sandboxed(db_path=None, allow_read=(), memory_mb=None):
    """A read-only connection that can open files only under data/ (and `allow_read` paths).

    DuckDB's own sandbox (docs: Operations manual > Securing DuckDB): `allowed_directories` /
    `allowed_paths` first, then `enable_external_access = false` (only those paths stay
    reachable; no extension installs or loads), extension autoload/autoinstall off, a memory limit
    with no spilling to disk (`memory_mb`), and `lock_configuration` so no SQL statement can undo
    any of it."""
    import duckdb

    db_path = _existing_store(db_path)
    # views name their files root-relative ("data/..."), checked before file_search_path applies
    dirs, files = [str((project_root() / "data").resolve()) + "/", "data/"], []
    for p in allow_read:
        if not str(p).strip():  # Path("") is the working directory: never a silent grant of everything
            raise InputError("--allow-read '': empty path; name the file or folder the query may read")
        p = Path(p).resolve()
        if not p.exists():
            raise InputError(f"--allow-read {p}: no such file or folder")
        (dirs if p.is_dir() else files).append(str(p) + ("/" if p.is_dir() else ""))
    con = duckdb.connect(str(db_path), read_only=True, config={"autoload_known_extensions": False, "autoinstall_known_extensions": False})
    con.execute(f"SET file_search_path = '{project_root()}'")  # views hold root-relative paths
    con.execute("SET allowed_directories = ?", [dirs])
    if files:
        con.execute("SET allowed_paths = ?", [files])
    if memory_mb:
        con.execute(f"SET memory_limit = '{int(memory_mb)}MB'")
        con.execute("SET temp_directory = ''")  # no spilling: a query over the limit stops
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def query(sql, db_path=None, allow_read=(), max_rows=None, timeout_s=None, memory_mb=None, sink=None):
    """Run read-only SQL against the sandboxed store. The result streams: `max_rows` keeps at most
    that many rows (plus one, to tell that more exist) as a DataFrame; `sink(reader)` consumes the
    whole result as a pyarrow RecordBatchReader instead (and its return value is returned);
    neither: every row as a DataFrame. `timeout_s` and Ctrl-C / SIGTERM interrupt DuckDB mid-query;
    `memory_mb` bounds DuckDB's memory."""
    import duckdb

    if not sql or not sql.strip():
        raise InputError("SQL error: the query is empty")
    con = sandboxed(db_path, allow_read, memory_mb)
    try:
        try:
            kinds = [s.type.name for s in con.extract_statements(sql)]
        except duckdb.Error as e:
            raise InputError(f"SQL error: {str(e).splitlines()[0]}") from None
        bad = [k for k in kinds if k not in READ_STATEMENTS]
        if bad:
            raise InputError(
                f"SQL refused: {bad[0]} statements are not allowed; `emsync sql` only reads "
                f"({', '.join(sorted(READ_STATEMENTS))}); write results with --out"
            )
        if not kinds:
            raise InputError("SQL error: the query is empty")
        return _bounded(con, lambda: _fetch(con, sql, max_rows, sink), timeout_s, memory_mb)
    except duckdb.PermissionException as e:
        raise InputError(
            f"SQL refused: {str(e).splitlines()[0]} (`emsync sql` reads only under data/; add --allow-read PATH to read your own files)"
        ) from None
    except duckdb.OutOfMemoryException:
        raise InputError(f"SQL stopped: the query needs more than {memory_mb} MB (limits.sql_memory_mb)") from None
    except duckdb.Error as e:
        raise InputError(f"SQL error: {str(e).splitlines()[0]}") from None
    finally:
        try:
            con.close()
        except duckdb.Error:  # still busy with an interrupted query: the process is on its way out
            pass


def _fetch(con, sql, max_rows, sink):
    import pyarrow as pa

    reader = con.sql(sql).to_arrow_reader(min(max_rows + 1, 100_000) if max_rows else 100_000)
    if sink is not None:
        return sink(reader)
    batches, n = [], 0
    for batch in reader:
        batches.append(batch)
        n += batch.num_rows
        if max_rows is not None and n > max_rows:
            break
    return pa.Table.from_batches(batches, schema=reader.schema).slice(0, None if max_rows is None else max_rows + 1).to_pandas()


def _bounded(con, work, timeout_s, memory_mb):
    """work() in a thread, so the main thread can interrupt DuckDB on a timeout, Ctrl-C or SIGTERM
    (the CLI turns SIGTERM into KeyboardInterrupt; a query blocked in DuckDB's C code would
    otherwise never see it). The main thread waits on an Event, not Thread.join: a signal inside
    join() marks the thread stopped while it still runs (Python 3.11)."""
    import threading
    import time

    box: dict = {}
    done = threading.Event()

    def run():
        try:
            box["value"] = work()
        except BaseException as e:  # handed to the main thread
            box["error"] = e
        finally:
            done.set()

    def stop():
        for _ in range(120):  # DuckDB checks the flag between steps: ask until the worker ends
            con.interrupt()
            if done.wait(0.5):
                return

    threading.Thread(target=run, name="emsync-sql", daemon=True).start()
    deadline = time.monotonic() + timeout_s if timeout_s else None
    try:
        while not done.wait(0.05):
            if deadline and time.monotonic() > deadline:
                stop()
                raise InputError(f"SQL stopped: the query ran past {timeout_s:g} s (limits.sql_timeout_s, or --timeout)")
    except KeyboardInterrupt:
        stop()
        raise
    if "error" in box:
        raise box["error"]
    return box["value"]
