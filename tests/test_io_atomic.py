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


def test_frame_digest_sees_every_value_and_the_schema():
    """The content digest that keys the labeling tasks' cache and a passed data check: a value deep
    inside a long array cell (where a text form would print "...") changes it, and so do a dtype,
    a column name, the index and the salt; a copy does not, nor does a frame Arrow cannot hold."""
    import numpy as np
    import pandas as pd

    from emsync.core.io import frame_digest

    df = pd.DataFrame({"id": ["a", "b"], "v": [0.5, -0.25], "emb": [np.arange(2000.0), np.arange(2000.0)]})
    deep = df.copy()
    deep.at[1, "emb"] = np.where(np.arange(2000) == 1000, -1.0, np.arange(2000.0))
    base = frame_digest(df, "t")
    assert frame_digest(df.copy(), "t") == base
    others = [
        frame_digest(deep, "t"),
        frame_digest(df.astype({"v": "float32"}), "t"),
        frame_digest(df.rename(columns={"v": "w"}), "t"),
        frame_digest(df.set_axis([5, 6]), "t"),
        frame_digest(df, "u"),
    ]
    assert len({base, *others}) == 6
    mixed = pd.DataFrame({"o": [1, "a", 2.5]})  # no Arrow form: hashed by its values' text
    assert frame_digest(mixed) == frame_digest(mixed.copy()) != frame_digest(mixed.replace({"a": "b"}))
