"""DAW-ready export of `emsync soundtrack`: markers at the cuts, tempo, one named track per
instrument with its GM program, the video's frame rate as an SMPTE offset; `--stems` WAVs that sum
to the mix. The MIDI is reopened with two independent readers, mido and pretty_midi."""

import json

import mido
import numpy as np
import pretty_midi
import pytest
from scipy.io import wavfile

from emsync.cli import main
from emsync.music import vocab as V
from emsync.music.daw import cut_name, smpte_rate
from emsync.music.tokenizer import PROGRAM

from _model_helpers import one_thread, tiny_checkpoint  # noqa: F401 (autouse fixture)
from _videos import cut_video

DURATIONS = [4.4, 4.0, 1.0, 2.0]  # cuts at 4.4, 8.4, 9.4 s; boundaries 4.4, 8.4
TICK_S = 60.0 / (120 * 480)  # one tick at 120 bpm, 480 ticks per beat


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    d = tmp_path_factory.mktemp("export")
    # every instrument likely: bias the ONs of drums, bass, guitar, piano and strings
    bias = {V.shift_id(200): 3.0, V.CHORD: 2.0, **{V.on_id(i, 60 if i else 40): 2.5 for i in range(V.N_INSTRUMENTS)}}
    tiny_checkpoint(d / "checkpoint.pt", bias)
    (d / "params.yaml").write_text("generate:\n  slide_stride: 16\n  cpu_int8: false\n")
    video, cuts = cut_video(d / "cuts.mp4", DURATIONS, audio="sine", fps=24)
    mp = pytest.MonkeyPatch()
    mp.setenv("EMSYNC_PARAMS", str(d / "params.yaml"))
    import contextlib
    import io

    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["soundtrack", str(video), "-o", str(d / "scored.mp4"), "--checkpoint", str(d / "checkpoint.pt"), "-q",
                   "--midi", str(d / "s.mid"), "--wav", str(d / "s.wav"), "--stems", str(d / "stems"), "--seed", "2",
                   "--valence", "0.3", "--arousal", "0.5", "--json"])  # fmt: skip
    mp.undo()
    assert rc == 0
    return d, cuts, json.loads(buf.getvalue())


def test_cut_names_and_smpte_codes():
    assert cut_name(11.79) == "cut 00:11.79" and cut_name(71.016) == "cut 01:11.02" and cut_name(0.0) == "cut 00:00.00"
    assert [smpte_rate(f) for f in (24, 24000 / 1001, 25, 30000 / 1001, 30, 50, 60000 / 1001, 60, 48, 15, 12)] == [
        24.0, 24.0, 25.0, 29.97, 30.0, 25.0, 29.97, 30.0, 24.0, 30.0, 24.0,
    ]  # fmt: skip


def test_mido_finds_markers_tempo_smpte_and_named_program_tracks(exported):
    d, cuts, s = exported
    mid = mido.MidiFile(str(d / "s.mid"))
    assert mid.type == 1 and mid.ticks_per_beat == 480
    conductor = mid.tracks[0]
    metas, now = [], 0
    for m in conductor:
        now += m.time
        metas.append((now, m))
    tempo = [m.tempo for _, m in metas if m.type == "set_tempo"]
    assert tempo == [500000]  # 120 bpm, once, in the conductor track
    assert not any(m.type == "set_tempo" for tr in mid.tracks[1:] for m in tr)
    smpte = [m for _, m in metas if m.type == "smpte_offset"]
    assert (
        len(smpte) == 1
        and smpte[0].frame_rate == 24
        and (smpte[0].hours, smpte[0].minutes, smpte[0].seconds, smpte[0].frames) == (0, 0, 0, 0)
    )
    assert any(m.type == "text" and m.text.startswith("video fps 24.000") for _, m in metas)
    markers = [(t, m.text) for t, m in metas if m.type == "marker"]
    assert len(markers) == len(s["cuts"]) == 3
    for (tick, name), truth in zip(markers, cuts):  # within a frame of the true cut, and within 1 tick of the reported cut
        t = mido.tick2second(tick, 480, 500000)
        assert t == pytest.approx(truth, abs=1 / 24 + 1e-3)
        assert abs(tick - s["cuts"][markers.index((tick, name))] / TICK_S) <= 1
        assert name.startswith(cut_name(s["cuts"][markers.index((tick, name))]))
    assert [n.endswith("boundary") for _, n in markers] == [c in s["boundaries"] for c in s["cuts"]] == [True, True, False]
    # one track per instrument that plays: its name and GM program (drums on channel 10)
    names = {tr.name for tr in mid.tracks[1:]}
    played = {V.INSTRUMENTS[i].title() for i in s["instruments"]}
    assert names == played and len(mid.tracks) == 1 + len(played) and len(played) >= 3
    for tr in mid.tracks[1:]:
        ins = V.INSTRUMENTS.index(tr.name.upper())
        chans = {m.channel for m in tr if m.type in ("note_on", "program_change")}
        progs = [m.program for m in tr if m.type == "program_change"]
        assert chans == ({9} if ins == V.DRUMS else chans - {9}) and chans
        if ins != V.DRUMS:
            assert progs == [PROGRAM[ins]]


def test_pretty_midi_reads_the_same_file(exported):
    d, cuts, s = exported
    pm = pretty_midi.PrettyMIDI(str(d / "s.mid"))
    times, bpm = pm.get_tempo_changes()
    assert list(times) == [0.0] and list(bpm) == pytest.approx([120.0])
    assert sum(len(i.notes) for i in pm.instruments) == s["notes"]
    by_name = {i.name: i for i in pm.instruments}
    assert set(by_name) == {V.INSTRUMENTS[i].title() for i in s["instruments"]}
    for name, inst in by_name.items():
        ins = V.INSTRUMENTS.index(name.upper())
        assert inst.is_drum == (ins == V.DRUMS)
        if ins != V.DRUMS:
            assert inst.program == PROGRAM[ins]
    # pretty_midi 0.2.11 does not parse marker events; its tempo map puts the mido marker ticks at the cuts
    ticks = [m["tick"] for m in s["midi_export"]["markers"]]
    raw = [
        t
        for t, m in zip(np.cumsum([m.time for m in mido.MidiFile(str(d / "s.mid")).tracks[0]]), mido.MidiFile(str(d / "s.mid")).tracks[0])
        if m.type == "marker"
    ]
    assert ticks == raw
    for tick, cut in zip(ticks, s["cuts"]):
        assert abs(pm.tick_to_time(tick) - cut) <= TICK_S
        assert abs(pm.time_to_tick(cut) - tick) <= 1


def test_stems_one_per_instrument_summing_to_the_mix(exported):
    d, _, s = exported
    stems = sorted((d / "stems").glob("*.wav"))
    assert [p.stem for p in stems] == sorted(V.INSTRUMENTS[i].lower() for i in s["instruments"])
    assert s["outputs"]["stems"] == {p.stem: str(p) for p in stems}
    sr, mix = wavfile.read(d / "s.wav")
    parts = []
    for p in stems:
        r, a = wavfile.read(p)
        assert r == sr and a.shape == mix.shape and np.abs(a).max() > 0  # each stem is audible
        parts.append(a.astype(np.float64))
    total = np.sum(parts, axis=0)
    m = mix.astype(np.float64)
    err = np.sqrt(np.mean((total - m) ** 2)) / np.sqrt(np.mean(m**2))
    print("stems vs mix: relative RMS error", err, "instruments", s["instruments"])
    assert err < 0.02, err  # same SoundFont and gain: the stems add back to the mix
    assert all(v["clipped"] == 0 for v in s["stems"].values())
