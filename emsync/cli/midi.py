"""emsync midi inspect FILE...: validate, hash and describe MIDI files (thesis §3.1).
emsync midi lyrics FILE...: the lyrics in MIDI/.kar files, their language and word count (§3.2.2).

    emsync midi inspect song.mid other.mid       # one JSON line per file
    emsync midi inspect --reference song.mid     # pretty_midi reference parser only
    emsync midi lyrics song.kar other.mid        # {"midi_id", "language", "n_words", "text", ..., "weights"}
"""

import json
import sys

FIELDS = ["midi_id", "valid", "reason", "content_hash", "note_density", "tempo", "n_instruments", "has_drums", "duration"]


def register(sub):
    p = sub.add_parser("midi", help="MIDI file tools (validation, content hash, features)")
    s = p.add_subparsers(dest="midi_command", metavar="SUBCOMMAND", required=True)
    q = s.add_parser("inspect", help="one JSON line per file: validity, content hash, features")
    q.add_argument("files", nargs="+", metavar="FILE")
    q.add_argument("--reference", action="store_true", help="use the pretty_midi reference parser (slow)")
    q.add_argument("--all", action="store_true", help="print every field, not only the main ones")
    q.set_defaults(func=_inspect)
    q = s.add_parser("lyrics", help="one JSON line per file: lyrics text, language, word count (§3.2.2)")
    q.add_argument("files", nargs="+", metavar="FILE")
    q.add_argument("--all", action="store_true", help="print every field, not only the main ones")
    q.set_defaults(func=_lyrics)


def _inspect(args):
    from emsync.core.config import load_params_or_defaults
    from emsync.labeling.scan import midi_id_of
    from emsync.music.midi_input import MidiLimits, inspect_path

    limits = MidiLimits.from_params(load_params_or_defaults())
    unread = []
    for f in args.files:
        row = {"midi_id": midi_id_of(f), **inspect_path(f, limits, fast=not args.reference)}
        row.pop("programs", None)
        if row.pop("read_error", False):
            unread.append(f)  # missing, not a regular file, unreadable or over limits.max_midi_mb
        if not args.all:
            row = {k: row.get(k) for k in FIELDS} | ({"detail": row.get("detail")} if not row["valid"] else {})
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    if unread:
        sys.stdout.flush()
        print(f"emsync: error: {len(unread)} of {len(args.files)} files could not be read: {', '.join(map(str, unread))}", file=sys.stderr)
        return 1
    return 0


LYRICS_FIELDS = ["midi_id", "language", "n_words", "keep", "reason", "text"]


def _lyrics(args):
    """A file that cannot be read prints {"midi_id", "error"}; the exit code is then 1."""
    from emsync.core.config import load_params_or_defaults
    from emsync.core.errors import InputError
    from emsync.labeling.scan import midi_id_of
    from emsync.lyrics.rows import lyrics_row
    from emsync.music.midi_input import MidiLimits

    from emsync.core import provenance as P

    p = load_params_or_defaults()
    limits = MidiLimits.from_params(p)
    weights = P.record([P.packaged("py3langid", "language identification")])  # the one model the rows rest on
    rc = 0
    for f in args.files:
        try:
            row = lyrics_row(f, midi_id_of(f), p.lyrics.min_words, p.lyrics.language, limits)
        except InputError as e:
            row, rc = {"midi_id": midi_id_of(f), "error": str(e)}, 1
        if not args.all and "error" not in row:
            row = {k: row[k] for k in LYRICS_FIELDS}
        row |= {} if "error" in row else weights
        sys.stdout.write(json.dumps(row, ensure_ascii=False) + "\n")
    return rc
