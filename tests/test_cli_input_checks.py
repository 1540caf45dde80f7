"""Boundaries that cannot be used are one clear line, before any model is loaded."""

import pytest

from emsync.cli import main


@pytest.mark.parametrize(
    "bounds, msg",
    [
        ("5,,6", "--boundaries '5,,6': entry 2 is empty"),
        ("4,", "--boundaries '4,': entry 2 is empty"),
        ("3,40,50", "--boundaries 40, 50: at or beyond --duration 30 s; drop them or generate longer music"),
        ("30", "--boundaries 30: at or beyond --duration 30 s"),
    ],
)
def test_unusable_boundaries_are_refused(tmp_path, capsys, bounds, msg):
    out = tmp_path / "g.mid"
    assert (
        main(
            [
                "generate",
                "--valence",
                "0",
                "--arousal",
                "0",
                "--duration",
                "30",
                "--boundaries",
                bounds,
                "--checkpoint",
                str(tmp_path / "no-model.pt"),
                "-o",
                str(out),
            ]
        )
        == 1
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and msg in err[0], err  # not "checkpoint not found": checked first
    assert not out.exists()


@pytest.fixture
def short_limits(tmp_path, monkeypatch):
    """The demo params with limits.max_video_duration_s = 2 s, and a 3 s video."""
    import subprocess

    import yaml

    from _root import ROOT

    full = yaml.safe_load((ROOT / "params" / "demo.yaml").read_text())
    full["limits"]["max_video_duration_s"] = 2.0
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(full))
    monkeypatch.setenv("EMSYNC_PARAMS", str(tmp_path / "params.yaml"))
    video = tmp_path / "v.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=64x48:rate=10:duration=3", "-pix_fmt", "yuv420p", str(video)],
        check=True,
    )
    return video


def test_video_limits_are_checked_before_decoding(tmp_path, capsys, short_limits):
    want = f"{short_limits}: video duration: 3 s is over the 2 s limit (limits.max_video_duration_s)"
    from tests._midi_mutants import seeds

    (tmp_path / "s.mid").write_bytes(seeds()[0])
    for argv in (
        ["cuts", str(short_limits)],
        ["sample", str(short_limits)],
        ["render", str(tmp_path / "s.mid"), "--video", str(short_limits), "-o", str(tmp_path / "o.mp4")],
    ):
        assert main(argv) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and want in err[0], (argv, err)
    assert not (tmp_path / "o.mp4").exists()


def test_special_files_are_not_videos(tmp_path, capsys):
    import os

    os.mkfifo(tmp_path / "pipe.mp4")
    for src in (tmp_path / "pipe.mp4", "/dev/zero", tmp_path):
        assert main(["cuts", str(src)]) == 1
        assert capsys.readouterr().err.strip() == f"emsync: error: {src}: not a regular file"
