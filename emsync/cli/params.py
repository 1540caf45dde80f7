"""emsync params show|check|use.

emsync params check                 # params.yaml: keys and types
emsync params check --data          # ... and every input folder it names (one line per missing one)
emsync params use thesis            # make params/thesis.yaml active (and list missing inputs)
"""

from emsync.core.config import load_params, project_root, to_dict
from emsync.core.errors import ParamsError

SETS = ("demo", "thesis")  # params/<name>.yaml of the project the user stands in


def register(sub):
    p = sub.add_parser("params", help="show, check or switch the active parameter set")
    ps = p.add_subparsers(dest="params_cmd", metavar="ACTION", required=True)
    s = ps.add_parser("check", help="validate a params file (default: params.yaml); --data: its input folders too")
    s.add_argument("file", nargs="?")
    s.add_argument(
        "--data", action="store_true", help="also check every dataset/video/model folder the set names (one line per missing input)"
    )
    s.add_argument("--write", default=None, help="with --data: write the checked paths as JSON here (the inputs stage)")
    s.set_defaults(func=_check)
    s = ps.add_parser("show", help="print the validated parameters with defaults filled in")
    s.add_argument("file", nargs="?")
    s.set_defaults(func=_show)
    s = ps.add_parser("use", help="make a parameter set active: copies params/<set>.yaml to params.yaml")
    s.add_argument("set", choices=sorted(SETS))
    s.set_defaults(func=_use)


def _check(args):
    import sys

    if args.write:  # before any work: never over a project file other than the inputs stage's record
        from emsync.core.io import check_outputs

        check_outputs({"--write": args.write}, {"file": args.file or project_root() / "params.yaml"}, own=("inputs",))
    p = load_params(args.file, complete=True)
    name = args.file or "params.yaml"
    if not args.data:
        print(f"{name}: ok")
        return 0
    from emsync.pipeline.inputs import check_inputs

    checked, missing = check_inputs(p)
    for m in missing:
        print(f"missing input: {m}", file=sys.stderr)
    if missing:
        from emsync.core.errors import InputError

        raise InputError(f"{name}: {len(missing)} input(s) missing (listed above); no stage was started")
    if args.write:
        from emsync.core.io import write_json

        write_json(args.write, {"params": name, "checked": checked})
    print(f"{name}: ok; {len(checked)} input path(s) present" + (f" ({', '.join(checked)})" if checked else ""))
    return 0


def _show(args):
    import yaml

    print(yaml.safe_dump(to_dict(load_params(args.file)), sort_keys=False), end="")


def _use(args):
    src = project_root() / "params" / f"{args.set}.yaml"
    load_params(src, complete=True)  # never activate an invalid set
    if not src.exists():
        raise ParamsError(f"{src}: parameter set not found")
    from emsync.core.io import write_bytes

    write_bytes(project_root() / "params.yaml", src.read_bytes())
    print(f"params.yaml <- {src.relative_to(project_root())}; run `dvc repro` (or `dvc exp run`) to apply")
    from emsync.pipeline.inputs import check_inputs

    _, missing = check_inputs(load_params(project_root() / "params.yaml"))
    for m in missing:
        print(f"missing input: {m}")
    if missing:
        print(f"{len(missing)} input(s) missing: `dvc repro` stops at the inputs stage until they are there (`emsync params check --data`)")
