"""emsync sql / emsync store: query and refresh the DuckDB feature store."""

from pathlib import Path

from emsync.core.errors import InputError


def register(sub):
    p = sub.add_parser("sql", help="run SQL on the DuckDB feature store and print a table")
    p.add_argument("query", help='e.g. "SHOW TABLES" or "SELECT * FROM labeling_labels LIMIT 5"')
    p.add_argument("--db", help="DuckDB file (default: data/emsync.duckdb)")
    p.add_argument("--out", help="write the result to FILE.parquet or FILE.csv instead of printing")
    p.add_argument("--max-rows", type=_positive, default=50, help="rows to print (default 50)")
    p.add_argument("--timeout", type=float, default=None, help="stop the query after this many seconds (default: limits.sql_timeout_s)")
    p.add_argument(
        "--allow-read",
        action="append",
        default=[],
        metavar="PATH",
        help="also let the query read this file or folder (repeatable); by default `emsync sql` "
        "reads only under data/, writes no files, loads no extensions",
    )
    p.set_defaults(func=_sql)
    s = sub.add_parser("store", help="refresh or list the feature store's views")
    ss = s.add_subparsers(dest="store_cmd", metavar="ACTION", required=True)
    r = ss.add_parser("refresh", help="(re)create one view per Parquet table under data/")
    r.add_argument("--db")
    r.set_defaults(func=_refresh)


def _positive(text: str) -> int:
    import argparse

    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 1:
        raise argparse.ArgumentTypeError(f"{n}: must be at least 1")
    return n


def _limits():
    """params.yaml's limits; a params file that does not load gives the defaults (the analyst's
    read-only tool still runs, bounded)."""
    from emsync.core.config import LimitsParams, load_params_or_defaults
    from emsync.core.errors import ParamsError

    try:
        return load_params_or_defaults().limits
    except ParamsError:
        return LimitsParams()


def _sql(args):
    import pandas as pd

    from emsync.core.config import LimitsParams, check_value
    from emsync.core.io import check_outputs
    from emsync.pipeline import store

    out = Path(args.out) if args.out else None
    if out and out.suffix not in (".parquet", ".csv"):
        raise InputError(f"--out {args.out}: use a .parquet or .csv file name")
    if out:  # never over the store, any table it serves or a project file
        check_outputs({"--out": out}, {"--db": store.db_path(args.db), "data/": store.project_root() / "data"})
    lim = _limits()
    timeout = lim.sql_timeout_s if args.timeout is None else check_value(LimitsParams, "sql_timeout_s", args.timeout, "--timeout")
    bounds = dict(allow_read=args.allow_read, timeout_s=timeout, memory_mb=lim.sql_memory_mb)
    if out:
        n = store.query(args.query, args.db, sink=lambda reader: _write_table(reader, out), **bounds)
        print(f"{n} rows -> {out}")
        return
    df = store.query(args.query, args.db, max_rows=args.max_rows, **bounds)
    more = len(df) > args.max_rows
    with pd.option_context("display.max_columns", 30, "display.width", 200, "display.max_colwidth", 60):
        print(df.head(args.max_rows).to_string(index=False) if len(df) else "(no rows)")
    if more:
        print(f"... more rows than --max-rows {args.max_rows} (write them all with --out FILE.parquet)")


def _write_table(reader, out: Path) -> int:
    """Stream a RecordBatchReader into Parquet or CSV (atomic); returns the row count."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    from emsync.core.io import atomic_path

    n = 0
    with atomic_path(out, allow_empty=True) as tmp:
        writer = pq.ParquetWriter(tmp, reader.schema) if out.suffix == ".parquet" else pacsv.CSVWriter(tmp, reader.schema)
        with writer:
            for batch in reader:
                writer.write_batch(batch)
                n += batch.num_rows
    return n


def _refresh(args):
    from emsync.core.io import check_db
    from emsync.pipeline import store

    check_db("--db", store.db_path(args.db), own=("store",))
    tables = store.refresh(args.db)
    for name, glob in tables.items():
        print(f"{name:40s} {glob}")
    print(f"{len(tables)} views")
