"""Scene cuts (§5.1): the 4 s difference filter at its edge, PySceneDetect vs the FFmpeg reference,
cut times against ground truth, and `emsync cuts`."""
import json
import re
import subprocess

import numpy as np
import pytest

from emsync.cli import main
from emsync.errors import InputError
from emsync.video.cuts import detect_cuts, ffmpeg_cuts, filter_boundaries, scenedetect_cuts, video_cuts

from _videos import cut_video, demo_set, ffmpeg, scenes  # noqa: F401 (demo_set is a fixture)

FPS = 25


# ---- the difference filter -------------------------------------------------------------------


@pytest.mark.parametrize(
    "cuts, expected",
    [
        ([1.0, 5.0], [1.0, 5.0]),  # exactly 4 s after the kept one: kept
        ([1.0, 4.999], [1.0]),  # just under 4 s: dropped
        ([1.2, 5.2], [1.2, 5.2]),  # 5.2 - 1.2 is 3.9999999999999996 in floats: still exactly 4 s
        ([0.5, 3.0, 4.6, 8.6], [0.5, 4.6, 8.6]),  # 4.6 is measured from 0.5 (kept), not 3.0 (dropped)
        ([2.0, 3.0, 4.0, 5.0, 6.0, 7.0], [2.0, 6.0]),  # a burst keeps one cut per 4 s
        ([9.0, 1.0, 5.0], [1.0, 5.0, 9.0]),  # unsorted input
        ([], []),
    ],
    ids=["edge-kept", "edge-dropped", "float-edge", "from-kept", "burst", "unsorted", "empty"],
)
def test_filter_drops_cuts_less_than_4s_after_previous_kept(cuts, expected):
    assert filter_boundaries(cuts, 4.0) == expected


def test_filter_gap_is_a_parameter():
    assert filter_boundaries([1.0, 2.5, 3.0], 1.5) == [1.0, 2.5]
    assert filter_boundaries([1.0, 2.5, 3.0], 0.0) == [1.0, 2.5, 3.0]


# ---- detection ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def multi_scene(tmp_path_factory):
    """Six scenes from different lavfi sources, cuts at 2, 6, 7, 10, 12 s (two closer than 4 s)."""
    path, cuts = cut_video(tmp_path_factory.mktemp("cuts") / "scenes.mp4", [2.0, 4.0, 1.0, 3.0, 2.0, 2.0], fps=FPS)
    return path, cuts


@pytest.mark.parametrize("method", ["ffmpeg", "scenedetect"])
def test_cut_times_equal_ground_truth_within_one_frame(multi_scene, method):
    path, truth = multi_scene
    found = detect_cuts(path, 0.27, method)
    assert len(found) == len(truth), found
    assert np.max(np.abs(np.array(found) - truth)) <= 1 / FPS + 1e-6


def test_pyscenedetect_agrees_with_ffmpeg_reference(multi_scene):
    path, _ = multi_scene
    assert scenedetect_cuts(path) == pytest.approx(ffmpeg_cuts(path), abs=1e-4)


def test_detector_score_matches_ffmpeg_scene_score(tmp_path):
    """Frame by frame, the PySceneDetect detector's score is FFmpeg's lavfi.scene_score (moving
    content, a cut, a flat cut) to within 0.01."""
    from scenedetect import SceneManager, open_video

    from emsync.video.cuts import _build_detector_class

    path = scenes(tmp_path / "motion.mp4", [("mandelbrot", 1.0), ("testsrc2", 1.0), ("color=c=gray", 0.6)], audio=None)
    meta = tmp_path / "scores.txt"
    ffmpeg("-i", path, "-an", "-vf", f"select='gte(scene,0)',metadata=print:file={meta}", "-f", "null", "-")
    ref = [float(x) for x in re.findall(r"lavfi.scene_score=([0-9.]+)", meta.read_text())]
    det = _build_detector_class()(0.27)
    sm = SceneManager()
    sm.auto_downscale = False
    sm.add_detector(det)
    sm.detect_scenes(video=open_video(str(path), backend="pyav"))
    ours = [s for _, s in det.scores]
    assert len(ours) == len(ref) == 65
    assert np.max(np.abs(np.array(ours) - ref)) < 0.01
    assert sum(r > 0.27 for r in ref) == 2  # the two cuts, nothing in the zooming mandelbrot


def test_video_without_cuts_and_a_flat_fade(tmp_path):
    path = scenes(tmp_path / "one.mp4", [("testsrc2", 3.0)], audio=None)
    fade = tmp_path / "fade.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=white:s=160x120:r=25:d=3", "-vf", "fade=in:0:75", "-pix_fmt", "yuv420p", fade)
    for p in (path, fade):
        assert ffmpeg_cuts(p) == [] and scenedetect_cuts(p) == []


def test_unreadable_video_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    for method in ("ffmpeg", "scenedetect"):
        with pytest.raises(InputError, match="bad.mp4"):
            detect_cuts(bad, method=method)
    with pytest.raises(InputError, match="unknown scene-cut method"):
        detect_cuts(bad, method="magic")


def test_cli_cuts_prints_duration_cuts_boundaries(multi_scene, capsys):
    path, truth = multi_scene
    assert main(["cuts", str(path), "--method", "ffmpeg"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"duration", "cuts", "boundaries"}
    assert out["duration"] == pytest.approx(14.0, abs=0.05)
    assert out["cuts"] == pytest.approx(truth, abs=1e-3)
    assert out["boundaries"] == pytest.approx([2.0, 6.0, 10.0], abs=1e-3)  # 7 and 12 are < 4 s after a kept cut
    assert main(["cuts", str(path.parent / "missing.mp4")]) == 1
    assert "missing.mp4: video file not found" in capsys.readouterr().err


# ---- demo videos and real clips ------------------------------------------------------------------


def test_demo_videos_cuts_equal_ground_truth(demo_set):
    videos_dir, truth = demo_set
    assert truth, "no demo videos"
    for video_id, gt in truth.items():
        path = next(videos_dir.glob(f"{video_id}.*"))
        for method in ("ffmpeg", "scenedetect"):
            found = detect_cuts(path, 0.27, method)
            assert len(found) == len(gt["cuts"]), (video_id, method, found, gt["cuts"])
            if found:
                assert np.max(np.abs(np.array(found) - gt["cuts"])) <= 1 / gt["fps"] + 1e-6, (video_id, method)


@pytest.mark.shared_data
@pytest.mark.parametrize(
    "rel, n_cuts",
    [
        pytest.param("ekman6/sample.mp4", 1, marks=pytest.mark.slow, id="sample-1080p"),  # ~10 s on 2 loaded cores
        ("video/chaplin.mp4", 0),
        ("video/sintel_5s.mp4", 0),
        ("video/testpattern_text_overlay.mp4", 0),
    ],
)
def test_real_clips_both_methods_agree(shared_data, rel, n_cuts):
    path = shared_data / rel
    ref = ffmpeg_cuts(path)
    assert len(ref) == n_cuts
    assert scenedetect_cuts(path) == pytest.approx(ref, abs=1e-4)
    if rel == "ekman6/sample.mp4":  # the one hard cut of the TV clip (frame 70 at 29.97 fps)
        assert ref[0] == pytest.approx(70 * 1001 / 30000, abs=1e-4)
        out = video_cuts(path, method="ffmpeg")
        assert out["boundaries"] == out["cuts"] and out["duration"] == pytest.approx(7.0, abs=0.1)


def test_ffprobe_missing_is_actionable(monkeypatch, multi_scene):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="install ffmpeg"):
        ffmpeg_cuts(multi_scene[0])
    assert subprocess.run(["ffprobe", "-version"], capture_output=True).returncode == 0  # only patched in-process
