"""Every command's work is bounded and every command can be stopped: `emsync sql` has a timeout, a
memory limit and streams its result; SIGTERM interrupts a running query; `render` streams in blocks;
`generate` refuses more samples than limits.max_generate_samples and a checkpoint that is a FIFO."""

import os
import signal
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

import pandas as pd
import pytest
import yaml

from emsync.pipeline import store
from emsync.cli import main

ROOT = Path(__file__).resolve().parents[1]
RECURSIVE = "WITH RECURSIVE r(n) AS (SELECT 1 UNION ALL SELECT n+1 FROM r) SELECT count(*) FROM r"


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A project with a one-table store and the demo params (limits.sql_memory_mb lowered to 64)."""
    (tmp_path / "data" / "t").mkdir(parents=True)
    pd.DataFrame({"x": [1, 2, 3]}).to_parquet(tmp_path / "data" / "t" / "x.parquet")
    params = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())
    params["limits"]["sql_memory_mb"] = 64
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(params))
    (tmp_path / "dvc.yaml").write_text("stages: {}\n")
    monkeypatch.setenv("EMSYNC_ROOT", str(tmp_path))
    monkeypatch.delenv("EMSYNC_PARAMS", raising=False)
    monkeypatch.chdir(tmp_path)
    store.refresh(tmp_path / "data" / "emsync.duckdb", tmp_path / "data")
    return tmp_path


def _one_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    return err[0]


def test_sql_prints_a_few_rows_of_a_huge_result_without_computing_it(repo, capsys):
    assert main(["sql", "SELECT range AS n FROM range(300000000)", "--max-rows", "3", "--timeout", "60"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert [s.strip() for s in out[:4]] == ["n", "0", "1", "2"] and "more rows than --max-rows 3" in out[-1]


def test_sql_stops_at_its_timeout_and_its_memory_limit(repo, capsys):
    assert main(["sql", RECURSIVE, "--timeout", "1"]) == 1
    assert "SQL stopped: the query ran past 1 s" in _one_line(capsys)
    assert main(["sql", "SELECT count(*) FROM (SELECT DISTINCT range FROM range(30000000))"]) == 1
    assert "SQL stopped: the query needs more than 64 MB (limits.sql_memory_mb)" in _one_line(capsys)


def test_sql_out_streams_every_row(repo, capsys):
    out = repo / "n.parquet"
    assert main(["sql", "SELECT range AS n FROM range(250000)", "--out", str(out)]) == 0
    assert pd.read_parquet(out)["n"].tolist() == list(range(250000))
    assert main(["sql", "SELECT x FROM t_x ORDER BY x", "--out", str(repo / "x.csv")]) == 0
    assert (repo / "x.csv").read_text().split() == ['"x"', "1", "2", "3"]


@pytest.mark.parametrize(
    "argv, msg",
    [
        (["sql", ""], "the query is empty"),
        (["sql", "  ;  "], "the query is empty"),
        (["sql", "SELECT 1", "--allow-read", ""], "--allow-read '': empty path"),
        (["sql", "SELECT 1", "--timeout", "nan"], "--timeout: nan is out of range"),
    ],
)
def test_sql_nonsense_arguments_are_one_line(repo, capsys, argv, msg):
    assert main(argv) == 1
    assert msg in _one_line(capsys)


def test_sql_max_rows_must_be_positive(repo, capsys):
    with pytest.raises(SystemExit) as e:
        main(["sql", "SELECT 1", "--max-rows", "0"])
    assert e.value.code == 2 and "--max-rows: 0: must be at least 1" in capsys.readouterr().err


def test_sigterm_stops_a_running_query(repo):
    """`timeout` / a service manager sends SIGTERM: DuckDB is interrupted mid-query."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "EMSYNC_ROOT": str(repo)}
    p = subprocess.Popen([sys.executable, "-m", "emsync", "sql", RECURSIVE, "--timeout", "600"], cwd=repo, env=env,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    time.sleep(4)  # importing and starting the query
    assert p.poll() is None
    p.send_signal(signal.SIGTERM)
    try:
        _, err = p.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        p.kill()
        pytest.fail("emsync sql ignored SIGTERM")
    assert p.returncode == 130 and "interrupted" in err, (p.returncode, err)


def test_render_streams_a_long_duration_in_blocks(tmp_path):
    """--duration 600 s of a short song: 212 MB of float audio if held whole; streamed, the
    render allocates as much as for 60 s (numpy reports its arrays to tracemalloc)."""
    from emsync.soundtrack.render import render_wav

    from _midi_mutants import seeds

    (tmp_path / "s.mid").write_bytes(seeds()[0])
    peaks = {}
    for seconds in (60.0, 600.0):
        tracemalloc.start()
        try:
            s = render_wav(tmp_path / "s.mid", tmp_path / "long.wav", duration_s=seconds)
            peaks[seconds] = tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()
        assert s["duration_s"] == seconds and (tmp_path / "long.wav").stat().st_size == 44 + int(seconds * 44100) * 4
    assert peaks[600.0] < peaks[60.0] + 5e6 and peaks[600.0] < 106e6, peaks  # 106 MB: half the whole float track


def test_generate_bounds_its_samples_and_reads_regular_files_only(tmp_path, capsys):
    fifo = tmp_path / "model.pt"
    os.mkfifo(fifo)
    base = ["generate", "--valence", "0", "--arousal", "0", "--duration", "4", "-o", str(tmp_path / "g.mid")]
    for argv, msg in [
        (["--samples", "100000"], "--samples: 100000 pieces is over the 64 pieces limit (limits.max_generate_samples)"),
        (["--checkpoint", str(fifo)], f"{fifo}: not a regular file"),
        (["--seed", str(2**64)], "--seed: 18446744073709551616 is out of range"),
        (["--device", "tpu"], "--device: 'tpu' is not a device"),
    ]:
        assert main(base + argv) == 1, argv
        assert msg in _one_line(capsys), argv
    assert main(base[:-1] + [str(tmp_path / "g.wav")]) == 1
    assert "-o " + str(tmp_path / "g.wav") + ": generate writes MIDI" in _one_line(capsys)
    assert not (tmp_path / "g.mid").exists() and not (tmp_path / "g.wav").exists()


def test_nonsense_flags_are_one_line_not_a_traceback(tmp_path, capsys):
    """Each used to print `emsync: error: <ExceptionType>: ...`."""
    from _midi_mutants import seeds

    (tmp_path / "s.mid").write_bytes(seeds()[0])
    assert main(["tokens", "encode", str(tmp_path / "s.mid"), "-o", str(tmp_path / "s.json")]) == 0
    (tmp_path / "file").write_text("x")
    capsys.readouterr()
    for argv, msg in [
        (["tokens", "decode", str(tmp_path / "s.json"), "-o", str(tmp_path / "o.mid"), "--bpm", "nan"], "--bpm: nan is out of range"),
        (["tokens", "decode", str(tmp_path / "s.json"), "-o", str(tmp_path / "o.mid"), "--bpm", "0"], "--bpm: 0.0 is out of range"),
        (["tokens", "decode", str(tmp_path / "s.json"), "-o", str(tmp_path / "o.mid"), "--chord-boost", "-500"], "--chord-boost: -500"),
        (["study", "build", "--soundtracks", str(tmp_path), "-o", "/proc/study"], "cannot write in /proc"),
        (["study", "build", "--soundtracks", str(tmp_path), "-o", str(tmp_path / "file")], "exists and is not a folder"),
        (["soundtrack", str(tmp_path / "v.mp4"), "-o", str(tmp_path / "o.mp4"), "--seed", str(2**64)], "--seed: 18446744073709551616"),
        (["enhance", str(tmp_path / "in.wav"), "-o", str(tmp_path / "o.wav"), "--device", "tpu"], "--device: 'tpu' is not a device"),
        (["cuts", str(tmp_path / "v.mp4"), "--threshold", "-1"], "--threshold: -1.0 is out of range (must be >= 0 and <= 1)"),
        (["cuts", str(tmp_path / "v.mp4"), "--threshold", "nan"], "--threshold: nan is out of range"),
        (["cuts", str(tmp_path / "v.mp4"), "--min-gap", "1e9"], "--min-gap: 1000000000.0 is out of range"),
        (["cuts", str(tmp_path / "v.mp4"), "--min-gap", "-5"], "--min-gap: -5.0 is out of range"),
    ]:
        assert main(argv) == 1, argv
        assert msg in _one_line(capsys), argv
    assert not (tmp_path / "o.mid").exists()


def test_a_primer_that_fills_the_duration_is_refused_not_returned_as_music(tmp_path, capsys):
    """`--primer song.mid --duration 8` used to hand back the 10.9-s primer with nothing generated."""
    from _midi_mutants import seeds

    (tmp_path / "song.mid").write_bytes(seeds()[0])  # 10.9 s of notes
    argv = ["generate", "--valence", "0", "--arousal", "0", "--primer", str(tmp_path / "song.mid"), "-o", str(tmp_path / "g.mid")]
    assert main([*argv, "--duration", "8", "--checkpoint", str(tmp_path / "none.pt")]) == 1
    assert "its 10.9 s of music already fill --duration 8 s" in _one_line(capsys)
    assert main([*argv, "--duration", "30", "--checkpoint", str(tmp_path / "none.pt")]) == 1  # longer: on to the model
    assert "generator checkpoint not found" in _one_line(capsys)
