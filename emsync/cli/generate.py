"""emsync generate: emotion- and boundary-conditioned MIDI from a trained generator (§4.1, §4.4, §6.2).

    emsync generate --valence 0.6 --arousal -0.2 --duration 30 --boundaries 4,9.5,17 -o out.mid
    emsync generate --valence nan --arousal 0.8 --duration 20 --primer song.mid --seed 3 -o out.mid
    emsync generate --valence 0.4 --arousal 0.4 --duration 15 --samples 4 -o out.mid   # out_0..3.mid
    emsync generate --valence 0.4 --arousal 0.4 --duration 15 --stride exact -o out.mid  # §4.4 exactly (slow)

The checkpoint defaults to generate.checkpoint (pkg:music21-generator, the real generator shipped
in the package); --checkpoint data/models/music/checkpoint.pt takes the train stage's output. The
output lasts --duration seconds of music (a MIDI primer counts towards it); --boundaries are times
(s) in the output where strong chords should fall (Algorithm 1).
"""

import argparse
import json
import math

from emsync.core.errors import InputError


def register(sub):
    p = sub.add_parser(
        "generate",
        help="generate a MIDI file for an emotion, a duration and cut times",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--valence", type=float, required=True, help="valence in [-1, 1] (nan: unconditioned)")
    p.add_argument("--arousal", type=float, required=True, help="arousal in [-1, 1] (nan: unconditioned)")
    p.add_argument("--duration", type=float, required=True, help="seconds of music to generate")
    p.add_argument("--boundaries", default="", help="comma-separated boundary times in seconds, e.g. 4,9.5,17")
    p.add_argument(
        "--primer", default=None, help="start_bar (default: params generate.primer), bar (abrupt start) or a .mid file to continue"
    )
    p.add_argument(
        "--instruments",
        choices=["fewer", "more"],
        default=None,
        help="FEWER_/MORE_INSTRUMENTS (default: params generate.instruments; a MIDI primer keeps its own)",
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same music)")
    p.add_argument("--samples", type=int, default=1, help="samples generated in one batch (out_0.mid, out_1.mid, ...)")
    p.add_argument("--checkpoint", default=None, help="generator checkpoint (default: params generate.checkpoint)")
    p.add_argument("--device", default=None, help="auto | cpu | cuda (default: params generate.device)")
    add_stride_arg(p)
    p.add_argument("-o", "--output", required=True, help="output .mid path")
    p.add_argument("--json", action="store_true", help='print {"outputs": [one summary per file], "weights", "weights_warning"} as JSON')
    p.set_defaults(func=_run)


def add_stride_arg(p):
    p.add_argument(
        "--stride",
        default=None,
        metavar="N|exact|balanced|cpu",
        help="window slide stride (default: params generate.slide_stride): exact (1) is §4.4's every-token "
        "slide, balanced (64) keeps 97 %% of the context, cpu (608) the CPU speed preset",
    )


def with_stride(params, stride):
    """params with generate.slide_stride replaced by a --stride value (None: unchanged)."""
    import dataclasses

    if stride is None:
        return params
    from emsync.core.config import GenerateParams, check_value

    value = int(stride) if str(stride).isdigit() else stride
    check_value(GenerateParams, "slide_stride", value, "--stride")
    return dataclasses.replace(params, generate=dataclasses.replace(params.generate, slide_stride=value))


def parse_boundaries(text: str) -> tuple:
    """'4, 9.5,17' -> (4.0, 9.5, 17.0); a clear error for anything else (an empty entry such as
    '5,,6' is a typo, not a boundary to skip)."""
    out = []
    if not (text or "").strip():
        return ()
    for k, part in enumerate(text.split(",")):
        part = part.strip()
        if not part:
            raise InputError(f"--boundaries {text!r}: entry {k + 1} is empty; give comma-separated times in seconds")
        try:
            t = float(part)
        except ValueError:
            raise InputError(f"--boundaries: {part!r} is not a number of seconds") from None
        if not math.isfinite(t) or t < 0:
            raise InputError(f"--boundaries: {part!r} must be a time >= 0 s")
        out.append(t)
    return tuple(sorted(out))


def _run(args):
    from pathlib import Path

    from emsync.core.config import load_params
    from emsync.music import vocab as V
    from emsync.music.generator import generate_midi

    if Path(args.output).suffix.lower() not in (".mid", ".midi"):
        raise InputError(f"-o {args.output}: generate writes MIDI; give a .mid file name (render it with `emsync render`)")
    params = with_stride(load_params(), args.stride)
    out = generate_midi(
        params,
        args.valence,
        args.arousal,
        args.duration,
        args.output,
        boundaries=parse_boundaries(args.boundaries),
        primer=args.primer,
        instruments=args.instruments,
        seed=args.seed,
        samples=args.samples,
        checkpoint=args.checkpoint,
        device=args.device,
    )
    from emsync.core import provenance as P

    weights = [P.of_checkpoint(params.path(args.checkpoint or params.generate.checkpoint), "music generator")]
    if args.json:
        print(json.dumps({"outputs": out, **P.record(weights)}))
        return
    for s in out:
        names = ",".join(V.INSTRUMENTS[i].lower() for i in s["instruments"]) or "none"
        warn = "" if s["reached_duration"] else " (token budget hit before the duration)"
        print(
            f"{s['path']}: {s['duration_s']:.1f} s, {s['tokens']} tokens, {s['notes']} notes ({names}), "
            f"{s['chords']} chords, boundaries hit {s['boundaries_hit']}{warn}"
        )
    print("\n".join(P.text_lines(weights)))
    print(f"generated in {out[0]['seconds']} s")
