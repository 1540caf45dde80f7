"""One MIDI validator behind every entry point.

A seeded fuzz run over 1,000+ mutated files: `midi inspect` (emsync.music.midi_input.inspect_path), the
labeling stage's scan, `tokens encode` (read_song + encode), `generate --primer` (primer_ids) and
`render` (render_file, FluidSynth replaced by a sentinel) all accept the same files and reject the
rest with the validator's reason. In-process for speed; the CLI is exercised on a few files."""

import collections
import os
import subprocess
import sys
from pathlib import Path

import pytest

from emsync.soundtrack import render
from emsync.cli import main
from emsync.music.generator import primer_ids
from emsync.core.config import Params
from emsync.core.errors import InputError
from emsync.labeling.scan import _one as labeling_scan_one
from emsync.music.midi_input import MidiInputError, MidiLimits, inspect_path
from emsync.music.lpd5 import read_song
from emsync.music.tokenizer import encode
from tests._midi_mutants import huge_delta, mutants, seeds

ROOT = Path(__file__).resolve().parents[1]


class _FluidSynthReached(Exception):
    pass


def _reason(fn):
    """None when `fn` passes the validator, else the MidiInputError's reason."""
    try:
        fn()
    except MidiInputError as e:
        return e.reason
    return None


def test_fuzz_every_entry_point_agrees_with_the_validator(tmp_path, monkeypatch):
    def no_fluidsynth(*a, **k):
        raise _FluidSynthReached

    monkeypatch.setattr(render.subprocess, "run", no_fluidsynth)
    params = Params()
    limits = MidiLimits.from_params(params)
    opts = {"fast": True, "max_tempo_bpm": limits.max_tempo_bpm, "max_duration_s": limits.max_duration_s, "max_bytes": limits.max_bytes}
    files = mutants(1000, seed=10) + [huge_delta(s) for s in seeds()]
    seen = collections.Counter()
    for k, data in enumerate(files):
        path = tmp_path / f"m{k:04d}.mid"
        path.write_bytes(data)
        row = inspect_path(path, limits)
        want = None if row["valid"] else row["reason"]
        seen[want] += 1
        assert labeling_scan_one((str(path), opts))["reason"] == want, path

        def tokens_encode():
            encode(read_song(path, limits=limits))

        def primer():
            try:
                primer_ids(str(path), None, "more", limits)
            except MidiInputError:
                raise
            except InputError as e:  # a valid file can still lack notes the tokenizer keeps
                assert "no notes in the piano range" in str(e), (path, e)

        def render_it():
            try:
                render.render_file(params, path, tmp_path / "o.wav")
            except _FluidSynthReached:
                pass

        for name, fn in [("tokens encode", tokens_encode), ("generate --primer", primer), ("render", render_it)]:
            assert _reason(fn) == want, (name, path, row)
        path.unlink()
    assert len(files) >= 1000
    # the run covers every kind of verdict the validator gives
    assert {None, "empty", "unreadable", "truncated", "absurd_length"} <= set(seen), seen


def test_the_same_one_line_reason_from_each_command(tmp_path, capsys):
    bad = tmp_path / "zero_tpq.mid"
    data = bytearray(seeds()[0])
    data[12:14] = b"\x00\x00"
    bad.write_bytes(bytes(data))
    want = f"{bad}: not a usable MIDI file (unreadable: 0 ticks per beat)"
    for argv in (
        ["tokens", "encode", str(bad), "-o", str(tmp_path / "t.json")],
        ["tokens", "stats", str(bad)],
        ["render", str(bad), "-o", str(tmp_path / "o.wav")],
        ["generate", "--valence", "0", "--arousal", "0", "--duration", "5", "--primer", str(bad), "-o", str(tmp_path / "g.mid")],
    ):
        assert main(argv) == 1
        assert capsys.readouterr().err.strip() == f"emsync: error: {want}", argv
    assert main(["midi", "inspect", str(bad)]) == 0  # a verdict, not a failure
    assert '"reason": "unreadable"' in capsys.readouterr().out


def test_inspect_exits_nonzero_on_a_missing_or_unreadable_file_but_prints_every_row(tmp_path, capsys):
    good = tmp_path / "good.mid"
    good.write_bytes(seeds()[0])
    os.mkfifo(tmp_path / "pipe.mid")
    args = [str(good), str(tmp_path / "missing.mid"), str(tmp_path / "pipe.mid"), "/dev/zero", str(tmp_path)]
    assert main(["midi", "inspect", *args]) == 1
    out = capsys.readouterr()
    rows = out.out.strip().splitlines()
    assert len(rows) == 5 and '"valid": true' in rows[0]
    assert "file not found" in rows[1] and "a pipe" in rows[2] and "a device" in rows[3] and "a folder" in rows[4]
    assert out.err.strip().splitlines() == [f"emsync: error: 4 of 5 files could not be read: {', '.join(args[1:])}"]
    assert main(["midi", "inspect", str(good)]) == 0


def test_limits_name_their_param(tmp_path, capsys):
    long = tmp_path / "long.mid"
    long.write_bytes(huge_delta(seeds()[1], 0x00980000))  # ~14 h at 96 ticks per beat
    assert main(["tokens", "encode", str(long), "-o", str(tmp_path / "t.json")]) == 1
    err = capsys.readouterr().err
    assert "absurd_length" in err and "raise labeling.max_duration_s in params.yaml" in err
    big = tmp_path / "big.mid"
    big.write_bytes(seeds()[0] + b"\0" * (65 * 2**20))
    assert main(["midi", "inspect", str(big)]) == 1
    assert "too_large" in capsys.readouterr().out
    assert main(["generate", "--valence", "0", "--arousal", "0", "--duration", "1e7", "-o", str(tmp_path / "g.mid")]) == 1
    err = capsys.readouterr().err.strip()
    assert err == (
        "emsync: error: --duration: 1e+07 s is over the 14400 s limit (limits.max_generate_duration_s); raise it in params.yaml to allow it"
    )
    assert main(["render", str(tmp_path / "x.mid"), "-o", str(tmp_path / "o.wav"), "--duration", "1e9"]) == 1
    assert "limits.max_video_duration_s" in capsys.readouterr().err


CAPPED = """
import resource, sys
resource.setrlimit(resource.RLIMIT_AS, (4 * 2**30, 4 * 2**30))  # 4 GiB of address space (torch needs ~3.5)
resource.setrlimit(resource.RLIMIT_CPU, (60, 60))
from emsync.cli import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
@pytest.mark.parametrize("which", ["huge_delta", "dev_zero"])
def test_damaged_files_under_a_memory_and_time_cap_are_one_line_errors(tmp_path, which):
    if which == "huge_delta":
        src = tmp_path / "huge.mid"
        src.write_bytes(huge_delta(seeds()[1], 0x0FFFFFFF))
        assert src.stat().st_size < 2000
    else:
        src = Path("/dev/zero")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp_path)}
    for argv in (
        ["render", str(src), "-o", str(tmp_path / "o.wav")],
        ["generate", "--valence", "0", "--arousal", "0", "--duration", "10", "--primer", str(src), "-o", str(tmp_path / "g.mid")],
        ["tokens", "encode", str(src), "-o", str(tmp_path / "t.json")],
        ["midi", "inspect", str(src)],
    ):
        r = subprocess.run([sys.executable, "-c", CAPPED, *argv], capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
        err = r.stderr.strip().splitlines()
        if argv[0] == "midi" and which == "huge_delta":  # a verdict row, exit 0
            assert r.returncode == 0 and '"valid": false' in r.stdout and '"reason": "unreadable"' in r.stdout, r
            continue
        assert r.returncode == 1 and len(err) == 1 and str(src) in err[0], (argv, r.stderr[-2000:])
        assert "not a usable MIDI file" in err[0] or "could not be read" in err[0], err
    assert not list(tmp_path.glob("emsync-*")) and not (tmp_path / "o.wav").exists() and not (tmp_path / "t.json").exists()


@pytest.mark.slow
def test_sigterm_removes_render_temp_folders(tmp_path):
    """A real `timeout` sends SIGTERM mid-render; the temp folder FluidSynth writes into is gone after."""
    from tests._tokens_helpers import make_midi

    long = tmp_path / "long.mid"  # 50 min of dense piano (3000 s): FluidSynth needs many seconds
    long.write_bytes(make_midi([(0, False, [(i * 120, 480, 40 + i % 40) for i in range(24000)])], tpq=480))
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(tmp)}
    r = subprocess.run(
        ["timeout", "-s", "TERM", "4", sys.executable, "-m", "emsync", "render", str(long), "-o", str(tmp_path / "o.wav")],
        capture_output=True,
        text=True,
        env=env,
        cwd=ROOT,
    )
    assert r.returncode == 124 and r.stderr.strip() == "emsync: interrupted", r.stderr  # timed out, unwound cleanly
    assert list(tmp.iterdir()) == [] and not (tmp_path / "o.wav").exists()
