"""`emsync` command line. Each domain adds its subcommands in emsync/cli/<domain>.py via
`register(subparsers)`; handlers take the parsed args and return an exit code (or None)."""

import argparse
import importlib
import sys

from emsync import __version__

# Subcommand modules, in `emsync --help` order.

from emsync.core import env

DOMAINS = [
    "params",
    "store",
    "run",
    "status",
    "deploy",
    "reports",
    "demo",
    "midi",
    "tokens",
    "train",
    "generate",
    "video",
    "soundtrack",
    "enhance",
    "features",
    "classify",
    "study",
    "bench",
]


def build_parser():
    parser = argparse.ArgumentParser(
        prog="emsync",
        description="Turn a video into an emotion-matched, cut-synchronised MIDI soundtrack; reproduce the thesis pipeline (Sulun 2025).",
    )
    parser.add_argument("--debug", action="store_true", help="show full tracebacks on errors")
    parser.add_argument("--version", action="version", version=f"emsync {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in DOMAINS:
        try:
            mod = importlib.import_module(f"emsync.cli.{name}")
        except ModuleNotFoundError as e:
            if e.name == f"emsync.cli.{name}":
                continue
            raise
        mod.register(sub)
    return parser


def _exit_on_sigterm(signum, frame):
    """SIGTERM (`timeout`, `kill`) unwinds like Ctrl-C: `finally` blocks and temp folders clean up."""
    raise KeyboardInterrupt


def _check_common_flags(args):
    """--device and --seed, on every command that takes them, accept what their params accept."""
    from emsync.core.config import GenerateParams, TrainParams, check_value

    if isinstance(getattr(args, "device", None), str):
        check_value(GenerateParams, "device", args.device, "--device")
    if isinstance(getattr(args, "seed", None), int):
        check_value(TrainParams, "seed", args.seed, "--seed")


def main(argv=None):
    import signal
    import threading

    env.apply_defaults()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_sigterm)
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.debug:  # flows run by `emsync run` read it too
        import os

        os.environ["EMSYNC_DEBUG"] = "1"
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        _check_common_flags(args)
        rc = args.func(args)
    except KeyboardInterrupt:
        print("emsync: interrupted", file=sys.stderr)
        return 130
    except MemoryError:  # a limit in params.yaml `limits` was raised beyond what this machine holds
        print("emsync: error: out of memory; lower the request or the limits in params.yaml", file=sys.stderr)
        return 1
    except BrokenPipeError:  # e.g. `emsync sql ... | head`
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except Exception as e:  # one clear line unless --debug
        if args.debug:
            raise
        from emsync.core.errors import EmsyncError

        from emsync.core.redact import redact

        from emsync.core.io import is_disk_full

        if is_disk_full(e) and not isinstance(e, EmsyncError):
            e = EmsyncError(
                f"no space left on the device ({getattr(e, 'filename', None) or 'an output or temporary file'}); nothing was kept"
            )
        msg = redact(str(e) if isinstance(e, EmsyncError) else f"{type(e).__name__}: {e}")
        print(f"emsync: error: {msg}", file=sys.stderr)
        if not isinstance(e, EmsyncError):
            print("emsync: (run with --debug for the traceback)", file=sys.stderr)
        return 1
    return rc or 0


if __name__ == "__main__":
    sys.exit(main())
