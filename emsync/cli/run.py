"""emsync run STAGE: run one pipeline flow directly (what `dvc repro` runs for that stage)."""

import pkgutil
import runpy
import sys

import emsync.flows as flows


def _stages():
    return sorted(i.name for i in pkgutil.iter_modules(flows.__path__) if not i.name.startswith("_"))


def register(sub):
    p = sub.add_parser("run", help="run one pipeline stage's Prefect flow (no DVC bookkeeping)")
    p.add_argument("stage", choices=_stages())
    p.set_defaults(func=_run)


def _run(args):
    sys.argv = [f"flows.{args.stage}"]
    runpy.run_module(f"emsync.flows.{args.stage}", run_name="__main__")
