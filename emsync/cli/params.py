"""emsync params show|check|use."""
import shutil

from emsync.config import ROOT, load_params, to_dict
from emsync.errors import ParamsError

SETS = {"demo": ROOT / "params" / "demo.yaml", "thesis": ROOT / "params" / "thesis.yaml"}


def register(sub):
    p = sub.add_parser("params", help="show, check or switch the active parameter set")
    ps = p.add_subparsers(dest="params_cmd", metavar="ACTION", required=True)
    s = ps.add_parser("check", help="validate a params file (default: params.yaml)")
    s.add_argument("file", nargs="?")
    s.set_defaults(func=_check)
    s = ps.add_parser("show", help="print the validated parameters with defaults filled in")
    s.add_argument("file", nargs="?")
    s.set_defaults(func=_show)
    s = ps.add_parser("use", help="make a parameter set active: copies params/<set>.yaml to params.yaml")
    s.add_argument("set", choices=sorted(SETS))
    s.set_defaults(func=_use)


def _check(args):
    load_params(args.file)
    print(f"{args.file or 'params.yaml'}: ok")


def _show(args):
    import yaml

    print(yaml.safe_dump(to_dict(load_params(args.file)), sort_keys=False), end="")


def _use(args):
    src = SETS[args.set]
    load_params(src)  # never activate an invalid set
    if not src.exists():
        raise ParamsError(f"{src}: parameter set not found")
    from emsync.io import write_bytes

    write_bytes(ROOT / "params.yaml", src.read_bytes())
    print(f"params.yaml <- {src.relative_to(ROOT)}; run `dvc repro` (or `dvc exp run`) to apply")
