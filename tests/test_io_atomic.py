"""Atomic writes (emsync.core.io): the rename leaves a whole file with the mode a plain open() gives."""

import os
import stat

from emsync.core.io import atomic_path, write_bytes


def test_atomic_write_gives_umask_mode_not_mkstemp_0600(tmp_path):
    old = os.umask(0o022)
    try:
        write_bytes(tmp_path / "a.bin", b"abc")
        with atomic_path(tmp_path / "b.txt") as tmp:
            tmp.write_text("x")
    finally:
        os.umask(old)
    for name in ("a.bin", "b.txt"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644, name
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.bin", "b.txt"]  # no temp file left
    assert (tmp_path / "a.bin").read_bytes() == b"abc"


def test_empty_data_writes_an_empty_file(tmp_path):
    """Asked-for empty bytes are written (the demo corpus plants a 0-byte MIDI file); only a writer
    that left nothing without being asked to is refused (tests/test_disk_full.py)."""
    write_bytes(tmp_path / "empty.mid", b"")
    assert (tmp_path / "empty.mid").read_bytes() == b"" and os.listdir(tmp_path) == ["empty.mid"]
