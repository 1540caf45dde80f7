"""Frame/audio sampling (§5.2.2.1, §5.2.3.1) and its bad inputs: no audio stream,
silent audio, zero-length, truncated, corrupt, variable frame rate, rotated, 4K, 2 hours long."""

import json
import subprocess
import sys

import numpy as np
import pytest

from emsync.core.errors import InputError
from emsync.video.probe import probe
from emsync.video.sampling import VideoSample, sample_times, sample_video

from _videos import demo_set, ffmpeg, scenes  # noqa: F401 (demo_set is a fixture)

COLOURS = {"red": (255, 0, 0), "lime": (0, 255, 0), "blue": (0, 0, 255)}


@pytest.fixture(scope="module")
def colours(tmp_path_factory):
    """red 0-2 s, lime 2-5 s, blue 5-6 s at 25 fps with a 440 Hz sine: frame colour tells its time."""
    d = tmp_path_factory.mktemp("sampling")
    return scenes(d / "colours.mp4", [("color=c=red", 2.0), ("color=c=lime", 3.0), ("color=c=blue", 1.0)], size="160x120")


def _colour(frame):
    m = frame.reshape(-1, 3).mean(0)
    return min(COLOURS, key=lambda k: np.abs(m - COLOURS[k]).sum())


# ---- positions ---------------------------------------------------------------------------------


def test_sample_times_modes():
    assert sample_times(16.0, 16, "equidistant").tolist() == [i + 0.5 for i in range(16)]  # segment centres
    r1, r2 = sample_times(10.0, 16, "random", seed=3), sample_times(10.0, 16, "random", seed=3)
    assert np.array_equal(r1, r2) and not np.array_equal(r1, sample_times(10.0, 16, "random", seed=4))
    assert np.all(np.diff(r1) >= 0) and r1.min() >= 0 and r1.max() < 10.0
    assert sample_times(10.0, None, "mid_scene", boundaries=[2.0, 6.0]).tolist() == [1.0, 4.0, 8.0]
    assert sample_times(10.0, None, "mid_scene", boundaries=[]).tolist() == [5.0]  # one scene
    assert len(sample_times(100.0, 4, "mid_scene", boundaries=np.arange(1, 100))) == 4  # capped at n
    with pytest.raises(InputError, match="unknown sampling mode"):
        sample_times(10.0, 4, "every")


def test_equidistant_frames_and_audio(colours):
    s = sample_video(colours, 6)
    assert isinstance(s, VideoSample) and s.video_id == "colours" and s.fps == 25.0
    assert s.frames.shape == (6, 120, 160, 3) and s.frames.dtype == np.uint8
    assert np.allclose(s.frame_times, [0.52, 1.52, 2.52, 3.52, 4.52, 5.52], atol=0.021)  # first frame at/after 0.5, 1.5, ...
    assert [_colour(f) for f in s.frames] == ["red", "red", "lime", "lime", "lime", "blue"]
    # 16 kHz mono float32, the whole track; its spectrum peaks at the 440 Hz sine
    assert s.audio.dtype == np.float32 and s.audio_sr == 16000
    assert abs(len(s.audio) - 6.0 * 16000) < 0.05 * 16000
    spec = np.abs(np.fft.rfft(s.audio[:16000]))
    assert abs(np.argmax(spec) - 440) <= 1


def test_mid_scene_frames_land_in_every_scene(colours):
    s = sample_video(colours, None, mode="mid_scene")  # cuts detected here (2 s, 5 s)
    assert np.allclose(s.frame_times, [1.0, 3.52, 5.52], atol=0.021)
    assert [_colour(f) for f in s.frames] == ["red", "lime", "blue"]


def test_audio_chunks_are_centred_and_zero_padded():
    audio = np.arange(16000 * 10, dtype=np.float32)  # 10 s: sample value = index
    s = VideoSample("v", "v.mp4", 10.0, 25.0, np.array([0.5, 5.0, 9.9]), np.zeros((3, 2, 2, 3), np.uint8), audio)
    mid = s.audio_chunk(5.0, 3.0)
    assert len(mid) == 48000 and mid[0] == 16000 * 3.5 and mid[-1] == 16000 * 6.5 - 1
    head = s.audio_chunk(0.5, 3.0)  # starts 1 s before the video: 16000 zeros first
    assert np.all(head[:16000] == 0) and head[16000] == 0 and head[16001] == 1 and head[-1] == 16000 * 2 - 1
    tail = s.audio_chunk(9.9, 3.0)
    assert tail[0] == 16000 * 8.4 and np.all(tail[int(16000 * 1.6) :] == 0)
    assert s.audio_chunks(3.0).shape == (3, 48000)
    assert s.audio_chunk(5.0, 22.0).shape == (352000,)  # the music tagger's 22 s chunk
    silent = VideoSample("v", "v.mp4", 10.0, 25.0, np.array([1.0]), np.zeros((1, 2, 2, 3), np.uint8), None)
    assert np.array_equal(silent.audio_chunk(1.0, 3.0), np.zeros(48000, np.float32))


def test_random_mode_is_seeded(colours):
    a, b = sample_video(colours, 5, mode="random", seed=1), sample_video(colours, 5, mode="random", seed=1)
    assert np.array_equal(a.frame_times, b.frame_times) and np.array_equal(a.frames, b.frames)


# ---- bad input -------------------------------------------------------------------------------


def test_no_audio_stream_and_silent_audio(tmp_path):
    none = scenes(tmp_path / "none.mp4", [("testsrc2", 2.0)], audio=None)
    silent = scenes(tmp_path / "silent.mp4", [("testsrc2", 2.0)], audio="silence")
    s = sample_video(none, 4)
    assert s.audio is None and s.frames.shape[0] == 4 and not probe(none).has_audio
    assert np.array_equal(s.audio_chunk(1.0, 3.0), np.zeros(48000, np.float32))
    q = sample_video(silent, 4)
    assert len(q.audio) > 30000 and np.all(q.audio == 0)


def test_zero_length_empty_and_corrupt_files_are_clear_errors(tmp_path):
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    audio_only = tmp_path / "audio_only.m4a"
    ffmpeg("-f", "lavfi", "-i", "sine=d=1", "-c:a", "aac", audio_only)
    zero = tmp_path / "zero.mp4"  # a valid container holding no frames
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x64:d=1", "-frames:v", "0", "-c:v", "libx264", zero)
    for path, msg in [(empty, "empty file"), (junk, "not a readable video"), (audio_only, "no video stream"),
                      (zero, "zero-length|no video stream|no decodable"), (tmp_path / "nope.mp4", "not found")]:  # fmt: skip
        with pytest.raises(InputError, match=msg):
            sample_video(path, 4)


def _forget_probes(monkeypatch):
    """probe() keeps what it found per unchanged file: start over, so the next probes run ffprobe."""
    from collections import OrderedDict

    from emsync.video import probe as probe_mod

    monkeypatch.setattr(probe_mod, "_PROBED", OrderedDict())


def test_probing_many_files_at_once_answers_each_in_order_as_one_at_a_time(tmp_path, monkeypatch):
    from emsync.video.probe import probe_all

    long = scenes(tmp_path / "long.mp4", [("testsrc2", 3.0)])
    short = scenes(tmp_path / "short.mp4", [("testsrc2", 1.0)])
    empty = tmp_path / "empty.mp4"
    empty.write_bytes(b"")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(np.random.default_rng(0).integers(0, 256, 20000, dtype=np.uint8).tobytes())
    paths = [long, empty, short, tmp_path / "nope.mp4", junk, long]

    def alone(p):
        try:
            return probe(p)
        except InputError as e:
            return str(e)

    _forget_probes(monkeypatch)
    together = [str(r) if isinstance(r, InputError) else r for r in probe_all(paths, workers=4)]
    _forget_probes(monkeypatch)  # each answer below from its own ffprobe, not from the one above
    assert together == [alone(p) for p in paths]
    assert [round(together[i].duration) for i in (0, 2, 5)] == [3, 1, 3]
    assert "empty file" in together[1] and "not found" in together[3] and "not a readable video" in together[4]


def test_an_unchanged_file_is_probed_once_and_a_rewritten_one_again(tmp_path, monkeypatch):
    import os

    from emsync.video import probe as probe_mod

    calls = []
    real = probe_mod._ffprobe
    monkeypatch.setattr(probe_mod, "_ffprobe", lambda path: calls.append(str(path)) or real(path))
    clip = scenes(tmp_path / "clip.mp4", [("testsrc2", 2.0)])
    first = probe(clip)
    link = tmp_path / "same.mp4"
    link.symlink_to(clip)
    assert probe(clip) == first and probe(link) == probe_mod.VideoInfo(**{**first.__dict__, "path": str(link)})
    assert calls == [str(clip)]  # one ffprobe for three probes of one file
    st = clip.stat()
    scenes(tmp_path / "other.mp4", [("testsrc2", 3.0)], audio=None)
    os.replace(tmp_path / "other.mp4", clip)  # a new file under the old name
    os.utime(clip, ns=(st.st_atime_ns, st.st_mtime_ns))  # even with the old mtime
    again = probe(clip)
    assert (round(again.duration), again.has_audio) == (3, False) and len(calls) == 2


@pytest.mark.shared_data
def test_probing_the_real_clips_at_once_answers_as_one_at_a_time(shared_data, monkeypatch):
    from emsync.video.probe import probe_all

    clips = sorted((shared_data / "video").glob("*.mp4"))
    assert len(clips) >= 3
    _forget_probes(monkeypatch)
    together = probe_all(clips)
    _forget_probes(monkeypatch)
    assert together == [probe(p) for p in clips]


def test_truncated_video_is_an_error_not_a_repeated_last_frame(tmp_path):
    full = scenes(tmp_path / "full.mp4", [("testsrc2", 6.0)], size="160x120", extra=("-movflags", "+faststart"))
    cut = tmp_path / "cut.mp4"
    cut.write_bytes(full.read_bytes()[: full.stat().st_size // 2])  # header says 6 s, data stops early
    with pytest.raises(InputError, match=r"cut.mp4: truncated: frames decode only to [0-9.]+ s"):
        sample_video(cut, 8)  # positions past the decodable end: recorded, never filled with its last frame
    s = sample_video(full, 8)  # the intact file: every position is its own frame
    assert s.frames.shape == (8, 120, 160, 3) and len(set(np.round(s.frame_times, 3))) == 8
    cut_mid = tmp_path / "no_moov.mp4"  # moov atom at the end, lost: unreadable -> clear error
    plain = scenes(tmp_path / "plain.mp4", [("testsrc2", 2.0)])
    cut_mid.write_bytes(plain.read_bytes()[: plain.stat().st_size // 2])
    with pytest.raises(InputError, match="no_moov.mp4"):
        sample_video(cut_mid, 4)


def test_variable_frame_rate_uses_real_timestamps(tmp_path):
    """Frames at 0, 0.1, 0.2, ... up to 1 s, then one frame per second: positions map by pts."""
    src = scenes(tmp_path / "src.mp4", [("testsrc2", 5.0)], size="160x120", fps=10, audio=None)
    vfr = tmp_path / "vfr.mkv"
    ffmpeg("-i", src, "-vf", "select='lt(t,1)+not(mod(n,10))',setpts=N/TB*0+PTS", "-fps_mode", "vfr", "-c:v", "libx264", vfr)
    info = probe(vfr)
    s = sample_video(vfr, 5)
    kept = np.r_[np.arange(10) / 10, np.arange(1, 5)]  # the pts that survive the select
    wanted = sample_times(info.duration, 5)  # duration 4.1 s (last frame's end)
    expected = [kept[kept >= t - 1e-6][0] for t in wanted]  # the first frame at or after each position
    assert np.allclose(s.frame_times, expected, atol=1e-3), (s.frame_times, wanted)
    assert s.frame_times.tolist() == pytest.approx([0.5, 2.0, 3.0, 3.0, 4.0], abs=1e-3)


def test_rotated_video_frames_match_ffmpeg_autorotate(tmp_path):
    plain = scenes(tmp_path / "plain.mp4", [("testsrc2", 1.0)], size="160x96", audio=None)
    rot = tmp_path / "rot.mp4"
    ffmpeg("-i", plain, "-c", "copy", "-metadata:s:v:0", "rotate=90", rot)
    info = probe(rot)
    assert (info.rotation, info.width, info.height) == (90, 96, 160)
    s = sample_video(rot, 1, max_side=None)
    assert s.frames.shape == (1, 160, 96, 3)
    ref = subprocess.run(["ffmpeg", "-v", "error", "-ss", str(s.frame_times[0]), "-i", str(rot), "-frames:v", "1",
                          "-f", "rawvideo", "-pix_fmt", "rgb24", "-"], capture_output=True, check=True).stdout  # fmt: skip
    ref = np.frombuffer(ref, np.uint8).reshape(160, 96, 3)
    assert np.abs(s.frames[0].astype(int) - ref).mean() < 2.0  # same orientation (a wrong one differs by ~100)


def test_4k_frames_are_downscaled_to_max_side(tmp_path):
    uhd = tmp_path / "uhd.mp4"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=3840x2160:r=2:d=2", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", uhd)
    assert probe(uhd).width == 3840
    s = sample_video(uhd, 3, max_side=768)
    assert s.frames.shape == (3, 432, 768, 3)  # 16:9 kept, longer side 768: 3 frames = 3 MB, not 75 MB


def test_two_hour_video_samples_with_bounded_memory_and_time(tmp_path):
    """A 2-hour (tiny, 1 fps) video: 16 frames are found by seeking, so the child process's peak
    RSS stays near the interpreter's own and the run takes seconds, not a 2-hour decode."""
    long = tmp_path / "long.mkv"
    ffmpeg("-f", "lavfi", "-i", "testsrc2=s=64x36:r=1:d=7200", "-c:v", "libx264", "-preset", "ultrafast", "-g", "10", long)
    assert probe(long).duration == pytest.approx(7200, abs=2)
    code = (
        "import json, time, sys\n"
        "from emsync.video.sampling import sample_video\n"
        "t = time.time(); s = sample_video(sys.argv[1], 16)\n"
        "print(json.dumps({'n': len(s.frames), 'times': s.frame_times.tolist(), 's': time.time() - t,"
        " 'rss_mb': int([l for l in open('/proc/self/status') if l.startswith('VmHWM')][0].split()[1]) / 1024}))\n"
    )
    out = json.loads(subprocess.run([sys.executable, "-c", code, str(long)], capture_output=True, text=True, check=True).stdout)
    assert out["n"] == 16
    assert np.allclose(out["times"], (np.arange(16) + 0.5) * 450, atol=1.01)  # 1 fps: within a frame
    assert out["rss_mb"] < 300, out  # peak RSS (VmHWM): interpreter + numpy + PyAV; the 2 h of frames never are in memory
    assert out["s"] < 30, out


# ---- real clips --------------------------------------------------------------------------------


@pytest.mark.shared_data
@pytest.mark.parametrize("rel", ["video/sintel_5s.mp4", "video/chaplin.mp4", "video/testpattern_text_overlay.mp4", "ekman6/joy.mp4"])
def test_real_clips_sample(shared_data, rel):
    path = shared_data / rel
    info = probe(path)
    s = sample_video(path, 16)
    h, w = s.frames.shape[1:3]
    assert s.frames.shape[0] == 16 and max(h, w) == min(768, max(info.width, info.height))
    assert np.all(np.diff(s.frame_times) > 0) and s.frame_times[-1] < info.duration
    assert s.frames.std() > 5  # real pictures, not black
    assert (s.audio is None) == (rel == "video/testpattern_text_overlay.mp4") == (not info.has_audio)  # the test pattern is silent film
    if s.audio is not None:
        assert abs(len(s.audio) / 16000 - info.duration) < 0.5
    assert s.audio_chunks(3.0).shape == (16, 48000)


def test_demo_videos_sample(demo_set):
    videos_dir, truth = demo_set
    for video_id, gt in truth.items():
        s = sample_video(next(videos_dir.glob(f"{video_id}.*")), 16)
        assert s.frames.shape == (16, gt["height"], gt["width"], 3)
        assert (s.audio is None) == (gt["audio"] == "none")
        if gt["audio"] == "silence":
            assert np.abs(s.audio).max() < 1e-3


def test_cli_probe_and_sample(colours, capsys):
    from emsync.cli import main

    assert main(["probe", str(colours)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (info["width"], info["height"], info["has_audio"], info["rotation"]) == (160, 120, True, 0)
    assert main(["sample", str(colours), "-n", "3", "--mode", "equidistant"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["frames_shape"] == [3, 120, 160, 3] and out["frame_times"] == pytest.approx([1.0, 3.0, 5.0], abs=0.021)
    assert main(["sample", str(colours)]) == 0  # as the extractors see it: one frame per second (§5.2.2.3)
    assert json.loads(capsys.readouterr().out)["frame_times"] == pytest.approx([0.52, 1.52, 2.52, 3.52, 4.52, 5.52], abs=0.021)
    assert out["audio_sr"] == 16000 and abs(out["audio_samples"] - 96000) < 2000
