"""`emsync soundtrack --report out.html` in a real headless Chromium (Debian `chromium` driven by
Playwright through `executable_path`; never `playwright install`): the page shows every cut,
boundary, speech segment, chord and note of the run, its video element plays picture and sound,
and a screenshot of it is saved. Skips when chromium or playwright is missing."""

import contextlib
import io
import json
import os
import shutil

import numpy as np
import pytest

from emsync.cli import main
from emsync.music import vocab as V

from _model_helpers import one_thread, tiny_checkpoint  # noqa: F401 (autouse fixture)
from _speech import speech_video

CHROMIUM = os.environ.get("EMSYNC_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
sync_api = pytest.importorskip("playwright.sync_api", reason="playwright not installed (pip install -e '.[test]')")
pytestmark = pytest.mark.skipif(not CHROMIUM, reason="no chromium executable (scripts/install_system.sh installs Debian's)")


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    d = tmp_path_factory.mktemp("report")
    tiny_checkpoint(d / "checkpoint.pt", {V.shift_id(200): 4.0, V.CHORD: 3.0, V.on_id(V.PIANO, 60): 2.0, V.on_id(V.STRINGS, 67): 1.5})
    (d / "params.yaml").write_text("generate:\n  slide_stride: 16\n  cpu_int8: false\n")
    video, _ = speech_video(d / "talk.mp4", [(1.0, "Keep the dialogue, duck the music.")], duration=9.0, cut_at=4.5)
    (d / "out").mkdir()
    mp = pytest.MonkeyPatch()
    mp.setenv("EMSYNC_PARAMS", str(d / "params.yaml"))
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        rc = main(["soundtrack", str(video), "-o", str(d / "out" / "scored.mp4"), "--checkpoint", str(d / "checkpoint.pt"), "-q",
                   "--json", "--seed", "2", "--valence", "0.6", "--arousal", "-0.4", "--report", str(d / "report.html")])  # fmt: skip
    mp.undo()
    assert rc == 0
    return d, json.loads(buf.getvalue())


def test_the_report_renders_plays_and_is_screenshot_in_chromium(report):
    d, s = report
    assert s["outputs"]["report"] == str(d / "report.html") and s["boundaries"] and s["speech"]
    with sync_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-dev-shm-usage"])
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto((d / "report.html").as_uri())
        counts = {c: page.locator(f"svg .{c}").count() for c in ("cut", "boundary", "speech", "chord", "note", "valence", "arousal")}
        page.wait_for_function("document.querySelector('video').readyState >= 1", timeout=30_000)
        duration = page.eval_on_selector("video", "v => v.duration")
        page.eval_on_selector("video", "v => { v.muted = true; return v.play(); }")
        page.wait_for_function("document.querySelector('video').currentTime > 1.0", timeout=30_000)
        played = page.eval_on_selector("video", "v => { v.pause(); return [v.currentTime, v.webkitAudioDecodedByteCount, v.error]; }")
        playhead = float(page.get_attribute("#playhead", "x1"))
        page.screenshot(path=str(d / "report.png"), full_page=True)
        browser.close()
    assert counts == {"cut": len(s["cuts"]), "boundary": len(s["boundaries"]), "speech": len(s["speech"]), "valence": 1, "arousal": 1,
                      "chord": sum(c <= s["duration_s"] for c in s["chord_times"]), "note": s["notes"]}  # fmt: skip
    assert duration == pytest.approx(s["duration_s"], abs=0.1)
    assert played[0] > 1.0 and played[1] > 0 and played[2] is None  # picture and sound decoded, no media error
    assert playhead > 90 + 890 * 0.9 / s["duration_s"]  # the playhead followed the video past 1 s
    from PIL import Image

    shot = np.asarray(Image.open(d / "report.png").convert("RGB"))
    assert shot.shape[0] > 800 and len(np.unique(shot.reshape(-1, 3), axis=0)) > 100  # a page with a picture, not a blank
