"""The video, analysed once: one probe (ffprobe) and one scene-cut pass, into the `AnalysedVideo`
that every later step of `emsync soundtrack` reads instead of opening the file again (§5.1, §6.2).

    from emsync.soundtrack.analysis import analyse_video
    analyse_video(load_params(), "clip.mp4").boundaries     # [4.4, 8.4]
"""

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

from emsync.soundtrack.steps import Steps
from emsync.video.probe import VideoInfo


@dataclass(frozen=True)
class AnalysedVideo:
    """What the soundtrack steps know of the video. `info.duration` is what plays: the declared
    duration, or less for a truncated file (the music is fitted to what plays)."""

    path: Path
    info: VideoInfo  # the one probe (its duration replaced by what plays)
    declared_duration: float  # seconds the container declares
    cuts: tuple  # every scene cut (s), FFmpeg's scene score > video.scene_threshold
    boundaries: tuple  # the cuts kept by the 4 s filter that lie inside what plays (s)
    speech: tuple | None = None  # ((start_s, end_s), ...) where the video's audio is speech; None: not looked for

    @property
    def duration(self) -> float:
        return self.info.duration

    @property
    def fps(self) -> float:
        return self.info.fps

    @property
    def has_audio(self) -> bool:
        return self.info.has_audio

    @property
    def cuts_in_play(self) -> list:
        """The cuts inside what plays (the DAW MIDI's markers)."""
        return [c for c in self.cuts if c < self.duration]


def probe_video(params, video) -> VideoInfo:
    """The one ffprobe of the run, with the duration limits checked before any decoding."""
    from emsync.core.limits import check_limit
    from emsync.video.probe import probe

    info = probe(video)
    check_limit(f"{video}: video duration", info.duration, params.limits.max_video_duration_s, "limits.max_video_duration_s")
    check_limit(f"{video}: music to generate", info.duration, params.limits.max_generate_duration_s, "limits.max_generate_duration_s")
    return info


def find_cuts(params, video, info: VideoInfo) -> tuple[VideoInfo, list, list]:
    """(info fitted to what plays, cuts, boundaries inside it): §5.1 cuts and the 4 s filter; a
    truncated file (fewer seconds decode than it declares) warns and shortens the duration."""
    from emsync.video.cuts import video_cuts

    vp = params.video
    cuts = video_cuts(video, vp.scene_threshold, vp.min_boundary_gap_s, vp.cut_method, info=info)  # the one probe, passed down
    plays = cuts.get("decoded_duration")
    if plays is not None and plays < info.duration - max(0.5, 2 / info.fps):  # truncated file: fit the music to what plays
        print(
            f"warning: {video}: truncated: declares {info.duration:.2f} s but only {plays:.2f} s decode; "
            f"the music is fitted to {plays:.2f} s",
            file=sys.stderr,
        )
        info = dataclasses.replace(info, duration=plays)
    return info, cuts["cuts"], [b for b in cuts["boundaries"] if b < info.duration]


def analyse_video(params, video, steps: Steps | None = None, speech: bool = False) -> AnalysedVideo:
    """Probe `video` once and find its cuts and boundaries (timed as the `probe` and `cuts` steps)
    and, with `speech`, where its audio is speech (the `speech` step, emsync.soundtrack.speech)."""
    from emsync.soundtrack.speech import video_speech

    steps = steps or Steps()
    with steps("probe", f"probing {video}"):
        info = probe_video(params, video)
    declared = info.duration
    with steps("cuts", f"detecting scene cuts ({info.duration:.1f} s video)"):
        info, cuts, boundaries = find_cuts(params, video, info)
    found = None
    if speech:
        with steps("speech", "detecting speech in the video's audio (Silero VAD)"):
            found = tuple(video_speech(params, video, info))
    return AnalysedVideo(Path(video), info, declared, tuple(cuts), tuple(boundaries), found)
