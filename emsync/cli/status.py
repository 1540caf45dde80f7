"""emsync status: stages up to date/stale (DVC), feature-store row counts, last Prefect runs, cache hits."""

import json


def register(sub):
    p = sub.add_parser("status", help="which stages are stale (DVC), table row counts, last Prefect runs, cache-hit rates")
    p.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")
    p.add_argument("--no-dvc", action="store_true", help="skip `dvc status` (it hashes the stage inputs)")
    p.set_defaults(func=_status)


def _status(args):
    from emsync.pipeline import status

    s = status.gather(dvc=not args.no_dvc)
    print(json.dumps(s, indent=2, default=str) if args.json else status.format_text(s))
    return 0
