"""emsync bench <name> [options]: speed/memory benchmarks that print one JSON object (ratios
measured in the same run, never timed tests). Modules live in emsync/benchmarks/ and are
imported only when run, so `emsync --help` stays fast."""

import argparse
import importlib
import json
import pkgutil

import emsync.benchmarks as benchmarks


def _names():
    return sorted(i.name for i in pkgutil.iter_modules(benchmarks.__path__))


def register(sub):
    p = sub.add_parser("bench", help="run a benchmark and print JSON", description=f"benchmarks: {', '.join(_names())}")
    p.add_argument("name", choices=_names(), help="which benchmark")
    p.add_argument("options", nargs=argparse.REMAINDER, help="benchmark options (see emsync bench NAME --help)")
    p.set_defaults(func=_run)


def _run(args):
    mod = importlib.import_module(f"emsync.benchmarks.{args.name}")
    bp = argparse.ArgumentParser(prog=f"emsync bench {args.name}", description=(mod.__doc__ or "").strip())
    mod.add_args(bp)
    result = mod.run(bp.parse_args(args.options))
    print(json.dumps(result, indent=2))
