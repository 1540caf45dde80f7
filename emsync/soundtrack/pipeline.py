"""`make_soundtrack`: the `emsync soundtrack` pipeline as a short story of named steps (see the
package docstring); each step is a function of its own module over the objects the earlier ones made."""

import tempfile
import time
from pathlib import Path

from emsync.soundtrack.analysis import analyse_video
from emsync.soundtrack.audio import mux_music, render_music
from emsync.soundtrack.emotion import choose_emotion
from emsync.soundtrack.music import generate_music
from emsync.soundtrack.request import SoundtrackRequest, check_request
from emsync.soundtrack.steps import STEPS, Steps
from emsync.soundtrack.summary import summarise

__all__ = ["STEPS", "Steps", "make_soundtrack"]


def make_soundtrack(params, req: SoundtrackRequest) -> dict:
    """Score `req.video` and write the scored video to `req.output` (plus the MIDI / WAV / stems when
    asked). Returns the summary dict that `emsync soundtrack --json` prints."""
    t0 = time.perf_counter()
    assets = check_request(params, req)  # every flag, output and file, before any decoding
    steps = Steps(req.progress)
    video = analyse_video(params, req.video, steps)  # the one probe + the cuts: read by every later step
    emotion = choose_emotion(params, req, video, steps)
    music = generate_music(params, req, video, emotion, assets.checkpoint, steps)
    with tempfile.TemporaryDirectory(prefix="emsync-soundtrack-") as tmp:
        rendered = render_music(params, req, video, music, assets.soundfont, Path(tmp), steps)
        muxed = mux_music(params, req, video, rendered, steps)
    seconds = {**steps.seconds, "total": round(time.perf_counter() - t0, 3)}
    return summarise(params, req, video, emotion, music, rendered, muxed, seconds)
