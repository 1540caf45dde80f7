"""The default cut path gives exactly FFmpeg's cuts (§5.1): per-frame scene scores of both paths
equal FFmpeg's printed `lavfi.scene_score` to 1e-6, and the cut lists are identical, on every real
clip and on generated near-threshold transitions at 25 and 29.97 fps, 4:2:0 and 4:4:4."""

import re
import subprocess

import numpy as np
import pytest

from emsync.video.cuts import detect_cuts, ffmpeg_scores, pyav_cuts, pyav_scores, video_cuts

from _videos import raw_clip, texture

W, H = 160, 120


def _u8(f):
    return np.clip(f, 0, 255).astype(np.uint8)


def _reference(path):
    """The reference: FFmpeg's own printout, parsed independently."""
    res = subprocess.run(
        ["ffmpeg", "-nostdin", "-hide_banner", "-i", str(path), "-an",
         "-vf", "select='gte(scene,0)',metadata=print:key=lavfi.scene_score", "-f", "null", "-"],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return [float(x) for x in re.findall(r"lavfi\.scene_score=([0-9.]+)", res.stderr)]


def _assert_equal_to_ffmpeg(path):
    ref = _reference(path)
    printed, ff_cuts = ffmpeg_scores(path)
    ours = pyav_scores(path)
    assert len(ref) == len(printed) == len(ours) > 0
    assert np.max(np.abs(np.array([s for _, s in printed]) - ref)) <= 1e-6
    assert np.max(np.abs(np.array([s for _, s in ours]) - ref)) <= 1e-6
    assert [t for t, _ in ours] == [t for t, _ in printed]  # same frame times
    assert pyav_cuts(path) == ff_cuts == detect_cuts(path)  # default method: FFmpeg's cuts
    return ref, ff_cuts


def _dissolve(k, contrast):
    a = texture(1)
    A, B = 128 + (a - 128) * contrast, 128 - (a - 128) * contrast
    return [A] * 25 + [A + (B - A) * (i + 1) / (k + 1) for i in range(k)] + [B] * 25


def _whip(contrast):
    wide = 128 + (texture(3, w=W * 8) - 128) * contrast
    return [wide[:, :W]] * 25 + [wide[:, 40 * i : 40 * i + W] for i in range(1, 4)] + [wide[:, 120 : 120 + W]] * 25


def _flash():
    a = texture(4)
    return [a] * 20 + [np.full((H, W), 235.0)] + [a] * 20


def _equal_mean_texture_cut():
    a = texture(5, blur=2)
    yy, xx = np.mgrid[0:H, 0:W]
    b = 128 + 60 * np.sign(np.sin(xx / 3.0) * np.sin(yy / 5.0))  # stripes/checks: another texture
    b = b - b.mean() + a.mean()
    assert abs(b.mean() - a.mean()) < 1e-9
    return [a] * 20 + [b] * 20


CLIPS = {  # name -> (frames, near-threshold?)
    "dissolve2-below": (lambda: _dissolve(2, 0.65), True),
    "dissolve3-above": (lambda: _dissolve(3, 1.1), True),
    "whip3": (lambda: _whip(0.40), True),
    "flash": (_flash, False),
    "equal-mean-texture": (_equal_mean_texture_cut, False),
}


@pytest.mark.parametrize("fps, pix_fmt", [("25", "yuv420p"), ("30000/1001", "yuv420p"), ("25", "yuv444p"), ("30000/1001", "yuv444p")])
@pytest.mark.parametrize("name", list(CLIPS))
def test_generated_transitions_score_exactly_as_ffmpeg(tmp_path, name, fps, pix_fmt):
    make, near = CLIPS[name]
    path = raw_clip(tmp_path / f"{name}.mp4", map(_u8, make()), fps=fps, pix_fmt=pix_fmt)
    ref, cuts = _assert_equal_to_ffmpeg(path)
    top = max(ref)
    if near:  # the transition's peak lies within 0.03 of the 0.27 rule
        assert 0.25 <= top <= 0.30, top
    else:
        assert top > 0.27 and len(cuts) >= 1  # a flash / an equal-mean-luma cut is found
    if name == "equal-mean-texture":
        assert len(cuts) == 1 and cuts[0] == pytest.approx(20 * float(eval(fps)) ** -1, abs=1e-6)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "rel, cuts",
    [
        ("video/chaplin.mp4", []),
        ("video/sintel_5s.mp4", []),
        ("video/testpattern_text_overlay.mp4", []),
        ("ekman6/joy.mp4", []),
        ("ekman6/fear.mp4", []),
        pytest.param("ekman6/disgust.mp4", [], marks=pytest.mark.slow),
        pytest.param("ekman6/sadness.mp4", [], marks=pytest.mark.slow),
        pytest.param("ekman6/sample.mp4", [2.335667], marks=pytest.mark.slow),  # frame 70 at 29.97 fps
    ],
)
def test_real_clips_score_exactly_as_ffmpeg(shared_data, rel, cuts):
    _, found = _assert_equal_to_ffmpeg(shared_data / rel)
    assert found == cuts
    if rel == "ekman6/sample.mp4":  # its one cut is 2.3 s into the clip: a scene < 4 s, no boundary
        out = video_cuts(shared_data / rel)
        assert out["cuts"] == cuts and out["boundaries"] == [] and out["duration"] == pytest.approx(7.0, abs=0.1)
