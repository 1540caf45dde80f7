"""emsync tokens encode|decode|stats: the event tokenizer on single files (§2.1, §4.1, §4.3).

emsync tokens encode song.mid -o tokens.json     # {"vocab_version", "tokens": [...], "chord_times", "stats"}
emsync tokens decode tokens.json -o out.mid      # token strings (or ids) -> MIDI
emsync tokens stats song.mid                     # counts, chords found, duration (JSON)
"""

import json
from pathlib import Path

from emsync.core.errors import InputError


def register(sub):
    p = sub.add_parser("tokens", help="encode / decode / inspect MIDI with the event tokenizer")
    ss = p.add_subparsers(dest="tokens_cmd", metavar="ACTION", required=True)
    e = ss.add_parser("encode", help="MIDI or LPD .npz -> tokens JSON")
    e.add_argument("file", help=".mid/.midi/.kar or pianoroll .npz")
    e.add_argument("-o", "--out", required=True, help="tokens JSON to write")
    e.set_defaults(func=_encode)
    d = ss.add_parser("decode", help="tokens JSON -> MIDI")
    d.add_argument("file", help="JSON from `emsync tokens encode` or generation: {vocab_version, tokens}")
    d.add_argument("-o", "--out", required=True, help="MIDI file to write")
    d.add_argument("--bpm", type=float, default=120.0, help="tempo written to the file (timing is in seconds anyway)")
    d.add_argument("--chord-boost", type=int, default=0, help="velocity added to chord notes (§4.1; default 0)")
    d.set_defaults(func=_decode)
    s = ss.add_parser("stats", help="token/note counts, strong chords and duration of a file (JSON)")
    s.add_argument("file")
    s.set_defaults(func=_stats)


def _encode_file(path):
    from emsync.core.config import load_params_or_defaults
    from emsync.music.lpd5 import read_song
    from emsync.music.midi_input import MidiLimits
    from emsync.music.tokenizer import encode

    params = load_params_or_defaults()
    tp = params.tokens  # tokens.npz_assume_4_4: LPD-cleansed piano rolls get 4/4 bars
    return encode(read_song(path, npz_assume_4_4=tp.npz_assume_4_4, limits=MidiLimits.from_params(params)), tp)


def _encode(args):
    from emsync.core.io import check_outputs, write_json
    from emsync.music import vocab as V

    check_outputs({"-o": args.out}, {"file": args.file})
    enc = _encode_file(args.file)
    write_json(
        args.out,
        {
            "vocab_version": V.VOCAB_VERSION,
            "source": Path(args.file).name,
            "tokens": [V.id_to_token(i) for i in enc.ids],
            "chord_times": enc.chord_times_s.round(3).tolist(),
            "stats": enc.stats,
        },
        indent=None,
    )
    print(f"{len(enc.ids)} tokens, {enc.stats['notes']} notes, {enc.stats['chords']} chords -> {args.out}")


def _decode(args):
    from emsync.core.config import GenerateParams, Range, check_value
    from emsync.core.errors import ParamsError
    from emsync.core.io import check_outputs, read_json
    from emsync.music import vocab as V
    from emsync.music.tokenizer import decode, write_midi

    check_outputs({"-o": args.out}, {"file": args.file})
    check_value(GenerateParams, "chord_velocity_boost", args.chord_boost, "--chord-boost")
    try:  # a MIDI tempo: 4 bpm is its slowest (2^24 µs per beat)
        Range(4, 1000)(args.bpm, "--bpm")
    except ParamsError as e:
        raise InputError(str(e)) from None
    doc = read_json(args.file)
    if not isinstance(doc, dict) or "tokens" not in doc:
        raise InputError(f"{args.file}: expected a JSON object with 'vocab_version' and 'tokens'")
    if doc.get("vocab_version", V.VOCAB_VERSION) != V.VOCAB_VERSION:
        raise InputError(f"{args.file}: vocabulary {doc['vocab_version']!r} is not {V.VOCAB_VERSION!r}")
    ids = [t if isinstance(t, int) else V.token_to_id(t) for t in doc["tokens"]]
    dec = decode(ids, chord_boost=args.chord_boost)
    write_midi(dec, args.out, bpm=args.bpm)
    dur = dec.notes.off.max() * V.TIME_STEP_MS / 1000 if len(dec.notes) else 0.0
    print(f"{len(dec.notes)} notes, {dur:.1f} s -> {args.out}")


def _stats(args):
    from emsync.music import vocab as V

    enc = _encode_file(args.file)
    per_instrument = {name: int((enc.notes.instrument == i).sum()) for i, name in enumerate(V.INSTRUMENTS)}
    out = {
        "file": str(args.file),
        "vocab_version": V.VOCAB_VERSION,
        **enc.stats,
        "notes_per_instrument": per_instrument,
        "chord_times": enc.chord_times_s.round(3).tolist(),
    }
    print(json.dumps(out, indent=2))
