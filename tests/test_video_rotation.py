"""Rotated footage (what phones record) goes through probing, `emsync cuts` and `emsync soundtrack`,
and the scored MP4 shows the video as the input does. Two ways a clip says it is rotated: a
display matrix (MP4, phones) and a `rotate` tag (Matroska, old muxers; FFmpeg's decoders ignore it),
each at 90, 180 and 270 degrees, all made from one unrotated clip by stream copy (same pixels)."""

import json

import numpy as np
import pytest

from emsync.cli import main
from emsync.music import vocab as V
from emsync.video.probe import probe
from emsync.video.sampling import sample_video

from _model_helpers import one_thread, tiny_checkpoint  # noqa: F401 (autouse fixture)
from _videos import cut_video, ffmpeg

DURATIONS = [4.2, 3.0]  # one cut at 4.2 s, kept by the 4 s filter
STYLES = [(deg, style) for deg in (90, 180, 270) for style in ("matrix", "tag")]


@pytest.fixture(scope="module")
def clips(tmp_path_factory):
    d = tmp_path_factory.mktemp("rotation")
    base, cuts = cut_video(d / "base.mp4", DURATIONS, size="96x64")
    out = {"base": base, "cuts": cuts, "dir": d}
    for deg, style in STYLES:
        if style == "matrix":  # FFmpeg writes the rotate metadata of an MP4 as its display matrix
            path = d / f"r{deg}.mp4"
            ffmpeg("-i", base, "-c", "copy", "-metadata:s:v:0", f"rotate={deg}", path)
        else:  # Matroska keeps it as a plain ROTATE tag
            path = d / f"r{deg}.mkv"
            ffmpeg("-i", base, "-c", "copy", "-metadata:s:v:0", f"ROTATE={deg}", path)
        out[deg, style] = path
    return out


@pytest.mark.parametrize("deg, style", STYLES)
def test_probe_reads_both_styles_and_frames_turn_by_the_rotation(clips, deg, style):
    info = probe(clips[deg, style])
    assert (info.rotation, info.rotation_tag_only) == (deg, style == "tag")
    assert (info.width, info.height) == ((64, 96) if deg in (90, 270) else (96, 64))
    base = sample_video(clips["base"], 3, with_audio=False).frames  # (3, 64, 96, 3)
    turned = sample_video(clips[deg, style], 3, with_audio=False).frames
    assert turned.shape[1:3] == (info.height, info.width)
    # the same pictures, turned by the rotation (Matroska's millisecond clock may pick the next frame)
    diff = {k: np.abs(turned.astype(int) - np.rot90(base, k, axes=(1, 2))).mean() for k in (deg // 90, (deg // 90 + 2) % 4)}
    assert diff[deg // 90] < 8 < diff[(deg // 90 + 2) % 4], diff
    if style == "matrix":
        np.testing.assert_array_equal(turned, np.rot90(base, deg // 90, axes=(1, 2)))


@pytest.mark.parametrize("deg, style", STYLES)
def test_cuts_on_a_rotated_clip_are_the_unrotated_clips(clips, capsys, deg, style):
    assert main(["cuts", str(clips["base"])]) == 0
    want = json.loads(capsys.readouterr().out)
    assert main(["cuts", str(clips[deg, style])]) == 0
    got = json.loads(capsys.readouterr().out)
    # the same cuts (Matroska's clock starts a few ms later: within one frame)
    assert got["cuts"] == pytest.approx(want["cuts"], abs=0.04) and len(got["cuts"]) == len(want["cuts"])
    assert got["boundaries"] == pytest.approx(want["boundaries"], abs=0.04) and want["boundaries"] == [pytest.approx(4.2, abs=0.05)]


@pytest.fixture(scope="module")
def generator(clips):
    ckpt = clips["dir"] / "checkpoint.pt"
    tiny_checkpoint(ckpt, {V.shift_id(200): 4.0, V.CHORD: 3.0})
    (clips["dir"] / "params.yaml").write_text("generate:\n  slide_stride: 16\n")
    return ckpt


@pytest.mark.parametrize("deg, style", STYLES)
def test_the_muxed_mp4_shows_the_video_as_the_input_does(clips, deg, style):
    from emsync.soundtrack.render import mux

    wav = clips["dir"] / "music.wav"
    if not wav.exists():
        ffmpeg("-f", "lavfi", "-i", "sine=f=220:sample_rate=44100:d=7.2", wav)
    out = clips["dir"] / f"muxed_{deg}_{style}.mp4"
    mux(clips[deg, style], wav, out)
    src, got = probe(clips[deg, style]), probe(out)
    assert (got.rotation, got.width, got.height, got.rotation_tag_only) == (deg, src.width, src.height, False)


@pytest.mark.parametrize("deg, style", [(90, "matrix"), (270, "tag")])
def test_soundtrack_keeps_the_rotation_in_its_mp4(clips, generator, monkeypatch, capsys, deg, style):
    monkeypatch.setenv("EMSYNC_PARAMS", str(clips["dir"] / "params.yaml"))
    out = clips["dir"] / f"scored_{deg}_{style}.mp4"
    argv = ["soundtrack", str(clips[deg, style]), "-o", str(out), "--checkpoint", str(generator), "-q", "--json"]
    assert main([*argv, "--valence", "0.5", "--arousal", "0.5", "--seed", "1"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert s["boundaries"] == [pytest.approx(4.2, abs=0.05)]
    src, got = probe(clips[deg, style]), probe(out)
    assert (got.rotation, got.width, got.height) == (deg, src.width, src.height)
    assert not got.rotation_tag_only  # an MP4's own display matrix: every player turns it
    assert got.has_audio and got.duration == pytest.approx(src.duration, abs=0.1)
