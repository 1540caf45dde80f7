"""`emsync generate` and `emsync bench generate` end to end on a tiny random checkpoint (CPU)."""

import json

import numpy as np
import pretty_midi
import pytest

from emsync.cli import main
from emsync.music import vocab as V

from _model_helpers import one_thread, tiny_checkpoint  # noqa: F401 (autouse fixture)


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    d = tmp_path_factory.mktemp("gen")
    # bias the head towards 200 ms shifts so 6 s of music stays short
    tiny_checkpoint(d / "checkpoint.pt", {V.shift_id(200): 4.0})
    (d / "params.yaml").write_text("generate:\n  slide_stride: 16\n  chord_velocity_boost: 30\n")
    return d


def run(setup, monkeypatch, *argv):
    monkeypatch.setenv("EMSYNC_PARAMS", str(setup / "params.yaml"))
    return main(["generate", "--checkpoint", str(setup / "checkpoint.pt"), *argv])


def test_generates_a_midi_of_the_requested_duration(setup, monkeypatch, capsys, tmp_path):
    args = ["--valence", "0.5", "--arousal", "-0.3", "--duration", "6", "--boundaries", "2,4.5", "--seed", "4"]
    out = tmp_path / "out.mid"
    rc = run(setup, monkeypatch, *args, "-o", str(out))
    assert rc == 0
    pm = pretty_midi.PrettyMIDI(str(out))
    notes = [n for inst in pm.instruments for n in inst.notes]
    assert notes and 6.0 <= max(n.end for n in notes) <= 7.0  # ends within one shift of 6 s
    assert len(pm.instruments) >= 2  # multi-instrument
    text = capsys.readouterr().out
    assert "boundaries hit" in text and "weights     music generator: " in text
    again = tmp_path / "again.mid"
    run(setup, monkeypatch, *args, "-o", str(again), "--json")
    assert again.read_bytes() == out.read_bytes()  # same seed, same file
    rec = json.loads(capsys.readouterr().out)  # --json: the summaries and the generator's weights
    assert rec["outputs"][0]["path"] == str(again) and rec["weights"][0]["role"] == "music generator"
    assert (rec["weights"][0]["kind"] == "real") == (rec["weights_warning"] is None)


def test_batched_samples_and_midi_primer(setup, monkeypatch, tmp_path):
    primer = pretty_midi.PrettyMIDI(initial_tempo=120)
    piano = pretty_midi.Instrument(program=0)
    for i, p in enumerate([60, 64, 67, 72]):
        piano.notes.append(pretty_midi.Note(velocity=80, pitch=p, start=0.25 * i, end=0.25 * i + 0.2))
    primer.instruments.append(piano)
    primer.write(str(tmp_path / "primer.mid"))
    rc = run(
        setup,
        monkeypatch,
        "--valence",
        "nan",
        "--arousal",
        "0.8",
        "--duration",
        "4",
        "--samples",
        "2",
        "--primer",
        str(tmp_path / "primer.mid"),
        "--instruments",
        "fewer",
        "-o",
        str(tmp_path / "s.mid"),
    )
    assert rc == 0
    outs = [pretty_midi.PrettyMIDI(str(tmp_path / f"s_{i}.mid")) for i in range(2)]
    for pm in outs:  # the primer's notes open every sample
        first = sorted((n for i in pm.instruments for n in i.notes), key=lambda n: (n.start, n.pitch))[:4]
        assert [n.pitch for n in first] == [60, 64, 67, 72]
    starts = [sorted(n.start for i in pm.instruments for n in i.notes) for pm in outs]
    assert starts[0] != starts[1]  # two different samples from one batch


@pytest.mark.parametrize(
    "argv,msg",
    [
        (["--valence", "1.5", "--arousal", "0", "--duration", "5"], "--valence 1.5"),
        (["--valence", "0", "--arousal", "0", "--duration", "0"], "--duration"),
        (["--valence", "0", "--arousal", "0", "--duration", "5", "--boundaries", "2,x"], "'x' is not a number"),
        (["--valence", "0", "--arousal", "0", "--duration", "5", "--primer", "nope.mid"], "nope.mid"),
    ],
)
def test_bad_inputs_fail_with_one_clear_line(setup, monkeypatch, capsys, tmp_path, argv, msg):
    assert run(setup, monkeypatch, *argv, "-o", str(tmp_path / "x.mid")) == 1
    err = capsys.readouterr().err
    assert msg in err and "Traceback" not in err
    assert not (tmp_path / "x.mid").exists()


def test_missing_checkpoint_says_how_to_get_one(setup, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("EMSYNC_PARAMS", str(setup / "params.yaml"))
    rc = main(
        [
            "generate",
            "--valence",
            "0",
            "--arousal",
            "0",
            "--duration",
            "3",
            "--checkpoint",
            str(tmp_path / "none.pt"),
            "-o",
            str(tmp_path / "x.mid"),
        ]
    )
    err = capsys.readouterr().err
    assert rc == 1 and "checkpoint not found" in err and "dvc repro train" in err


def test_bench_generate_prints_its_json_shape(capsys):
    rc = main(
        [
            "bench",
            "generate",
            "--config",
            "tiny",
            "--window",
            "32",
            "--slide-stride",
            "8",
            "--full-tokens",
            "3",
            "--tokens",
            "40",
            "--batch",
            "3",
            "--threads",
            "1",
        ]
    )
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["device"].startswith("cpu") and out["config"] == "tiny"
    modes = out["modes"]
    assert set(modes) == {"full_recompute", "kv_cache", "kv_cache_batched"}
    assert modes["kv_cache_batched"]["batch"] == 3
    assert all(np.isfinite(m["tokens_per_s"]) and m["tokens_per_s"] > 0 for m in modes.values())


def test_chord_notes_are_louder(tmp_path, monkeypatch):
    """§4.1: ON tokens between a generated CHORD and the next TIMESHIFT get the velocity boost."""
    # a model that mostly plays CHORD, piano C4/E4 and 200 ms shifts
    tiny_checkpoint(tmp_path / "c.pt", dict.fromkeys((V.CHORD, V.on_id(V.PIANO, 60), V.on_id(V.PIANO, 64), V.shift_id(200)), 6.0))
    (tmp_path / "params.yaml").write_text("generate:\n  chord_velocity_boost: 30\n")
    monkeypatch.setenv("EMSYNC_PARAMS", str(tmp_path / "params.yaml"))
    assert (
        main(
            [
                "generate",
                "--checkpoint",
                str(tmp_path / "c.pt"),
                "--valence",
                "0",
                "--arousal",
                "0",
                "--duration",
                "5",
                "-o",
                str(tmp_path / "c.mid"),
            ]
        )
        == 0
    )
    from emsync.music.tokenizer import VELOCITY

    piano = [i for i in pretty_midi.PrettyMIDI(str(tmp_path / "c.mid")).instruments if i.name == "Piano"][0]
    assert {n.velocity for n in piano.notes} == {VELOCITY[V.PIANO], VELOCITY[V.PIANO] + 30}
