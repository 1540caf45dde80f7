"""A full disk is a failure: the command or stage stops with one line, keeps no partial file, and
DVC records nothing (dvc.lock unchanged). Each case runs on a small tmpfs mounted for the test (as
root; skipped where mounting is not allowed)."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from emsync.cli import main
from emsync.core.errors import DiskFullError

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


@pytest.fixture
def small_disk(tmp_path):
    """mount(size_kib, fill_kib, at) -> a folder (`at`, default a new one) on a fresh tmpfs of that
    size with a filler file taking `fill_kib` of it; unmounted after the test."""
    mounted = []

    def mount(size_kib: int, fill_kib: int = 0, at: Path | None = None) -> Path:
        d = at or tmp_path / f"disk{len(mounted)}"
        d.mkdir(parents=True)
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size_kib}k", "tmpfs", str(d)], capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip() or 'not root'})")
        mounted.append(d)
        if fill_kib:
            (d / "filler").write_bytes(b"\0" * fill_kib * 1024)
        return d

    yield mount
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def _left(d: Path) -> list:
    return sorted(p.name for p in d.iterdir() if p.name != "filler")


@pytest.fixture
def song(tmp_path):
    from _midi_mutants import seeds

    (tmp_path / "song.mid").write_bytes(seeds()[0])
    assert main(["tokens", "encode", str(tmp_path / "song.mid"), "-o", str(tmp_path / "song.json")]) == 0
    return tmp_path / "song.mid", tmp_path / "song.json"


def test_commands_on_a_full_disk_fail_in_one_line_and_keep_nothing(small_disk, song, capsys):
    mid, tok = song
    full = small_disk(256, 248)  # 8 kB free: refused before any work
    roomy = small_disk(512, 300)  # room for a MIDI file, not for a 10-s WAV (1.9 MB): fails mid-write
    cases = [
        (["tokens", "decode", str(tok), "-o", str(full / "out.mid")], full),
        (["tokens", "encode", str(mid), "-o", str(full / "out.json")], full),
        (["render", str(mid), "-o", str(full / "out.wav")], full),
        (["render", str(mid), "-o", str(roomy / "out.wav")], roomy),
    ]
    capsys.readouterr()
    for argv, disk in cases:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "no space left" in err[0], (argv, err)
        assert _left(disk) == [], (argv, _left(disk))  # no output, no temp file
    assert main(["tokens", "decode", str(tok), "-o", str(roomy / "out.mid")]) == 0  # where it fits it works
    assert (roomy / "out.mid").stat().st_size > 0


def test_a_writer_that_swallows_the_error_leaves_no_empty_file(small_disk, song):
    """symusic's dump_midi ignored ENOSPC and left a 0-byte MIDI that the command called written."""
    from emsync.core.io import atomic_path
    from emsync.music.tokenizer import decode, write_midi
    from emsync.music import vocab as V
    import json

    full = small_disk(64, 64)
    ids = [V.token_to_id(t) for t in json.loads(song[1].read_text())["tokens"]]
    with pytest.raises(DiskFullError, match="no space left"):
        write_midi(decode(ids), full / "out.mid")
    with pytest.raises(DiskFullError, match="nothing was written"):
        with atomic_path(full / "empty.mid"):
            pass  # a writer that wrote nothing and said nothing, on a full disk
    assert _left(full) == []
    with atomic_path(song[0].parent / "empty.txt"):
        pass  # where there is room, an empty file is just empty
    assert (song[0].parent / "empty.txt").read_bytes() == b""


DVC_YAML = """
stages:
  disk:
    cmd: {py} {flow} data/full/out ${{n}}
    deps:
      - {flow}
    params:
      - n
    outs:
      - data/full/out
"""


@pytest.mark.slow
def test_a_stage_on_a_full_disk_fails_and_dvc_records_nothing(small_disk, tmp_path, prefect_api):
    """Per-item tasks writing into a 350 kB tmpfs: the third 100 kB item finds no space. The stage
    fails (a full disk is never a recorded skip), no temp file stays, and dvc.lock keeps the last
    good run's record."""
    if not shutil.which("dvc"):
        pytest.skip("dvc not installed")
    repo = tmp_path / "repo"
    disk = small_disk(350, at=repo / "data" / "full")
    shutil.copy(HERE / "_disk_flow.py", repo / "disk_flow.py")
    (repo / "dvc.yaml").write_text(DVC_YAML.format(py=sys.executable, flow="disk_flow.py"))
    env = {**os.environ, "PYTHONPATH": str(ROOT), "DVC_NO_ANALYTICS": "1", "PREFECT_LOCAL_STORAGE_PATH": str(tmp_path / "results")}

    def sh(*cmd):
        return subprocess.run(list(cmd), cwd=repo, env=env, capture_output=True, text=True, timeout=300)

    (repo / "params.yaml").write_text(yaml.safe_dump({"n": 2}))
    for cmd in (("git", "init", "-q"), ("dvc", "init", "-q"), ("dvc", "repro")):
        r = sh(*cmd)
        assert r.returncode == 0, (cmd, r.stdout[-2000:], r.stderr[-2000:])
    lock = (repo / "dvc.lock").read_bytes()
    assert "2 items, 0 skipped" in (disk / "out" / "done.txt").read_text()
    (repo / "params.yaml").write_text(yaml.safe_dump({"n": 6}))
    r = sh("dvc", "repro")
    assert r.returncode != 0 and "no space left" in (r.stdout + r.stderr).lower(), (r.stdout[-2000:], r.stderr[-2000:])
    assert (repo / "dvc.lock").read_bytes() == lock
    left = [p.name for p in (disk / "out").rglob("*")]
    assert not any(n.startswith(".") for n in left) and "done.txt" not in left, left  # no temp file, no "done"
