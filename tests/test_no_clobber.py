"""No command writes over its own input: same path, symlink, hard link; a folder or an
unwritable -o is one clear line. All checked by emsync.core.io.check_outputs before any work."""

import os

import mido
import pytest

from emsync.cli import main
from emsync.core.errors import InputError
from emsync.core.io import check_outputs


def _midi(path):
    mid = mido.MidiFile(ticks_per_beat=480)
    tr = mido.MidiTrack()
    tr += [mido.Message("note_on", note=60, velocity=90, time=0), mido.Message("note_off", note=60, velocity=0, time=480)]
    mid.tracks.append(tr)
    mid.save(path)
    return path


@pytest.fixture
def song(tmp_path):
    return _midi(tmp_path / "song.mid")


def test_check_outputs_catches_every_alias(tmp_path, song):
    os.symlink(song, tmp_path / "link.mid")
    os.link(song, tmp_path / "hard.mid")
    for out, why in [
        (song, "same file as the input"),
        (tmp_path / "link.mid", "same file as the input"),
        (tmp_path / "hard.mid", "same file as the input"),
        (tmp_path / "sub/../song.mid", "same file"),
        (tmp_path, "is a folder"),
        ("/proc/x", "cannot write in /proc"),
        ("/dev/null", "not a regular file"),
    ]:
        with pytest.raises(InputError, match=why):
            check_outputs({"-o": out}, {"file": song})
    with pytest.raises(InputError, match="--wav .* same file as -o"):
        check_outputs({"-o": tmp_path / "a.wav", "--wav": tmp_path / "a.wav"}, {})
    check_outputs({"-o": tmp_path / "new/deeper/out.json", "--midi": None}, {"file": song, "--primer": None})


def _one_line_error(capsys, *words):
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and all(w in err[0] for w in words), err
    return err[0]


@pytest.mark.parametrize("alias", ["same", "symlink", "hardlink"])
def test_tokens_encode_never_overwrites_its_input(tmp_path, song, capsys, alias):
    out = {"same": song, "symlink": tmp_path / "s.json", "hardlink": tmp_path / "h.json"}[alias]
    if alias == "symlink":
        os.symlink(song, out)
    if alias == "hardlink":
        os.link(song, out)
    before = song.read_bytes()
    assert main(["tokens", "encode", str(song), "-o", str(out)]) == 1
    _one_line_error(capsys, "-o", "same file as the input")
    assert song.read_bytes() == before


def test_tokens_encode_to_a_folder_or_proc_is_one_line(tmp_path, song, capsys):
    assert main(["tokens", "encode", str(song), "-o", str(tmp_path)]) == 1
    _one_line_error(capsys, "is a folder")
    assert main(["tokens", "encode", str(song), "-o", "/proc/x"]) == 1
    line = _one_line_error(capsys, "/proc/x", "cannot write")
    assert ".tmp" not in line  # no temp file names


def test_tokens_decode_never_overwrites_its_input(tmp_path, capsys):
    doc = tmp_path / "t.json"
    doc.write_text('{"vocab_version": "emsync-v1", "tokens": ["START"]}')
    assert main(["tokens", "decode", str(doc), "-o", str(doc)]) == 1
    _one_line_error(capsys, "same file as the input")
    assert doc.read_text().startswith('{"vocab_version"')


def test_soundtrack_midi_or_wav_over_the_video_is_refused_before_work(tmp_path, capsys):
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not really a video, but it must survive")
    for flag in ("--midi", "--wav"):
        assert main(["soundtrack", str(video), "-o", str(tmp_path / "o.mp4"), flag, str(video), "-q"]) == 1
        _one_line_error(capsys, flag, "same file as the input video")
    assert main(["soundtrack", str(video), "-o", str(video), "-q"]) == 1
    _one_line_error(capsys, "-o", "same file as the input video")
    assert video.read_bytes() == b"not really a video, but it must survive"


def test_render_and_generate_refuse_their_input(tmp_path, song, capsys):
    os.symlink(song, tmp_path / "song.wav")
    assert main(["render", str(song), "-o", str(tmp_path / "song.wav")]) == 1
    _one_line_error(capsys, "same file as the input midi")
    before = song.read_bytes()
    assert main(["generate", "--valence", "0", "--arousal", "0", "--duration", "5", "--primer", str(song), "-o", str(song)]) == 1
    _one_line_error(capsys, "-o", "same file as the input --primer")
    assert song.read_bytes() == before
