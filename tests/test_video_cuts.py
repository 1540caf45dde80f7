"""Scene cuts (§5.1): the 4 s difference filter at its edge (and from the video start), the
in-process path vs FFmpeg, cut times against ground truth, and `emsync cuts`. Exact score equality
with FFmpeg on real and near-threshold clips: test_video_cuts_exact.py."""

import json
import subprocess

import numpy as np
import pytest

from emsync.cli import main
from emsync.core.errors import InputError
from emsync.video.cuts import detect_cuts, ffmpeg_cuts, filter_boundaries, pyav_cuts, scenedetect_cuts

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
    assert filter_boundaries(cuts, 4.0, from_start=False) == expected


@pytest.mark.parametrize(
    "cuts, expected",
    [
        ([0.04, 6.0], [6.0]),  # a cut at the first frames gives no chord at the very start
        ([3.999, 7.0], [7.0]),  # the first scene is shorter than 4 s: merged into the start
        ([4.0, 7.0, 8.0], [4.0, 8.0]),  # exactly 4 s after the start: kept, and gaps count from it
        ([1.0, 5.0], [5.0]),
    ],
    ids=["first-frames", "just-under-4s", "at-4s", "from-start"],
)
def test_video_start_is_the_first_boundary(cuts, expected):
    """§5.1/§6.2 discard scenes shorter than 4 s; the first scene starts at 0 s with the music."""
    assert filter_boundaries(cuts, 4.0) == expected


def test_filter_gap_is_a_parameter():
    assert filter_boundaries([1.0, 2.5, 3.0], 1.5, from_start=False) == [1.0, 2.5]
    assert filter_boundaries([1.0, 2.5, 3.0], 1.5) == [2.5]
    assert filter_boundaries([1.0, 2.5, 3.0], 0.0) == [1.0, 2.5, 3.0]


# ---- detection ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def multi_scene(tmp_path_factory):
    """Six scenes from different lavfi sources, cuts at 2, 6, 7, 10, 12 s (two closer than 4 s)."""
    path, cuts = cut_video(tmp_path_factory.mktemp("cuts") / "scenes.mp4", [2.0, 4.0, 1.0, 3.0, 2.0, 2.0], fps=FPS)
    return path, cuts


@pytest.mark.parametrize("method", ["ffmpeg", "pyav"])
def test_cut_times_equal_ground_truth_within_one_frame(multi_scene, method):
    path, truth = multi_scene
    found = detect_cuts(path, 0.27, method)
    assert len(found) == len(truth), found
    assert np.max(np.abs(np.array(found) - truth)) <= 1 / FPS + 1e-6


def test_pyav_path_gives_ffmpeg_cuts_exactly(multi_scene):
    path, _ = multi_scene
    assert pyav_cuts(path) == ffmpeg_cuts(path) == detect_cuts(path)


def test_pyscenedetect_detectors_are_options(multi_scene):
    """PySceneDetect's own detectors (not §5.1's definition) find the same hard cuts here."""
    path, truth = multi_scene
    for method in ("scenedetect-content", "scenedetect-adaptive"):
        found = detect_cuts(path, 0.27, method)
        assert found == scenedetect_cuts(path, method.split("-")[1])
        assert len(found) >= 3 and all(min(abs(t - c) for c in truth) <= 1 / FPS + 1e-6 for t in found), (method, found)


def test_video_without_cuts_and_a_flat_fade(tmp_path):
    path = scenes(tmp_path / "one.mp4", [("testsrc2", 3.0)], audio=None)
    fade = tmp_path / "fade.mp4"
    ffmpeg("-f", "lavfi", "-i", "color=c=white:s=160x120:r=25:d=3", "-vf", "fade=in:0:75", "-pix_fmt", "yuv420p", fade)
    for p in (path, fade):
        assert ffmpeg_cuts(p) == [] and pyav_cuts(p) == []


def test_unreadable_video_is_one_clear_error(tmp_path):
    bad = tmp_path / "bad.mp4"
    bad.write_bytes(np.random.default_rng(0).integers(0, 256, 5000, dtype=np.uint8).tobytes())
    for method in ("ffmpeg", "pyav", "scenedetect-content"):
        with pytest.raises(InputError, match="bad.mp4"):
            detect_cuts(bad, method=method)
    with pytest.raises(InputError, match="unknown scene-cut method"):
        detect_cuts(bad, method="magic")


def test_cli_cuts_prints_duration_cuts_boundaries(multi_scene, capsys):
    path, truth = multi_scene
    assert main(["cuts", str(path)]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"duration", "cuts", "boundaries"}
    assert out["duration"] == pytest.approx(14.0, abs=0.05)
    assert out["cuts"] == pytest.approx(truth, abs=1e-3)
    assert out["boundaries"] == pytest.approx([6.0, 10.0], abs=1e-3)  # 2 is < 4 s after the start, 7 and 12 after a kept cut
    assert main(["cuts", str(path.parent / "missing.mp4")]) == 1
    assert "missing.mp4: video file not found" in capsys.readouterr().err


# ---- demo videos and real clips ------------------------------------------------------------------


def test_demo_videos_cuts_equal_ground_truth(demo_set):
    videos_dir, truth = demo_set
    assert truth, "no demo videos"
    for video_id, gt in truth.items():
        path = next(videos_dir.glob(f"{video_id}.*"))
        for method in ("ffmpeg", "pyav"):
            found = detect_cuts(path, 0.27, method)
            assert len(found) == len(gt["cuts"]), (video_id, method, found, gt["cuts"])
            if found:
                assert np.max(np.abs(np.array(found) - gt["cuts"])) <= 1 / gt["fps"] + 1e-6, (video_id, method)


def test_ffprobe_missing_is_actionable(monkeypatch, multi_scene):
    import shutil

    monkeypatch.setattr(shutil, "which", lambda name: None)
    with pytest.raises(InputError, match="install ffmpeg"):
        ffmpeg_cuts(multi_scene[0])
    assert subprocess.run(["ffprobe", "-version"], capture_output=True).returncode == 0  # only patched in-process
