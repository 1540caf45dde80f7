"""One output rule for every command that writes (emsync.core.io.check_outputs): never over an input, never
over a file the project owns (params, dvc.yaml, dvc.lock, anything DVC or git tracks, a stage's
outputs, reports, checkpoints) unless it is the command's own output of that kind.

The fuzz drives every writing command with every project file and each of its inputs as the output
path, spelled a seeded random way (relative, absolute, ./, a detour through .., a symlink), and
checks each is refused in one line naming the flag, with every file's bytes unchanged."""

import hashlib
import os
import random
import shutil
import subprocess
from pathlib import Path

import pytest

from emsync.cli import main

ROOT = Path(__file__).resolve().parents[1]

FILES = [  # project files a command could be pointed at (created in the copy below)
    "params.yaml",
    "params/demo.yaml",
    "dvc.yaml",
    "dvc.lock",
    ".dvc/config",
    "README.md",  # tracked by git
    "data/tracked.csv",  # tracked by data/tracked.csv.dvc
    "reports/train_loss.csv",  # the train stage's output
    "reports/inputs.json",  # the inputs stage's output
    "data/models/music/checkpoint.pt",  # the generator, a checkpoint
    "data/emsync.duckdb",  # the store stage's output
    "data/soundtrack/v1/emsync.mp4",  # inside the soundtrack stage's folder
    "data/features/cuts.parquet",
    "../ext/model.pt",  # a checkpoint of the user's, outside the project
    "../ext/store.duckdb",  # a DuckDB file of the user's
]
FOLDERS = ["params", ".dvc", ".git", "reports", "data/soundtrack", "data/features/clip", "data/demo"]  # owned folders


def _checkpoint(path):
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"weights": torch.zeros(2)}, path)


def _duckdb(path):
    import duckdb

    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE t AS SELECT 1 AS x")
    con.close()


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    """A copy of the project's pipeline files, its outputs stood in by small files, and inputs."""
    from _midi_mutants import seeds

    base = tmp_path_factory.mktemp("guard")
    proj, ext = base / "proj", base / "ext"
    for rel in ("dvc.yaml", "dvc.lock", "params.yaml", "params/demo.yaml", "README.md"):
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / rel, proj / rel)
    for rel, text in {
        ".dvc/config": "[core]\n",
        "data/tracked.csv": "a,b\n1,2\n",
        "data/tracked.csv.dvc": "outs:\n- md5: 0\n  path: tracked.csv\n",
        "reports/train_loss.csv": "step,loss\n1,2.0\n",
        "reports/inputs.json": '{"checked": []}\n',
        "data/soundtrack/v1/emsync.mp4": "not really a video",
        "data/features/cuts.parquet": "PAR1",
    }.items():
        (proj / rel).parent.mkdir(parents=True, exist_ok=True)
        (proj / rel).write_text(text)
    _checkpoint(proj / "data/models/music/checkpoint.pt")
    _checkpoint(ext / "model.pt")
    _duckdb(proj / "data/emsync.duckdb")
    _duckdb(ext / "store.duckdb")
    subprocess.run(["git", "init", "-q"], cwd=proj, check=True)
    subprocess.run(["git", "add", "README.md", "data/tracked.csv.dvc"], cwd=proj, check=True)
    inp = base / "in"
    inp.mkdir()
    (inp / "song.mid").write_bytes(seeds()[0])
    subprocess.run(
        [
            "ffmpeg",
            "-v",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=64x48:rate=10:duration=1",
            "-pix_fmt",
            "yuv420p",
            str(inp / "clip.mp4"),
        ],
        check=True,
    )
    import numpy as np
    from scipy.io import wavfile

    wavfile.write(inp / "in.wav", 44100, (np.sin(np.arange(4410) / 5) * 8000).astype(np.int16))
    (inp / "song.json").write_text('{"vocab_version": "x", "tokens": []}')
    _checkpoint(inp / "gen.pt")
    _duckdb(inp / "db.duckdb")
    return base


def _commands(base: Path) -> dict:
    """name -> (argv with {T} for the output, the flag the refusal names, the command's inputs, kind)."""
    i = base / "in"
    mid, clip, wav, tok, ck, db = (str(i / n) for n in ("song.mid", "clip.mp4", "in.wav", "song.json", "gen.pt", "db.duckdb"))
    st = ["soundtrack", clip, "--valence", "0", "--arousal", "0", "--checkpoint", ck, "-q"]
    return {
        "params check --write": (["params", "check", "--data", "--write", "{T}"], "--write", [], "file"),
        "sql --out": (["sql", "SELECT 1 AS x", "--db", db, "--out", "{T}"], "--out", [db], "file"),
        "store refresh --db": (["store", "refresh", "--db", "{T}"], "--db", [], "file"),
        "tokens encode": (["tokens", "encode", mid, "-o", "{T}"], "-o", [mid], "file"),
        "tokens decode": (["tokens", "decode", tok, "-o", "{T}"], "-o", [tok], "file"),
        "train --checkpoint": (["train", "--checkpoint", "{T}"], "--checkpoint", [], "file"),
        "generate": (
            ["generate", "--valence", "0", "--arousal", "0", "--duration", "2", "--checkpoint", ck, "-o", "{T}"],
            "-o",
            [ck],
            "file",
        ),
        "soundtrack -o": ([*st, "-o", "{T}"], "-o", [clip, ck], "file"),
        "soundtrack --midi": ([*st, "-o", str(base / "out.mp4"), "--midi", "{T}"], "--midi", [clip, ck], "file"),
        "soundtrack --wav": ([*st, "-o", str(base / "out.mp4"), "--wav", "{T}"], "--wav", [clip, ck], "file"),
        "soundtrack --report": ([*st, "-o", str(base / "out.mp4"), "--report", "{T}"], "--report", [clip, ck], "file"),
        "render": (["render", mid, "-o", "{T}"], "-o", [mid], "file"),
        "render --video": (["render", mid, "--video", clip, "-o", "{T}"], "-o", [mid, clip], "file"),
        "enhance": (["enhance", wav, "-o", "{T}", "--checkpoint", ck], "-o", [wav, ck], "file"),
        "study serve --db": (["study", "serve", "--study", str(base / "nostudy"), "--db", "{T}", "--port", "0"], "--db", [], "file"),
        "soundtrack --stems": ([*st, "-o", str(base / "out.mp4"), "--stems", "{T}"], "--stems", [], "folder"),
        "study build -o": (["study", "build", "--soundtracks", str(i), "-o", "{T}"], "-o", [str(i)], "folder"),
        "study report -o": (["study", "report", "--db", db, "-o", "{T}"], "-o", [], "folder"),
        "demo sample": (["demo", "sample", "{T}"], "out ", [], "folder"),
        "reports index": (["reports", "index", "--reports-dir", "{T}"], "--reports-dir", [], "folder"),
        "bench bwe_filters --out": (["bench", "bwe_filters", "--out", "{T}"], "--out", [], "folder"),
    }


# the command's own output of that kind: allowed (and not run here)
OWN = {
    ("params check --write", "reports/inputs.json"),
    ("store refresh --db", "data/emsync.duckdb"),
    ("store refresh --db", "../ext/store.duckdb"),
    ("train --checkpoint", "data/models/music/checkpoint.pt"),
    ("train --checkpoint", "../ext/model.pt"),
    ("study serve --db", "../ext/store.duckdb"),
    ("reports index", "reports"),
}


def _spell(rng: random.Random, proj: Path, target: Path, links: Path) -> str:
    """One way of naming `target` (the command runs in `proj`)."""
    way = rng.choice(["relative", "absolute", "dot", "detour", "symlink"])
    rel = os.path.relpath(target, proj)
    if way == "relative":
        return rel
    if way == "dot":
        return "./" + rel
    if way == "detour":
        return os.path.join(target.parent, "..", target.parent.name, target.name)
    if way == "symlink":
        link = links / f"l{rng.randrange(10**9)}{target.suffix}"
        link.symlink_to(target)
        return str(link)
    return str(target)


def _hashes(base: Path) -> dict:
    return {
        str(p.relative_to(base)): hashlib.md5(p.read_bytes()).hexdigest()
        for p in base.rglob("*")
        if p.is_file() and ".git/objects" not in str(p) and "links" not in p.parts
    }


def test_no_command_writes_over_a_project_file_or_its_input(project, monkeypatch, capsys):
    import emsync.study.server as server

    def no_server(*a, **k):
        raise AssertionError("the survey server started on a refused --db")

    monkeypatch.setattr(server, "make_server", no_server)
    monkeypatch.setattr("emsync.cli.env.apply_defaults", lambda: None)  # done once by conftest; ~1 s per call
    proj = project / "proj"
    monkeypatch.chdir(proj)
    monkeypatch.setenv("EMSYNC_ROOT", str(proj))
    monkeypatch.delenv("EMSYNC_PARAMS", raising=False)
    links = project / "links"
    links.mkdir(exist_ok=True)
    rng = random.Random(26)
    before = _hashes(project)
    tried = 0
    for name, (argv, flag, inputs, kind) in _commands(project).items():
        targets = [proj / t for t in (FILES if kind == "file" else FOLDERS) if (name, t) not in OWN] + [Path(x) for x in inputs]
        for target in targets:
            spelled = _spell(rng, proj, target.resolve() if target.exists() else target, links)
            args = [a.replace("{T}", spelled) for a in argv]
            rc = main(args)
            err = capsys.readouterr().err.strip().splitlines()
            shown = flag.replace("{T}", spelled)
            assert rc == 1 and len(err) == 1 and shown in err[0], (name, str(target), spelled, rc, err)
            tried += 1
    assert _hashes(project) == before
    assert tried > 250


def test_stems_never_replace_a_users_file_nor_the_mix(tmp_path, capsys):
    """--stems D writes <instrument>.wav files the user did not name: one already there that emsync
    did not write is refused, and --wav D/piano.wav with --stems D is two outputs on one file."""
    from emsync.core.errors import InputError
    from emsync.core.io import check_outputs
    from emsync.soundtrack.render import STEMS_RECORD, stem_outputs

    d = tmp_path / "stems"
    d.mkdir()
    (d / "bass.wav").write_bytes(b"my own bass line")
    with pytest.raises(InputError, match=r"--stems .*: bass.wav already there and not written by emsync"):
        stem_outputs(d, ["piano", "bass"])
    (d / "bass.wav").unlink()
    with pytest.raises(InputError, match=r"--stems \(piano.wav\) .*piano.wav: is the same file as --wav"):
        check_outputs({"--wav": d / "piano.wav", **stem_outputs(d, ["piano", "bass"])}, {})
    (d / "piano.wav").write_bytes(b"written by an earlier run")
    (d / STEMS_RECORD).write_text('["piano.wav"]')
    assert set(stem_outputs(d, ["piano", "bass"]).values()) == {d / "piano.wav", d / "bass.wav"}  # ours: replaced


def test_db_must_be_a_duckdb_file(tmp_path):
    from emsync.core.errors import InputError
    from emsync.core.io import check_db

    (tmp_path / "study.json").write_text("{}")
    with pytest.raises(InputError, match="exists and is not a DuckDB database"):
        check_db("--db", tmp_path / "study.json")
    assert check_db("--db", tmp_path / "new.duckdb") == tmp_path / "new.duckdb"
    with pytest.raises(InputError, match="cannot write in /proc"):
        check_db("--db", "/proc/x.duckdb")


def test_the_reported_cases_by_name(project, monkeypatch, capsys):
    """The issue's own reproducers, each spelled as reported (the fuzz spells them at random)."""
    proj = project / "proj"
    monkeypatch.chdir(proj)
    monkeypatch.setenv("EMSYNC_ROOT", str(proj))
    monkeypatch.delenv("EMSYNC_PARAMS", raising=False)
    link = project / "loss_link.csv"
    if not link.exists():
        link.symlink_to(proj / "reports/train_loss.csv")
    db = str(project / "in" / "db.duckdb")
    before = _hashes(project)
    for argv, why in [
        (["store", "refresh", "--db", "params.yaml"], "--db params.yaml: is the active parameter set params.yaml, a file the project owns"),
        (["params", "check", "--data", "--write", "dvc.yaml"], "--write dvc.yaml: is the pipeline definition dvc.yaml"),
        (["sql", "SELECT 1", "--db", db, "--out", "reports/train_loss.csv"], "an output of the `train` stage (dvc.yaml)"),
        (["sql", "SELECT 1", "--db", db, "--out", str(link)], "an output of the `train` stage (dvc.yaml)"),
        (["train", "--checkpoint", "reports/train_loss.csv"], "an output of the `train` stage"),  # its stage, not its kind
    ]:
        assert main(argv) == 1, argv
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and why in err[0], (argv, err)
    assert _hashes(project) == before
