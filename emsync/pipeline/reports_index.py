"""reports/index.md and reports/index.html: every report, table and figure the pipeline has made.

Each entry names the DVC stage that produced the file, the parameters that stage ran with and the
file's DVC version (its md5 in dvc.lock, the hash `dvc checkout` restores it by), plus the git
commit of the code. The HTML page is self-contained: Markdown reports are rendered in place and
figures are inlined as data URIs, so it opens from any folder. Run by the `reports_index` stage.
"""

import base64
import html
import json
import subprocess
from pathlib import Path

import yaml

from emsync.core.config import default_reports_dir, project_root
from emsync.core.io import write_text

KINDS = {".md": "report", ".png": "figure", ".svg": "figure", ".json": "metrics", ".csv": "plot data"}
HEADINGS = {"report": "Reports", "figure": "Figures", "metrics": "Metrics", "plot data": "Plot data"}
SKIP = {"index.md", "index.html", "inputs.json"}


def _lock_entries(lock_path: Path) -> dict:
    """{output path: (stage, params {key: value}, md5)} from dvc.lock (folder outputs cover their files)."""
    if not lock_path.exists():
        return {}
    lock = yaml.safe_load(lock_path.read_text()) or {}
    out = {}
    for stage, body in (lock.get("stages") or {}).items():
        params = {k: v for f in (body.get("params") or {}).values() for k, v in (f or {}).items()}
        for o in body.get("outs") or []:
            out[o["path"]] = (stage, params, o.get("md5"))
    return out


def _git_version(root: Path) -> str:
    r = subprocess.run(["git", "describe", "--always", "--dirty", "--abbrev=10"], cwd=root, capture_output=True, text=True)
    return r.stdout.strip() if r.returncode == 0 else "unknown"


def _params_text(params: dict) -> str:
    if not params:
        return "(none)"
    return "; ".join(f"{k}={json.dumps(v, sort_keys=True, default=str)}" for k, v in sorted(params.items()))


def collect(reports_dir=None, root=None) -> list[dict]:
    """One dict per report file: name, kind, title, stage, params, dvc_md5."""
    root = Path(root or project_root())
    reports_dir = Path(reports_dir or default_reports_dir())
    entries = _lock_entries(root / "dvc.lock")
    rel_dir = reports_dir.resolve().relative_to(root.resolve()).as_posix() if reports_dir.resolve().is_relative_to(root.resolve()) else None
    items = []
    for p in sorted(reports_dir.iterdir()):
        if not p.is_file() or p.name in SKIP or p.suffix not in KINDS or p.name.startswith("."):
            continue
        stage, params, md5 = entries.get(f"{rel_dir}/{p.name}", (None, {}, None)) if rel_dir else (None, {}, None)
        title = p.stem.replace("_", " ")
        if p.suffix == ".md":
            heads = [ln.lstrip("# ").strip() for ln in p.read_text(errors="replace").splitlines() if ln.startswith("#")]
            title = heads[0] if heads else title
        items.append({"name": p.name, "kind": KINDS[p.suffix], "title": title, "stage": stage, "params": params, "dvc_md5": md5})
    return items


def build(reports_dir=None, root=None) -> tuple[Path, Path]:
    """Write index.md and index.html in reports_dir; return their paths."""
    import markdown

    root = Path(root or project_root())
    reports_dir = Path(reports_dir or default_reports_dir())
    items = collect(reports_dir, root)
    git = _git_version(root)
    md = [
        "# emsync reports",
        "",
        f"Code version (git): `{git}`. Each entry: the DVC stage that made it, the parameters it ran "
        "with (dvc.lock) and the file's DVC version (md5 in dvc.lock).",
        "",
    ]
    body = [
        f"<h1>emsync reports</h1><p>Code version (git): <code>{html.escape(git)}</code>. Each entry: the DVC stage that made it, "
        "the parameters it ran with (dvc.lock) and the file's DVC version (md5 in dvc.lock).</p>"
    ]
    for kind, heading in HEADINGS.items():
        group = [it for it in items if it["kind"] == kind]
        if not group:
            continue
        md += [f"## {heading}", ""]
        body.append(f"<h2>{heading}</h2>")
        for it in group:
            stage = it["stage"] or "(not a DVC output)"
            md5 = it["dvc_md5"] or "-"
            md.append(f"- [{it['title']}]({it['name']}) — stage `{stage}`, DVC md5 `{md5}`, params: {_params_text(it['params'])}")
            body.append(
                f'<section><h3><a href="{html.escape(it["name"])}">{html.escape(it["title"])}</a></h3>'
                f"<p class=meta>stage <code>{html.escape(stage)}</code> · DVC md5 <code>{md5}</code> · git <code>{html.escape(git)}</code>"
                f"<br>params: <code>{html.escape(_params_text(it['params']))}</code></p>"
            )
            p = reports_dir / it["name"]
            if kind == "report":
                body.append(markdown.markdown(p.read_text(errors="replace"), extensions=["tables", "fenced_code"]))
            elif kind == "figure":
                mime = "image/svg+xml" if p.suffix == ".svg" else "image/png"
                data = base64.b64encode(p.read_bytes()).decode()
                body.append(f'<img alt="{html.escape(it["title"])}" src="data:{mime};base64,{data}">')
            elif kind == "metrics":
                body.append(f"<pre>{html.escape(p.read_text(errors='replace'))}</pre>")
            body.append("</section>")
        md.append("")
    page = (
        "<!doctype html><html><head><meta charset=utf-8><title>emsync reports</title><style>"
        "body{font-family:sans-serif;max-width:60em;margin:auto;padding:1em}img{max-width:100%}"
        "table{border-collapse:collapse}td,th{border:1px solid #ccc;padding:2px 6px}.meta{color:#555;font-size:90%}"
        "pre{background:#f6f6f6;padding:.5em;overflow:auto}</style></head><body>" + "\n".join(body) + "</body></html>\n"
    )
    md_path, html_path = reports_dir / "index.md", reports_dir / "index.html"
    write_text(md_path, "\n".join(md) + "\n")
    write_text(html_path, page)
    return md_path, html_path
