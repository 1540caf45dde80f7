"""Data checks: a great_expectations suite per table, run before the table is written.

Expectations are short tuples so stage code stays readable:

    ("not_null", col)            ("unique", col)          ("exists", col)
    ("between", col, lo, hi)     ("in_set", col, values)  ("row_count_between", lo, hi)
    ("regex", col, pattern)

A failure raises DataCheckError whose message names the table, the column, how many rows failed
and a few example values, and writes the full result to reports/checks/<table>.json, which stops
`dvc repro` at that stage with nothing half-written.

A table that passed is recorded with a digest of its rows and expectations: the same rows under
the same expectations (a cached re-run) pass again without importing great_expectations, which
costs a fresh process 2-3 s, more than the rest of a fully cached flow run.
"""

import json
import logging
from pathlib import Path

from emsync.core.config import default_reports_dir
from emsync.core.errors import DataCheckError
from emsync.core.io import frame_digest, write_json

_context = None


def _gx():
    global _context
    import great_expectations as gx

    if _context is None:
        logging.getLogger("great_expectations").setLevel(logging.ERROR)
        _context = gx.get_context(mode="ephemeral")
        try:  # no per-metric progress bars in pipeline logs
            from great_expectations.data_context.types.base import ProgressBarsConfig

            _context.variables.progress_bars = ProgressBarsConfig(globally=False)
        except Exception:
            pass
    return gx, _context


def _expectation(gx, spec):
    kind, *args = spec
    E = gx.expectations
    if kind == "not_null":
        return E.ExpectColumnValuesToNotBeNull(column=args[0])
    if kind == "unique":
        return E.ExpectColumnValuesToBeUnique(column=args[0])
    if kind == "exists":
        return E.ExpectColumnToExist(column=args[0])
    if kind == "between":
        col, lo, hi = args
        return E.ExpectColumnValuesToBeBetween(column=col, min_value=lo, max_value=hi)
    if kind == "in_set":
        return E.ExpectColumnValuesToBeInSet(column=args[0], value_set=list(args[1]))
    if kind == "regex":
        return E.ExpectColumnValuesToMatchRegex(column=args[0], regex=args[1])
    if kind == "row_count_between":
        lo, hi = args
        return E.ExpectTableRowCountToBeBetween(min_value=lo, max_value=hi)
    raise ValueError(f"unknown expectation kind {kind!r}")


def _digest(df, table: str, expectations) -> str:
    """The table's content digest after its name, the expectations and the great_expectations version."""
    from importlib.metadata import version

    return frame_digest(df, table, [list(e) for e in expectations], version("great_expectations"))


def _passed_before(out: Path, digest: str) -> dict | None:
    if not out.exists():
        return None
    try:
        prev = json.loads(out.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return prev if isinstance(prev, dict) and prev.get("success") is True and prev.get("digest") == digest else None


def check_table(df, table: str, expectations, reports_dir=None) -> dict:
    """Validate `df` against the expectations; raise DataCheckError on any failure."""
    out = Path(reports_dir or default_reports_dir()) / "checks" / f"{table}.json"
    digest = _digest(df, table, expectations)
    prev = _passed_before(out, digest)
    if prev is not None:
        return prev
    gx, ctx = _gx()
    name = f"emsync_{table}"
    try:
        source = ctx.data_sources.get(name)
    except (KeyError, ValueError):
        source = None
    if source is None:
        source = ctx.data_sources.add_pandas(name=name)
        source.add_dataframe_asset(name=table).add_batch_definition_whole_dataframe("all")
    batch_def = source.get_asset(table).get_batch_definition("all")
    batch = batch_def.get_batch(batch_parameters={"dataframe": df})

    # columns that are missing fail as such rather than as a GX exception
    failures, results = [], []
    for spec in expectations:
        col = spec[1] if spec[0] not in ("row_count_between",) else None
        if col is not None and spec[0] != "exists" and col not in df.columns:
            failures.append({"expectation": spec[0], "column": col, "unexpected_count": len(df), "examples": ["<column missing>"]})
            continue
        res = batch.validate(_expectation(gx, spec), result_format="SUMMARY")
        r = res.to_json_dict()
        results.append(r)
        if not res.success and spec[0] == "exists":
            failures.append({"expectation": "exists", "column": col, "unexpected_count": "all", "examples": ["<column missing>"]})
        elif not res.success:
            detail = r.get("result", {})
            failures.append(
                {
                    "expectation": spec[0],
                    "column": col,
                    "unexpected_count": detail.get("unexpected_count", detail.get("observed_value")),
                    "examples": (detail.get("partial_unexpected_list") or [])[:5],
                }
            )
    report = {
        "table": table,
        "rows": len(df),
        "success": not failures,
        "failures": failures,
        "n_expectations": len(expectations),
        "digest": digest,
    }
    write_json(out, report)
    if failures:
        lines = [f"data check failed for table '{table}' ({len(df)} rows; report: {out}):"]
        for f in failures:
            where = f"column '{f['column']}'" if f["column"] else "table"
            lines.append(f"  - {f['expectation']} on {where}: {f['unexpected_count']} rows fail, e.g. {f['examples']}")
        raise DataCheckError("\n".join(lines))
    return report
