"""The one gate every MIDI entry point passes: `midi inspect`, `tokens encode|stats`,
`render`, `generate --primer`, the labeling and tokens stages.

A file is opened only if it is a regular file (not a folder, FIFO or device such as /dev/zero) no
larger than `limits.max_midi_mb`; its bytes then go through the §3.1 validator
(`emsync.labeling.midi.inspect_bytes`: header and chunks, a parse, notes, tempo and length within
`labeling.max_tempo_bpm` / `labeling.max_duration_s`). Every entry point raises the same one-line
error for the same file: `<path>: not a usable MIDI file (<reason>: <detail>)`, naming the param
for a limit.
"""

import os
import stat
from dataclasses import dataclass
from pathlib import Path

from emsync.core.errors import InputError
from emsync.labeling.midi import FS, inspect_bytes

# which params.yaml key a limit-type reject comes from
LIMIT_PARAMS = {"absurd_length": "labeling.max_duration_s", "absurd_tempo": "labeling.max_tempo_bpm", "too_large": "limits.max_midi_mb"}


@dataclass(frozen=True)
class MidiLimits:
    max_bytes: int
    max_duration_s: float
    max_tempo_bpm: float

    @classmethod
    def from_params(cls, params=None) -> "MidiLimits":
        """From a Params (default: the dataclass defaults, for callers outside a checkout)."""
        if params is None:
            from emsync.core.config import Params

            params = Params()
        return cls(int(params.limits.max_midi_mb * 2**20), params.labeling.max_duration_s, params.labeling.max_tempo_bpm)


class MidiInputError(InputError):
    """A MIDI input the validator rejects; `reason` is one of emsync.labeling.midi.REASONS."""

    def __init__(self, path, reason, detail):
        hint = f"; raise {LIMIT_PARAMS[reason]} in params.yaml to allow it" if reason in LIMIT_PARAMS else ""
        super().__init__(f"{path}: not a usable MIDI file ({reason}: {detail}{hint})")
        self.path, self.reason, self.detail = path, reason, detail


def read_regular(path, max_bytes: int, param="limits.max_midi_mb") -> bytes:
    """The bytes of a regular file no larger than `max_bytes` (checked with stat, before opening,
    so a FIFO never blocks and /dev/zero is never read). Raises MidiInputError."""
    path = Path(path)
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise MidiInputError(path, "unreadable", "file not found") from None
    except OSError as e:
        raise MidiInputError(path, "unreadable", f"cannot read: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        kind = "a folder" if stat.S_ISDIR(st.st_mode) else "a pipe" if stat.S_ISFIFO(st.st_mode) else "a device or special file"
        raise MidiInputError(path, "unreadable", f"{kind}, not a regular file")
    if st.st_size > max_bytes:
        raise MidiInputError(path, "too_large", f"{st.st_size / 2**20:.1f} MB > {max_bytes / 2**20:g} MB")
    try:
        with open(path, "rb") as f:
            data = f.read(max_bytes + 1)
    except OSError as e:
        raise MidiInputError(path, "unreadable", f"cannot read: {e.strerror}") from None
    if len(data) > max_bytes:  # grew since stat
        raise MidiInputError(path, "too_large", f"more than {max_bytes / 2**20:g} MB")
    return data


def inspect_path(path, limits: MidiLimits | None = None, fast=True, fs=None) -> dict:
    """The validator's row for one file (never raises): valid, reason, detail, hash, features."""
    limits = limits or MidiLimits.from_params()
    try:
        data = read_regular(path, limits.max_bytes)
    except MidiInputError as e:  # read_error: the file itself could not be read (not its content)
        return {"valid": False, "reason": e.reason, "detail": e.detail, "content_hash": None, "parser": None, "read_error": True}
    return inspect_bytes(data, fast=fast, fs=fs or FS, max_tempo_bpm=limits.max_tempo_bpm, max_duration_s=limits.max_duration_s)


def validate_midi(path, limits: MidiLimits | None = None) -> bytes:
    """The file's bytes if the validator accepts it; else MidiInputError with its reason."""
    limits = limits or MidiLimits.from_params()
    data = read_regular(path, limits.max_bytes)
    row = inspect_bytes(data, fast=True, fs=FS, max_tempo_bpm=limits.max_tempo_bpm, max_duration_s=limits.max_duration_s)
    if not row["valid"]:
        raise MidiInputError(path, row["reason"], row["detail"])
    return data


def inspect_file(path, max_bytes=64 * 2**20, **kw) -> dict:
    """inspect_bytes on a file read through the gate (regular files <= max_bytes only); the
    labeling stage's row, keyword arguments as inspect_bytes takes them."""
    try:
        data = read_regular(path, max_bytes)
    except MidiInputError as e:
        return {"valid": False, "reason": e.reason, "detail": e.detail, "content_hash": None, "parser": None}
    return inspect_bytes(data, **kw)
