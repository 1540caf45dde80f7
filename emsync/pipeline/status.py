"""`emsync status`: where the pipeline stands, gathered from the tools that own each fact.

- stages: up to date or stale, from `dvc status --json` (DVC's own bookkeeping, the same answer
  `dvc repro` acts on), with the changed deps/outs that make a stage stale;
- tables: row counts of every Parquet table of the feature store (emsync.pipeline.store.discover_tables),
  counted by DuckDB from the files themselves, so it works before `data/emsync.duckdb` exists;
- prefect: the latest run of each flow and its state, from the Prefect server named by
  PREFECT_API_URL, or else from the local (ephemeral) database under PREFECT_HOME;
- runs: cache-hit rates from the run reports reports/runs/<flow>.json (emsync.pipeline.flowkit.RunReport).
Each part fails on its own: an error is recorded in that part and the others are still reported.
"""

import json
import os
import sqlite3
import subprocess
import urllib.request
from pathlib import Path

from emsync.core.config import project_root, default_reports_dir


def dvc_stages(root=None) -> dict:
    """{stage: {"state": "up to date" | "stale", "changes": [...]}} for every stage in dvc.yaml."""
    import yaml

    root = Path(root or project_root())
    names = list((yaml.safe_load((root / "dvc.yaml").read_text()) or {}).get("stages", {}))
    r = subprocess.run(["dvc", "status", "--json"], cwd=root, capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        err = (r.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"dvc status failed: {err}")
    changed = json.loads(r.stdout or "{}")
    out = {}
    for name in names:
        entries = changed.get(name)
        if entries is None:
            out[name] = {"state": "up to date", "changes": []}
            continue
        changes = []
        for e in entries:
            if isinstance(e, str):  # e.g. "always changed"
                changes.append(e)
                continue
            for kind, paths in e.items():  # {"changed deps": {path: what}}
                for path, what in paths.items() if isinstance(paths, dict) else []:
                    changes.append(f"{kind.replace('changed ', '')} {path}: {what if isinstance(what, str) else 'modified'}")
        out[name] = {"state": "stale", "changes": changes}
    return out


def table_rows(data_dir=None) -> dict:
    """{view name: row count} for every feature-store table under data/."""
    import duckdb

    from emsync.pipeline.store import discover_tables

    tables = discover_tables(data_dir)
    con = duckdb.connect()
    con.execute(f"SET file_search_path = '{project_root()}'")
    try:
        return {
            name: con.execute("SELECT count(*) FROM read_parquet(?, union_by_name=true)", [glob]).fetchone()[0]
            for name, glob in tables.items()
        }
    finally:
        con.close()


def _prefect_home() -> Path:
    return Path(os.environ.get("PREFECT_HOME") or Path.home() / ".prefect").expanduser()


def prefect_runs(limit=200) -> dict:
    """{"source": where from, "flows": {flow: {"run", "state", "start", "end"}}}: the latest run of each flow."""
    api = os.environ.get("PREFECT_API_URL")
    if api:
        body = json.dumps({"sort": "START_TIME_DESC", "limit": limit}).encode()
        req = urllib.request.Request(f"{api.rstrip('/')}/flow_runs/filter", data=body, headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            runs = json.loads(r.read())
        req = urllib.request.Request(f"{api.rstrip('/')}/flows/filter", data=b"{}", headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as r:
            flow_names = {f["id"]: f["name"] for f in json.loads(r.read())}
        rows = [
            (flow_names.get(x["flow_id"], x["flow_id"]), x["name"], x["state_type"], x["state_name"], x["start_time"], x["end_time"])
            for x in runs
        ]
        source = api
    else:
        db = _prefect_home() / "prefect.db"
        if not db.exists():
            return {"source": str(db), "flows": {}}
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=10)
        try:
            rows = con.execute(
                "SELECT f.name, r.name, r.state_type, r.state_name, r.start_time, r.end_time FROM flow_run r "
                "JOIN flow f ON f.id = r.flow_id ORDER BY coalesce(r.start_time, r.expected_start_time) DESC LIMIT ?",
                (limit,),
            ).fetchall()
        finally:
            con.close()
        source = str(db)
    flows = {}
    for flow, run, state_type, state_name, start, end in rows:
        if flow not in flows:  # rows come newest first
            flows[flow] = {
                "run": run,
                "state": state_name or state_type,
                "start": str(start) if start else None,
                "end": str(end) if end else None,
            }
    return {"source": source, "flows": dict(sorted(flows.items()))}


def run_reports(reports_dir=None) -> dict:
    """{flow: {"tasks", "cache_hits", "hit_rate", "skipped", "seconds"}} from reports/runs/*.json."""
    out = {}
    for p in sorted((Path(reports_dir or default_reports_dir()) / "runs").glob("*.json")):
        try:
            d = json.loads(p.read_text())
            tasks, hits = int(d.get("tasks", 0)), int(d.get("cache_hits", 0))
        except (ValueError, TypeError, AttributeError) as e:
            out[p.stem] = {"error": f"{p.name}: unreadable run report ({type(e).__name__})"}
            continue
        out[d.get("flow") or p.stem] = {
            "tasks": tasks,
            "cache_hits": hits,
            "hit_rate": round(hits / tasks, 4) if tasks else None,
            "skipped": len(d.get("skipped") or []),
            "seconds": d.get("seconds"),
        }
    return out


def gather(root=None, data_dir=None, reports_dir=None, dvc=True) -> dict:
    """Every part of the status; a part that fails holds {"error": one line} instead."""
    parts = {
        "stages": (lambda: dvc_stages(root)) if dvc else None,
        "tables": lambda: table_rows(data_dir),
        "prefect": prefect_runs,
        "runs": lambda: run_reports(reports_dir),
    }
    out = {}
    for key, fn in parts.items():
        if fn is None:
            continue
        try:
            out[key] = fn()
        except Exception as e:  # one part's failure never hides the others
            out[key] = {"error": f"{type(e).__name__}: {e}"}
    return out


def format_text(s: dict) -> str:
    lines = []

    def section(title, part, rows):
        lines.append(title)
        if isinstance(part, dict) and "error" in part and len(part) == 1:
            lines.append(f"  error: {part['error']}")
        elif not rows:
            lines.append("  (none)")
        else:
            lines.extend("  " + r for r in rows)

    if "stages" in s:
        st = s["stages"]
        rows = []
        if "error" not in st:
            for name, v in st.items():
                more = f"  ({'; '.join(v['changes'][:3])}{'; ...' if len(v['changes']) > 3 else ''})" if v["changes"] else ""
                rows.append(f"{name:<20} {v['state']}{more}")
        section("stages (dvc status):", st, rows)
    t = s.get("tables", {})
    section("feature-store tables (rows):", t, [] if "error" in t else [f"{k:<34} {v:>10}" for k, v in t.items()])
    p = s.get("prefect", {})
    rows = [] if "error" in p else [f"{k:<20} {v['state']:<10} {v['start'] or '-'}  ({v['run']})" for k, v in p["flows"].items()]
    section(f"last Prefect runs ({p.get('source', '?')}):", p, rows)
    r = s.get("runs", {})
    rows = []
    for k, v in r.items():
        if "error" in v:
            rows.append(f"{k:<20} {v['error']}")
        else:
            rate = "-" if v["hit_rate"] is None else f"{100 * v['hit_rate']:.1f}%"
            rows.append(f"{k:<20} {v['cache_hits']}/{v['tasks']} cache hits ({rate}), {v['skipped']} skipped, {v['seconds']} s")
    section("run reports (reports/runs):", r, rows)
    return "\n".join(lines)
