"""emsync sql / emsync store: query and refresh the DuckDB feature store."""

from pathlib import Path

from emsync.errors import InputError


def register(sub):
    p = sub.add_parser("sql", help="run SQL on the DuckDB feature store and print a table")
    p.add_argument("query", help='e.g. "SHOW TABLES" or "SELECT * FROM labeling_labels LIMIT 5"')
    p.add_argument("--db", help="DuckDB file (default: data/emsync.duckdb)")
    p.add_argument("--out", help="write the result to FILE.parquet or FILE.csv instead of printing")
    p.add_argument("--max-rows", type=int, default=50, help="rows to print (default 50)")
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


def _sql(args):
    import pandas as pd

    from emsync import store
    from emsync.io import atomic_path, write_parquet

    from emsync.io import check_outputs

    out = Path(args.out) if args.out else None
    if out and out.suffix not in (".parquet", ".csv"):
        raise InputError(f"--out {args.out}: use a .parquet or .csv file name")
    if out:  # never over the store, any table it serves or a project file
        check_outputs({"--out": out}, {"--db": store.db_path(args.db), "data/": store.project_root() / "data"})
    df = store.query(args.query, args.db, allow_read=args.allow_read)
    if out:
        if out.suffix == ".parquet":
            write_parquet(out, df)
        else:
            with atomic_path(out) as tmp:
                df.to_csv(tmp, index=False)
        print(f"{len(df)} rows -> {out}")
        return
    with pd.option_context("display.max_columns", 30, "display.width", 200, "display.max_colwidth", 60):
        print(df.to_string(index=False, max_rows=args.max_rows) if len(df) else "(no rows)")


def _refresh(args):
    from emsync import store
    from emsync.io import check_db

    check_db("--db", store.db_path(args.db), own=("store",))
    tables = store.refresh(args.db)
    for name, glob in tables.items():
        print(f"{name:40s} {glob}")
    print(f"{len(tables)} views")
