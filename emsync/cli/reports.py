"""emsync reports index: rebuild reports/index.md and reports/index.html (what the reports_index stage runs)."""


def register(sub):
    p = sub.add_parser("reports", help="reports/index.md + index.html: every report and figure with its stage, params and versions")
    ss = p.add_subparsers(dest="reports_cmd", metavar="ACTION", required=True)
    i = ss.add_parser("index", help="rebuild reports/index.md and reports/index.html")
    i.add_argument("--reports-dir", default=None, help="default: the params' reports folder")
    i.set_defaults(func=_index)


def _index(args):
    from emsync.core.config import default_reports_dir
    from emsync.core.io import check_output_dir
    from emsync.pipeline.reports_index import build

    folder = args.reports_dir or default_reports_dir()
    check_output_dir("--reports-dir", folder, ("index.md", "index.html"), own=("reports_index", "reports"))
    md, page = build(args.reports_dir)
    print(f"{md}\n{page}")
    return 0
