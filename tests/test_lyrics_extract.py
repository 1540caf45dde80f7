"""Lyric extraction from MIDI (§3.2.2): real files, encodings, tracks, karaoke marks, bad input."""

import json
import subprocess
import sys

import mido
import pytest

from emsync.core.errors import InputError
from emsync.lyrics.extract import extract, words_of
from emsync.lyrics.language import identify, keep_reason
from emsync.lyrics.rows import lyrics_row

# ---------------------------------------------------------------------------------------------
# real files


def test_twinkle_kar_soft_karaoke_text(shared_data):
    lyr = extract(shared_data / "midi" / "twinkle.kar")
    assert lyr.source == "karaoke"
    lines = lyr.text.split("\n")
    assert lines[:4] == [
        "Twinkle, Twinkle little star;",
        "How I wonder what you are.",
        "Up above the world so high,",
        "Like a diamond in the sky!",
    ]
    assert "@" not in lyr.text and "GNU" not in lyr.text  # headers stripped
    assert "/" not in lyr.text and "\\" not in lyr.text  # line marks, also the trailing one in "are./"
    assert lyr.n_words == 64
    assert identify(lyr.text)[0] == "en"


def test_schubert_standchen_german_lyrics_events(shared_data):
    lyr = extract(shared_data / "midi" / "Schubert_Standchen.mid")
    assert lyr.source == "lyrics" and lyr.encoding == "utf-8"
    assert lyr.words[:8] == ["Leise", "flehen", "meine", "Lieder", "Durch", "die", "Nacht", "zu"]
    assert "Flüsternd" in lyr.words and "Verräters" in lyr.words  # UTF-8 umlauts decoded
    assert lyr.n_words == 98
    lang, prob = identify(lyr.text)
    assert lang == "de" and prob > 0.99
    assert keep_reason(lang, lyr.n_words) == "not_english"


def test_haendel_hallelujah_syllables_joined(shared_data):
    lyr = extract(shared_data / "midi" / "haendel_hallelujah.mid")
    assert lyr.tracks == [6]
    assert lyr.words[:4] == ["Hallelujah,"] * 4  # "Hal" "le" "lu" "jah," -> one word
    assert "for the Lord God omnipotent reigneth," in lyr.text.split("\n")
    assert "The kingdom of this world is become" in lyr.text
    assert lyr.n_words == 159
    assert identify(lyr.text)[0] == "en"
    assert keep_reason("en", lyr.n_words) is None


def test_i_gotta_feeling_880_events_carriage_returns(shared_data):
    lyr = extract(shared_data / "midi" / "I_Gotta_Feeling.mid")
    assert lyr.n_events == 880 and lyr.n_empty == 0  # bare "\r" events are line breaks, not empty
    lines = lyr.text.split("\n")
    assert lines[:3] == ["All rights reserved", "BLACK EYED PEAS", '"I gotta feeling"']
    assert "GONNA BE A GOOD NIGHT" in lines and "LET'S LIVE IT UP" in lines
    assert lyr.n_words == 575
    assert identify(lyr.text)[0] == "en"


def test_files_without_lyrics_are_no_lyrics(shared_data):
    for name in ("Funkytown.mid", "d6caebd1964d9e4a3c5ea59525230e2a.mid", "Mr._Blue_Sky.mid"):
        row = lyrics_row(shared_data / "midi" / name, name)
        assert (row["n_words"], row["source"], row["reason"], row["keep"]) == (0, "none", "no_lyrics", False), name


def test_cli_prints_one_json_line_per_file(shared_data, tmp_path):
    bad = tmp_path / "broken.mid"
    bad.write_bytes(b"MThd\x00\x00")
    files = [shared_data / "midi" / "twinkle.kar", shared_data / "midi" / "Schubert_Standchen.mid", bad]
    out = subprocess.run([sys.executable, "-m", "emsync", "midi", "lyrics", *map(str, files)], capture_output=True, text=True)
    rows = [json.loads(x) for x in out.stdout.splitlines()]
    assert [r["midi_id"] for r in rows] == ["twinkle", "Schubert_Standchen", "broken"]
    assert (rows[0]["language"], rows[0]["n_words"], rows[0]["keep"]) == ("en", 64, True)
    assert rows[0]["text"].startswith("Twinkle, Twinkle little star;\n")
    assert (rows[1]["language"], rows[1]["reason"]) == ("de", "not_english")
    assert "broken.mid" in rows[2]["error"] and out.returncode == 1
    assert rows[0]["weights"][0]["source"].startswith("py3langid==") and rows[0]["weights_warning"] is None  # the language model


# ---------------------------------------------------------------------------------------------
# built files: encodings, tracks, marks, empty events


def _midi(path, tracks, kind="lyrics", tpb=480, suffix=None):
    """Type-1 file; `tracks` = [[(tick, bytes)]] lyric (or text) events, one list per track."""
    mid = mido.MidiFile(type=1, ticks_per_beat=tpb, charset="latin-1")
    for evs in tracks:
        tr = mido.MidiTrack()
        last = 0
        for tick, b in evs:
            tr.append(mido.MetaMessage(kind, text=b.decode("latin-1"), time=tick - last))
            last = tick
        tr.append(mido.Message("note_on", note=60, velocity=80, time=10))
        tr.append(mido.Message("note_off", note=60, velocity=0, time=480))
        mid.tracks.append(tr)
    mid.save(path)
    return path


def _seq(words, start=0, step=240, enc="utf-8"):
    return [(start + i * step, w.encode(enc) if isinstance(w, str) else w) for i, w in enumerate(words)]


def test_cp1252_lyrics(tmp_path):
    f = _midi(tmp_path / "a.mid", [_seq(["“Caf", "é ", "crème” ", "naïve"], enc="cp1252")])
    lyr = extract(f)
    assert lyr.text == "“Café crème” naïve" and lyr.encoding == "cp1252"


def test_latin1_bytes_cp1252_leaves_undefined(tmp_path):
    f = _midi(tmp_path / "a.mid", [_seq([b"Gr\xfc\x81e ", b"dich"])])
    assert extract(f).text == "Grü\x81e dich"  # 0x81 is undefined in cp1252: read as latin-1


def test_shift_jis_lyrics(tmp_path):
    f = _midi(tmp_path / "a.mid", [_seq(["さく", "ら ", "さく", "ら ", "やよいの ", "そらは"], enc="cp932")])
    lyr = extract(f)
    assert lyr.encoding == "cp932"
    assert lyr.text == "さくら さくら やよいの そらは"
    assert identify(lyr.text)[0] == "ja"


def test_mixed_utf8_and_cp1252_events(tmp_path):
    f = _midi(tmp_path / "a.mid", [[(0, "Über ".encode()), (240, "Brücken ".encode("cp1252")), (480, b"gehen")]])
    lyr = extract(f)
    assert lyr.text == "Über Brücken gehen" and lyr.encoding == "mixed:cp1252"


def test_lyrics_split_across_tracks_merge_in_time_order(tmp_path):
    verse = _seq(["one ", "two ", "three "], start=0)  # ticks 0..480
    chorus = _seq(["four ", "five "], start=48000)  # 50 beats later, in another track
    middle = _seq(["and ", "a "], start=20000)
    f = _midi(tmp_path / "a.mid", [chorus, verse, middle])
    lyr = extract(f)
    assert lyr.text == "one two three and a four five"
    assert lyr.tracks == [0, 1, 2] and lyr.skipped_tracks == []


def test_choir_voices_singing_the_same_words_read_once(tmp_path):
    sop = _seq(["Hal", "le", "lu", "jah "] * 3)
    alto = _seq(["Hal", "le", "lu", "jah "] * 3, start=120)  # same words, same stretch of time
    f = _midi(tmp_path / "a.mid", [sop, alto])
    lyr = extract(f)
    assert lyr.words == ["Hallelujah"] * 3 and lyr.skipped_tracks == [1]


def test_word_per_event_with_hyphens(tmp_path):
    f = _midi(tmp_path / "a.mid", [_seq(["Twin-", "kle", "twin-", "kle", "lit-", "tle", "star"])])
    assert extract(f).text == "Twinkle twinkle little star"


def test_hyphenated_syllables_with_spacing(tmp_path):
    f = _midi(tmp_path / "a.mid", [_seq(["Hal-", "le-", "lu-", "jah ", "a- ", "men"])])
    assert extract(f).text == "Hallelujah a- men"  # "a- " keeps its hyphen: it is followed by a space


def test_karaoke_headers_marks_and_empty_events(tmp_path):
    evs = [
        (0, b"@KMIDI KARAOKE FILE"),
        (0, b"@LENGL"),
        (0, b"@TTitle"),
        (10, b""),
        (20, b"\\Hel"),
        (30, b"lo "),
        (40, b"world "),
        (50, b" "),
        (60, b"/good"),
        (70, b"bye "),
        (80, b""),
    ]
    f = _midi(tmp_path / "a.kar", [evs], kind="text")
    lyr = extract(f)
    assert lyr.source == "karaoke" and lyr.text == "Hello world\ngoodbye"
    assert lyr.n_empty == 3 and lyr.n_events == 5


def test_plain_text_events_are_not_lyrics(tmp_path):
    f = _midi(tmp_path / "a.mid", [[(0, b"(c) 1997 SUPER MIDI SONGS"), (10, b"NONEFRAN")]], kind="text")
    assert extract(f).source == "none"


def test_lyrics_events_beat_a_one_line_credit(tmp_path):
    f = _midi(tmp_path / "a.mid", [_seq(["la ", "la ", "la "])])
    assert extract(f).source == "lyrics" and extract(f).n_words == 3


@pytest.mark.parametrize(
    "data", [b"", b"MThd", b"RIFF\x00\x00\x00\x00", b"MThd\x00\x00\x00\x06\x00\x01\x00\x01\x01\xe0MTrk\xff\xff\xff\xff"]
)
def test_unreadable_files_raise_input_error(tmp_path, data):
    f = tmp_path / "bad.mid"
    f.write_bytes(data)
    with pytest.raises(InputError, match="bad.mid"):
        extract(f)


def test_keep_rule():
    assert keep_reason("en", 50) is None
    assert keep_reason("en", 49) == "too_few_words"
    assert keep_reason("de", 500) == "not_english"
    assert keep_reason(None, 0) == "no_lyrics"
    assert words_of("* 1997 & rock'n'roll") == ["rock'n'roll"]


def test_cyrillic_cp1251_lyrics(tmp_path):
    """Russian lyrics in the Windows code page: Cyrillic text, not cp1252 mojibake ('Ïîä ìîñêîâíûå')."""
    f = _midi(tmp_path / "a.mid", [_seq(["Не ", "слышны ", "в саду ", "даже ", "шорохи"], enc="cp1251")])
    lyr = extract(f)
    assert lyr.text == "Не слышны в саду даже шорохи" and lyr.encoding == "cp1251"


def test_cp1252_with_a_few_accents_stays_cp1252(tmp_path):
    f = _midi(tmp_path / "a.mid", [_seq(["Là ", "où ", "le ", "cœur ", "mène ", "à ", "l'été"], enc="cp1252")])
    assert extract(f).text == "Là où le cœur mène à l'été" and extract(f).encoding == "cp1252"


@pytest.mark.parametrize("enc", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_lyrics_are_text_not_nuls(tmp_path, enc):
    f = _midi(tmp_path / "a.mid", [_seq(["Twinkle ", "twinkle ", "little ", "star"], enc=enc)])
    lyr = extract(f)
    assert lyr.text == "Twinkle twinkle little star" and "\x00" not in lyr.text and lyr.encoding == "utf-16"
