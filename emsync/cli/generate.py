"""emsync generate: emotion- and boundary-conditioned MIDI from a trained generator (§4.1, §4.4, §6.2).

    emsync generate --valence 0.6 --arousal -0.2 --duration 30 --boundaries 4,9.5,17 -o out.mid
    emsync generate --valence nan --arousal 0.8 --duration 20 --primer song.mid --seed 3 -o out.mid
    emsync generate --valence 0.4 --arousal 0.4 --duration 15 --samples 4 -o out.mid   # out_0..3.mid
    emsync generate --valence 0.4 --arousal 0.4 --duration 15 --stride exact -o out.mid  # §4.4 exactly (slow)

The checkpoint defaults to generate.checkpoint (data/models/music/checkpoint.pt, the train stage's
output). The output lasts --duration seconds of music (a MIDI primer counts towards it);
--boundaries are times (s) in the output where strong chords should fall (Algorithm 1).
"""
import argparse
import math
from pathlib import Path

from emsync.errors import InputError


def register(sub):
    p = sub.add_parser("generate", help="generate a MIDI file for an emotion, a duration and cut times",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--valence", type=float, required=True, help="valence in [-1, 1] (nan: unconditioned)")
    p.add_argument("--arousal", type=float, required=True, help="arousal in [-1, 1] (nan: unconditioned)")
    p.add_argument("--duration", type=float, required=True, help="seconds of music to generate")
    p.add_argument("--boundaries", default="", help="comma-separated boundary times in seconds, e.g. 4,9.5,17")
    p.add_argument("--primer", default=None,
                   help="start_bar (default: params generate.primer), bar (abrupt start) or a .mid file to continue")
    p.add_argument("--instruments", choices=["fewer", "more"], default=None,
                   help="FEWER_/MORE_INSTRUMENTS (default: params generate.instruments; a MIDI primer keeps its own)")
    p.add_argument("--seed", type=int, default=0, help="random seed (same seed, same music)")
    p.add_argument("--samples", type=int, default=1, help="samples generated in one batch (out_0.mid, out_1.mid, ...)")
    p.add_argument("--checkpoint", default=None, help="generator checkpoint (default: params generate.checkpoint)")
    p.add_argument("--device", default=None, help="auto | cpu | cuda (default: params generate.device)")
    add_stride_arg(p)
    p.add_argument("-o", "--output", required=True, help="output .mid path")
    p.set_defaults(func=_run)


def add_stride_arg(p):
    p.add_argument("--stride", default=None, metavar="N|exact|thesis|cpu",
                   help="window slide stride (default: params generate.slide_stride, 64 = thesis): exact (1) is "
                        "§4.4's every-token slide, cpu (608) the CPU speed preset")


def with_stride(params, stride):
    """params with generate.slide_stride replaced by a --stride value (None: unchanged)."""
    import dataclasses

    if stride is None:
        return params
    from emsync.errors import ParamsError

    value = int(stride) if str(stride).isdigit() else stride
    try:
        gp = dataclasses.replace(params.generate, slide_stride=value)
    except ParamsError as e:
        raise InputError(f"--stride: {e}") from None
    return dataclasses.replace(params, generate=gp)


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


def resolve_device(name: str):
    import torch

    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise InputError("device cuda requested but no CUDA GPU is available (use --device cpu)")
    return torch.device(name)


def load_generator(path, device="cpu"):
    """The trained generator at `path` (a clear error if it is missing or not a checkpoint)."""
    from emsync.models.music_transformer import load_checkpoint

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: generator checkpoint not found; train one with `dvc repro train` "
                         "(or `python -m flows.train`), or pass --checkpoint PATH")
    try:
        model, _ = load_checkpoint(path, map_location=device)
    except Exception as e:  # a truncated or foreign file
        raise InputError(f"{path}: not a music transformer checkpoint ({type(e).__name__}: {e})") from None
    return model.to(device).eval()


def primer_ids(primer: str, instruments: str | None, default_instruments: str = "more", limits=None) -> list:
    """Keyword primers get `instruments` (else the default); a MIDI primer keeps its own
    FEWER/MORE token unless `instruments` is given."""
    from emsync.models.generation import PRIMERS, make_primer

    if primer in PRIMERS:
        return make_primer(primer, instruments or default_instruments)
    path = Path(primer)
    if not path.exists():
        raise InputError(f"--primer {primer}: neither {' / '.join(PRIMERS)} nor an existing MIDI file")
    from emsync.music.lpd5 import read_song
    from emsync.music.tokenizer import encode

    try:
        enc = encode(read_song(path, limits=limits))
    except InputError:
        raise
    except Exception as e:
        raise InputError(f"--primer {path}: cannot read it as MIDI ({type(e).__name__}: {e})") from None
    if enc.stats.get("notes", 0) == 0:
        raise InputError(f"--primer {path}: the file has no notes in the piano range")
    return make_primer(midi_ids=enc.ids, instruments=instruments)


def run_generator(params, conds, duration_s, primer=None, instruments=None, seed=0, checkpoint=None, device=None,
                  progress=True):
    """Load the generator named by the flags or params (int8 on CPU when generate.cpu_int8) and sample
    one sequence per Condition in `conds` (one batch): the GenerationResult. Shared by `emsync generate`
    and `emsync soundtrack`."""
    from emsync.models.generation import SamplingConfig, generate

    gp = params.generate
    from emsync.midi_input import MidiLimits

    ids = primer_ids(primer or gp.primer, instruments, gp.instruments, MidiLimits.from_params(params))  # before any work
    dev = resolve_device(device or gp.device)
    model = load_generator(params.path(checkpoint or gp.checkpoint), dev)
    if gp.cpu_int8 and dev.type == "cpu":
        from emsync.models.generation import quantize_int8

        model = quantize_int8(model)
    cfg = SamplingConfig.from_params(gp, max_offset_s=params.tokens.max_boundary_offset_s)
    return generate(model, conds, ids, duration_s=duration_s, cfg=cfg, seed=seed, progress=progress)


def generate_midi(params, valence, arousal, duration_s, output, boundaries=(), primer=None, instruments=None,
                  seed=0, samples=1, checkpoint=None, device=None, progress=True) -> list[dict]:
    """Generate `samples` MIDI files (one batch) and return one summary dict per file."""
    from emsync.emotion_map import check_condition
    from emsync.music.tokenizer import decode, write_midi
    from emsync.models.generation import Condition

    gp = params.generate
    valence, arousal = check_condition("valence", valence), check_condition("arousal", arousal)
    if not (duration_s > 0 and math.isfinite(duration_s)):
        raise InputError(f"--duration {duration_s}: must be a positive number of seconds")
    from emsync.limits import check_limit

    check_limit("--duration", duration_s, params.limits.max_generate_duration_s, "limits.max_generate_duration_s")
    if samples < 1:
        raise InputError(f"--samples {samples}: must be >= 1")
    from emsync.io import check_outputs

    late = [b for b in boundaries if b >= duration_s]
    if late:  # Algorithm 1 could never place a chord there: refuse rather than report "hit 0/n"
        raise InputError(f"--boundaries {', '.join(f'{b:g}' for b in late)}: at or beyond --duration {duration_s:g} s; "
                         "drop them or generate longer music")
    conds = [Condition(valence, arousal, tuple(boundaries))] * samples
    output = Path(output)
    outs = [output] if samples == 1 else [output.with_name(f"{output.stem}_{i}{output.suffix}") for i in range(samples)]
    from emsync.models.generation import PRIMERS

    primer_file = primer if primer and primer not in PRIMERS else None
    check_outputs({"-o" if len(outs) == 1 else f"-o ({p.name})": p for p in outs},
                  {"--primer": primer_file, "--checkpoint": params.path(checkpoint or gp.checkpoint)})
    res = run_generator(params, conds, duration_s, primer, instruments, seed, checkpoint, device, progress)
    summaries = []
    for i, path in enumerate(outs):
        dec = decode(res.tokens[i], chord_boost=gp.chord_velocity_boost)
        write_midi(dec, path)
        hits = res.boundary_hit[i]
        summaries.append({
            "path": str(path), "duration_s": round(float(res.duration_s[i]), 3), "tokens": len(res.tokens[i]),
            "notes": len(dec.notes), "instruments": sorted({int(x) for x in dec.notes.instrument}),
            "chords": len(dec.chord_steps), "boundaries_hit": f"{int(hits.sum())}/{len(hits)}",
            "reached_duration": bool(res.reached[i]),
        })
    summaries[0]["seconds"] = round(res.seconds, 2)
    return summaries


def _run(args):
    from emsync.config import load_params
    from emsync.music import vocab as V

    params = with_stride(load_params(), args.stride)
    out = generate_midi(params, args.valence, args.arousal, args.duration, args.output,
                        boundaries=parse_boundaries(args.boundaries), primer=args.primer, instruments=args.instruments,
                        seed=args.seed, samples=args.samples, checkpoint=args.checkpoint, device=args.device)
    for s in out:
        names = ",".join(V.INSTRUMENTS[i].lower() for i in s["instruments"]) or "none"
        warn = "" if s["reached_duration"] else " (token budget hit before the duration)"
        print(f"{s['path']}: {s['duration_s']:.1f} s, {s['tokens']} tokens, {s['notes']} notes ({names}), "
              f"{s['chords']} chords, boundaries hit {s['boundaries_hit']}{warn}")
    print(f"generated in {out[0]['seconds']} s")
