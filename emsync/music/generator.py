"""Loading and running the trained music generator (§4.1, §4.4, §6.2): the one path that
`emsync generate`, `emsync soundtrack` and the evaluate stage share.

    from emsync.music.generator import generate_midi
    generate_midi(load_params(), 0.6, -0.2, 30.0, "out.mid", boundaries=(4.0, 9.5))
"""

import math
from pathlib import Path

from emsync.core.device import resolve_device
from emsync.core.errors import InputError


PACKAGE_REF = "pkg:music21-generator"  # how params and --checkpoint name the generator shipped in the package
PACKAGE_FILE = ("weights", "music", "checkpoint.pt")  # its place inside the emsync package (MODEL_CARD.md beside it)


def packaged_checkpoint() -> Path:
    """The shipped real generator's checkpoint inside the installed emsync package."""
    from importlib import resources

    return Path(str(resources.files("emsync").joinpath(*PACKAGE_FILE)))


def token_ids():
    """The emsync-v1 vocabulary's ids that the sampler needs (models/generation.py TokenIds)."""
    from emsync.models.generation import TokenIds
    from emsync.music import vocab as V

    return TokenIds(
        pad=V.PAD,
        start=V.START,
        bar=V.BAR,
        chord=V.CHORD,
        fewer=V.FEWER,
        more=V.MORE,
        banned=(V.PAD, V.START, V.FEWER, V.MORE, *range(V.VALENCE_OFFSET, V.ON_OFFSET)),
        timeshift_ms=tuple(int(x) for x in V.TIMESHIFT_MS),
    )


def sampling_config(gp, **overrides):
    """SamplingConfig from GenerateParams (+ overrides), with the vocabulary's ids."""
    from emsync.models.generation import SamplingConfig

    return SamplingConfig.from_params(gp, tokens=token_ids(), **overrides)


def make_primer(kind: str = "start_bar", instruments: str | None = "more", midi_ids=None) -> list[int]:
    """models.generation.make_primer with the vocabulary's ids."""
    from emsync.models.generation import make_primer as primer

    return primer(token_ids(), kind, instruments, midi_ids)


def checkpoint_path(params, checkpoint=None) -> Path:
    """The generator checkpoint a command uses: `checkpoint` (its --checkpoint flag) if given, else
    params' `generate.checkpoint`. Either may be `pkg:music21-generator`, the real generator shipped
    inside the package (the demo set's default; trained on music21's public-domain corpus, see
    emsync/weights/music/MODEL_CARD.md); anything else is a file: a flag's path relative to the
    working directory, a param's relative to the project. Pipeline stages do not use this: they
    score the model their own train stage wrote (`train.checkpoint`)."""
    ref = str(checkpoint or params.generate.checkpoint)
    if ref == PACKAGE_REF:
        path = packaged_checkpoint()
        if not path.is_file():
            raise InputError(f"{PACKAGE_REF}: the shipped generator is missing from the package ({path}); reinstall emsync")
        return path
    if ref.startswith("pkg:"):
        raise InputError(f"--checkpoint {ref}: unknown packaged model (the package ships {PACKAGE_REF})")
    return Path(ref).resolve() if checkpoint else params.path(ref)


def load_generator(path, device="cpu"):
    """(model in eval mode on `device`, extra) from the generator checkpoint at `path`; a clear
    error when it is missing or not a checkpoint."""
    from emsync.models.music_transformer import load_checkpoint

    path = Path(path)
    if not path.exists():
        raise InputError(
            f"{path}: generator checkpoint not found; train one with `dvc repro train` "
            "(or `python -m flows.train`), or pass --checkpoint PATH"
        )
    if not path.is_file():  # a FIFO or device would block or never end
        raise InputError(f"{path}: not a regular file (a generator checkpoint is a file)")
    try:
        with open(path, "rb") as f:
            model, extra = load_checkpoint(f, map_location="cpu")
    except Exception as e:  # a truncated or foreign file
        raise InputError(f"{path}: not a music transformer checkpoint ({type(e).__name__}: {e})") from None
    return model.to(device).eval(), extra


def save_generator(path, model, extra: dict | None = None) -> None:
    """The generator checkpoint, written atomically and byte-reproducibly (models/checkpoint.py)."""
    from emsync.core.io import write_bytes
    from emsync.models.music_transformer import checkpoint_bytes

    write_bytes(path, checkpoint_bytes(model, extra))


def primer_ids(primer: str, instruments: str | None, default_instruments: str = "more", limits=None, duration_s=None) -> list:
    """Keyword primers get `instruments` (else the default); a MIDI primer keeps its own
    FEWER/MORE token unless `instruments` is given. A MIDI primer that already lasts `duration_s`
    (it counts towards it) is refused: nothing would be generated."""
    from emsync.models.generation import PRIMERS

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
    from emsync.music import vocab as V

    primed = float(V.TIMESHIFT_MS[list(enc.ids)].sum()) / 1000.0
    if duration_s is not None and primed >= duration_s:
        raise InputError(
            f"--primer {path}: its {primed:.1f} s of music already fill --duration {duration_s:g} s (the primer counts towards it), "
            "so nothing would be generated; give a --duration longer than the primer"
        )
    return make_primer(midi_ids=enc.ids, instruments=instruments)


def sampling_params(gp, extra: dict | None):
    """generate.* with the top_p / temperature / min_nucleus a checkpoint records in extra["sampling"]
    (the shipped real model's, chosen on its held-out corpus) when generate.sampling is "checkpoint"."""
    import dataclasses

    rec = (extra or {}).get("sampling") or {}
    if gp.sampling != "checkpoint" or not rec:
        return gp
    return dataclasses.replace(gp, **{k: rec[k] for k in ("top_p", "temperature", "min_nucleus") if k in rec})


def run_generator(
    params, conds, duration_s, primer=None, instruments=None, seed=0, checkpoint=None, device=None, progress=True, primer_tokens=None
):
    """Load the generator named by the flags or params (int8 on CPU when generate.cpu_int8) and sample
    one sequence per Condition in `conds` (one batch): the GenerationResult. Shared by `emsync generate`
    and `emsync soundtrack`. `primer_tokens` (token ids, e.g. the music a re-score keeps) replaces
    the `primer` keyword or MIDI file."""
    from emsync.models.generation import generate

    gp = params.generate
    from emsync.music.midi_input import MidiLimits

    if primer_tokens is not None:
        ids = [int(t) for t in primer_tokens]
    else:
        ids = primer_ids(primer or gp.primer, instruments, gp.instruments, MidiLimits.from_params(params), duration_s)  # before any work
    dev = resolve_device(device or gp.device)
    model, extra = load_generator(checkpoint_path(params, checkpoint), dev)
    gp = sampling_params(gp, extra)
    if gp.cpu_int8 and dev.type == "cpu":
        from emsync.models.generation import quantize_int8

        model = quantize_int8(model)
    cfg = sampling_config(gp, max_offset_s=params.tokens.max_boundary_offset_s)
    return generate(model, conds, ids, duration_s=duration_s, cfg=cfg, seed=seed, progress=progress)


def generate_midi(
    params,
    valence,
    arousal,
    duration_s,
    output,
    boundaries=(),
    primer=None,
    instruments=None,
    seed=0,
    samples=1,
    checkpoint=None,
    device=None,
    progress=True,
) -> list[dict]:
    """Generate `samples` MIDI files (one batch) and return one summary dict per file."""
    from emsync.emotion.mapping import check_condition
    from emsync.music.tokenizer import decode, write_midi
    from emsync.models.generation import Condition

    gp = params.generate
    valence, arousal = check_condition("valence", valence), check_condition("arousal", arousal)
    if not (duration_s > 0 and math.isfinite(duration_s)):
        raise InputError(f"--duration {duration_s}: must be a positive number of seconds")
    from emsync.core.limits import check_limit

    check_limit("--duration", duration_s, params.limits.max_generate_duration_s, "limits.max_generate_duration_s")
    if samples < 1:
        raise InputError(f"--samples {samples}: must be >= 1")
    check_limit("--samples", samples, params.limits.max_generate_samples, "limits.max_generate_samples", unit="pieces")
    from emsync.core.io import check_outputs

    late = [b for b in boundaries if b >= duration_s]
    if late:  # Algorithm 1 could never place a chord there: refuse rather than report "hit 0/n"
        raise InputError(
            f"--boundaries {', '.join(f'{b:g}' for b in late)}: at or beyond --duration {duration_s:g} s; "
            "drop them or generate longer music"
        )
    conds = [Condition(valence, arousal, tuple(boundaries))] * samples
    output = Path(output)
    outs = [output] if samples == 1 else [output.with_name(f"{output.stem}_{i}{output.suffix}") for i in range(samples)]
    from emsync.models.generation import PRIMERS

    primer_file = primer if primer and primer not in PRIMERS else None
    check_outputs(
        {"-o" if len(outs) == 1 else f"-o ({p.name})": p for p in outs},
        {"--primer": primer_file, "--checkpoint": checkpoint_path(params, checkpoint)},
    )
    res = run_generator(params, conds, duration_s, primer, instruments, seed, checkpoint, device, progress)
    summaries = []
    for i, path in enumerate(outs):
        dec = decode(res.tokens[i], chord_boost=gp.chord_velocity_boost)
        write_midi(dec, path)
        hits = res.boundary_hit[i]
        summaries.append(
            {
                "path": str(path),
                "duration_s": round(float(res.duration_s[i]), 3),
                "tokens": len(res.tokens[i]),
                "notes": len(dec.notes),
                "instruments": sorted({int(x) for x in dec.notes.instrument}),
                "chords": len(dec.chord_steps),
                "boundaries_hit": f"{int(hits.sum())}/{len(hits)}",
                "reached_duration": bool(res.reached[i]),
            }
        )
    summaries[0]["seconds"] = round(res.seconds, 2)
    return summaries
