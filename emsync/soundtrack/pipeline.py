"""`make_soundtrack`: the `emsync soundtrack` pipeline as a short story of named steps (see the
package docstring); each step is a function of its own module over the objects the earlier ones made."""

import time
from pathlib import Path

from emsync.core.io import temp_dir
from emsync.soundtrack.analysis import analyse_video
from emsync.soundtrack.audio import dialogue_mode, mux_music, render_music
from emsync.soundtrack.emotion import choose_emotion
from emsync.soundtrack.music import generate_music
from emsync.soundtrack.report import write_report
from emsync.soundtrack.request import SoundtrackRequest, check_request
from emsync.soundtrack.rescore import kept_emotion, plan_keep
from emsync.soundtrack.steps import STEPS, Steps
from emsync.soundtrack.summary import summarise

__all__ = ["STEPS", "Steps", "make_soundtrack"]


def make_soundtrack(params, req: SoundtrackRequest) -> dict:
    """Score `req.video` and write the scored video to `req.output` (plus the MIDI / WAV / stems /
    HTML report when asked). Returns the summary dict that `emsync soundtrack --json` prints."""
    t0 = time.perf_counter()
    assets = check_request(params, req)  # every flag, output and file, before any decoding
    steps = Steps(req.progress)
    speech = dialogue_mode(params, req) != "off"  # look for speech unless the dialogue is switched off
    video = analyse_video(params, req.video, steps, speech=speech)  # the one probe, cuts, speech: read by every later step
    prev = assets.previous  # with --keep: the previous run's emotion, seed and tokens up to the first change
    emotion = kept_emotion(prev) if prev else choose_emotion(params, req, video, steps)
    keep = plan_keep(params, prev, video) if prev else None
    music = generate_music(params, req, video, emotion, assets.checkpoint, steps, keep)
    with temp_dir("emsync-soundtrack-") as tmp:
        rendered = render_music(params, req, video, music, assets.soundfont, Path(tmp), steps)
        muxed = mux_music(params, req, video, rendered, steps)
    seconds = {**steps.seconds, "total": round(time.perf_counter() - t0, 3)}
    summary = summarise(params, req, video, emotion, music, rendered, muxed, seconds, keep)
    if req.report is not None:
        write_report(req.report, summary, music.decoded)
    return summary
