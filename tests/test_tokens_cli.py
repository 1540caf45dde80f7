"""`emsync tokens encode|decode|stats` on a real file and on bad input."""

import json

import pytest

from emsync.cli import main
from emsync.music.lpd5 import read_song
from emsync.music.tokenizer import encode


@pytest.mark.shared_data
def test_encode_decode_stats_round_trip(shared_data, tmp_path, capsys):
    src = shared_data / "midi" / "Mr._Blue_Sky.mid"
    assert main(["tokens", "encode", str(src), "-o", str(tmp_path / "t.json")]) == 0
    doc = json.loads((tmp_path / "t.json").read_text())
    assert doc["vocab_version"] == "emsync-v1" and doc["tokens"][:3] == ["MORE_INSTRUMENTS", "START", "BAR"]
    assert doc["stats"]["chords"] == len(doc["chord_times"]) == doc["tokens"].count("CHORD") == 9
    # the file's own tempo (~175 bpm) keeps the beats, so the written MIDI has the same chords
    assert main(["tokens", "decode", str(tmp_path / "t.json"), "-o", str(tmp_path / "o.mid"), "--bpm", "175"]) == 0
    assert encode(read_song(tmp_path / "o.mid")).notes == encode(read_song(src)).notes
    capsys.readouterr()
    assert main(["tokens", "stats", str(tmp_path / "o.mid")]) == 0
    stats = json.loads(capsys.readouterr().out)
    assert stats["notes"] == doc["stats"]["notes"] and stats["duration_s"] == doc["stats"]["duration_s"]
    assert sum(stats["notes_per_instrument"].values()) == stats["notes"]


def test_bad_inputs_give_one_line_errors(tmp_path, capsys):
    assert main(["tokens", "stats", str(tmp_path / "missing.mid")]) == 1
    assert "missing.mid: file not found" in capsys.readouterr().err
    (tmp_path / "bad.json").write_text(json.dumps({"vocab_version": "emsync-v1", "tokens": ["START", "PIANO_ON_5"]}))
    assert main(["tokens", "decode", str(tmp_path / "bad.json"), "-o", str(tmp_path / "x.mid")]) == 1
    assert "unknown token 'PIANO_ON_5'" in capsys.readouterr().err
    (tmp_path / "old.json").write_text(json.dumps({"vocab_version": "v0", "tokens": []}))
    assert main(["tokens", "decode", str(tmp_path / "old.json"), "-o", str(tmp_path / "x.mid")]) == 1
    assert "vocabulary 'v0'" in capsys.readouterr().err and not (tmp_path / "x.mid").exists()
