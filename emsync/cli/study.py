"""`emsync study build|serve|report`: the §6.3.3 user study (docs/study.md).

    emsync study build                                   # data/soundtrack -> data/study (all videos, 2 per page, 30 links)
    emsync study build --videos 12 --participants 150 --conditions emsync,no_boundaries,random_emotion
    emsync study serve --port 8000                       # http://127.0.0.1:8000/s/<token>/ for each line of data/study/links.txt
    emsync study report                                  # data/study/report/study.md (Tables 6.2-6.4) + fig_6_5..7.png

Default folders are under the data root, params `paths.data_dir` (data/soundtrack is the `soundtrack` stage's output).
"""

import argparse
import json

from emsync.study import design


def _default(sub: str):
    """<data root>/<sub>: the data root is params `paths.data_dir`, where the `soundtrack` stage writes."""
    from emsync.core.config import load_params

    params = load_params()
    return params.path(params.paths.data_dir) / sub


def register(sub):
    p = sub.add_parser(
        "study",
        help="user study (§6.3.3): build survey pages, serve them, report Tables 6.2-6.4",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    ss = p.add_subparsers(dest="study_command", metavar="STEP", required=True)

    b = ss.add_parser("build", help="anonymised survey pages + participant links from the batch soundtracks")
    b.add_argument("--soundtracks", default=None, help="<video_id>/<condition>.mp4 folders (default data/soundtrack)")
    b.add_argument("-o", "--out", default=None, help="new study folder (default data/study)")
    b.add_argument(
        "--conditions",
        default=",".join(design.DEFAULT_CONDITIONS),
        help=f"the three versions compared (default {','.join(design.DEFAULT_CONDITIONS)}; known: {', '.join(design.CONDITION_LABELS)})",
    )
    b.add_argument("--videos", type=int, default=None, help="use the first N videos (by id) that have every condition (default all)")
    b.add_argument("--videos-per-page", type=int, default=2, help="videos on one participant's page (thesis: 2)")
    b.add_argument("--participants", type=int, default=30, help="participant links to make (pages assigned round robin)")
    b.add_argument("--seed", type=int, default=0, help="picks where the Latin-square row sequence starts")
    b.add_argument("--json", action="store_true", help="print the summary as JSON")
    b.set_defaults(func=_build)

    s = ss.add_parser("serve", help="serve the survey locally and store answers in DuckDB")
    s.add_argument("--study", default=None, help="study folder (default data/study)")
    s.add_argument("--db", default=None, help="responses DuckDB file (default <study>/responses.duckdb)")
    s.add_argument("--host", default="127.0.0.1", help="address to listen on (default loopback only)")
    s.add_argument("--port", type=_port, default=8000, help="port (0: any free one)")
    s.set_defaults(func=_serve)

    r = ss.add_parser("report", help="Tables 6.2-6.4 (markdown) and Figs. 6.5-6.7 from the stored answers")
    r.add_argument("--study", default=None, help="study folder (default data/study)")
    r.add_argument("--db", default=None, help="responses DuckDB file (default <study>/responses.duckdb)")
    r.add_argument("-o", "--out", default=None, help="report folder (default <study>/report)")
    r.set_defaults(func=_report)


def _port(text: str) -> int:
    """A TCP port number, 0..65535 (0: any free one)."""
    try:
        port = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port number") from None
    if not 0 <= port <= 65535:
        raise argparse.ArgumentTypeError(f"{port} is not a port number (0..65535; 0: any free one)")
    return port


def _build(args):
    from emsync.core.io import check_output_dir
    from emsync.study.build import build_study

    soundtracks = args.soundtracks or _default("soundtrack")
    out = check_output_dir("-o", args.out or _default("study"), inputs={"--soundtracks": soundtracks})
    summary = build_study(
        soundtracks,
        out,
        conditions=design.parse_conditions(args.conditions),
        n_videos=args.videos,
        videos_per_page=args.videos_per_page,
        participants=args.participants,
        seed=args.seed,
    )
    if args.json:
        print(json.dumps(summary, indent=2))
        return 0
    print(f"study: {summary['videos']} videos on {summary['pages']} pages, {summary['participants']} participant links -> {summary['out']}")
    for s in summary["skipped"]:
        print(f"  skipped {s['video_id']}: {s['reason']}")
    for cond, n in summary["position_counts"].items():
        print(f"  {cond}: left {n[0]}, centre {n[1]}, right {n[2]}")
    if summary["videos"] % len(design.SLOTS):
        print(f"  note: {summary['videos']} videos is not a multiple of {len(design.SLOTS)}: positions balance within one, not exactly")
    print(f"  links: {summary['out']}/links.txt (append them to the server's address); run `emsync study serve`")
    return 0


def _serve(args):
    from pathlib import Path

    from emsync.study.build import load_study
    from emsync.study.server import make_server

    from emsync.core.errors import InputError
    from emsync.core.io import check_db

    study_dir = Path(args.study) if args.study else _default("study")
    db = check_db("--db", args.db or study_dir / "responses.duckdb")
    study = load_study(study_dir)
    try:
        server = make_server(study, study_dir, db, args.host, args.port)
    except OSError as e:  # port taken, no permission, unknown host
        raise InputError(f"cannot listen on {args.host}:{args.port} ({e.strerror or e})") from None
    host, port = server.server_address[:2]
    print(f"survey: http://{host}:{port}/s/<token>/ for each token in {study_dir / 'links.txt'}; answers -> {db}; Ctrl-C stops", flush=True)
    try:
        server.serve_forever()
    finally:
        server.server_close()
    return 0


def _report(args):
    from pathlib import Path

    from emsync.study.report import GROUPS, write_report
    from emsync.study.responses import read_answers

    study_dir = Path(args.study) if args.study else None
    if args.db is None or args.out is None:  # the defaults live in the study folder
        study_dir = study_dir or _default("study")
    from emsync.core.io import check_output_dir

    db = Path(args.db) if args.db else study_dir / "responses.duckdb"
    names = ["study.md", "study.json"] + [f"fig_{fig.replace('.', '_')}.png" for _, _, fig, _ in GROUPS]
    out = check_output_dir("-o", args.out or study_dir / "report", names, inputs={"--db": db})
    agg = write_report(read_answers(db), out)
    parts = ", ".join(f"Table {t}: {agg[k]['participants']} participants" for k, t, *_ in GROUPS)
    print(f"study report -> {out / 'study.md'} ({parts})")
    return 0
