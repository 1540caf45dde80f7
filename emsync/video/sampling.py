"""Frame and audio sampling for the pretrained-feature extractors (§5.2.2.1, §5.2.3.1).

- fps (the default of both sets): one frame per second over the whole video (§5.2.2.3 "we initially
  extract video frames at 1 frame per second"), capped at n_frames (evenly thinned beyond), plus
  the entire audio resampled to 16 kHz mono, cut into 3 s chunks centred on the frames. The
  emotion classifier picks its n = 16 steps from these tables, at random positions in every
  training step and equidistant ones at test (§5.2.2.3); the genre models read them whole ("all
  video scenes and the full audio track", §5.2.3.4), truncated only in training (§5.2.3.3);
- equidistant / random: exactly n frames (the centres of n equal segments / n seeded uniform draws):
  what `emsync emotion` samples at inference (§5.2.2.3: equidistant at test and inference);
- mid_scene: one frame in the middle of every scene (capped at n_frames).
The music tagger reads consecutive 22 s chunks of the whole track in every mode.

Decoding is streamed (PyAV): frames are visited in time order, seeking over gaps longer than
`SEEK_GAP_S`, and only the sampled frames are kept, downscaled so their longer side is at most
`max_side`. Memory is therefore n_frames x max_side^2 x 3 bytes for the frames, independent of the
video's length and resolution; the audio (16 kHz float32: 3.84 MB per minute) is the only part that
grows with length.

    python -c "from emsync.video.sampling import sample_video; print(sample_video('clip.mp4', 16))"
"""

import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from emsync.core.errors import InputError
from emsync.video.probe import VideoInfo, probe, require_tool

MODES = ("fps", "equidistant", "random", "mid_scene")
SEEK_GAP_S = 2.0  # seek (instead of decoding through) when the next sample is this far ahead


@dataclass
class VideoSample:
    """The shared input of every extractor: sampled frames + the whole mono audio of one video."""

    video_id: str
    path: str
    duration: float  # seconds
    fps: float
    frame_times: np.ndarray  # (n,) seconds of the sampled frames
    frames: np.ndarray  # (n, H, W, 3) uint8 RGB
    audio: np.ndarray | None  # (samples,) float32 mono at audio_sr; None when the video has no audio stream
    audio_sr: int = 16000

    def audio_chunk(self, t: float, seconds: float) -> np.ndarray:
        """`seconds` of audio centred at `t`, zero-padded past either end (all zeros without audio)."""
        n = int(round(seconds * self.audio_sr))
        out = np.zeros(n, dtype=np.float32)  # (n,)
        if self.audio is None or n == 0:
            return out
        start = int(round((t - seconds / 2) * self.audio_sr))
        lo, hi = max(start, 0), min(start + n, len(self.audio))
        if hi > lo:
            out[lo - start : hi - start] = self.audio[lo:hi]
        return out

    def audio_chunks(self, seconds: float) -> np.ndarray:
        """One chunk per sampled frame: (n, seconds * audio_sr) float32 (§5.2.2.1: n chunks match n frames)."""
        n = int(round(seconds * self.audio_sr))
        return np.stack([self.audio_chunk(t, seconds) for t in self.frame_times]) if len(self.frame_times) else np.zeros((0, n), np.float32)


def _thin(t: np.ndarray, n_frames: int | None) -> np.ndarray:
    """At most n_frames of the sorted times `t`, evenly spread (first and last kept)."""
    if n_frames and len(t) > n_frames:
        return t[np.linspace(0, len(t) - 1, n_frames).round().astype(int)]
    return t


def sample_times(
    duration: float, n_frames: int | None, mode: str = "equidistant", seed: int = 0, boundaries=None, fps: float = 1.0
) -> np.ndarray:
    """Where to take frames, in seconds, sorted.

    fps: the centre of every 1/fps-second slot ((k + 0.5) / fps; at least one frame), capped at
    n_frames when given (evenly thinned); equidistant: the centres of n equal segments (never the
    very first/last frame, which are often black); random: n uniform draws, seeded; mid_scene: the
    middle of every scene between consecutive `boundaries` (scene cuts), capped at n_frames."""
    if mode not in MODES:
        raise InputError(f"unknown sampling mode {mode!r} (choose from {', '.join(MODES)})")
    if duration <= 0 or n_frames == 0:
        return np.zeros(0)
    if mode == "fps":
        if not fps > 0:
            raise InputError(f"frames per second must be positive, not {fps}")
        n = int(duration * fps + 1e-9)  # whole 1/fps slots; a video shorter than one slot: its middle
        return _thin((np.arange(n) + 0.5) / fps, n_frames) if n else np.array([duration / 2])
    if mode == "equidistant":
        return (np.arange(n_frames) + 0.5) * duration / n_frames
    if mode == "random":
        return np.sort(np.random.default_rng(seed).uniform(0.0, duration, size=n_frames))
    edges = np.unique(np.clip(np.r_[0.0, np.asarray(boundaries if boundaries is not None else [], float), duration], 0, duration))
    return _thin((edges[:-1] + edges[1:]) / 2, n_frames)


def _target_size(w: int, h: int, max_side: int | None) -> tuple[int, int]:
    scale = min(1.0, max_side / max(w, h)) if max_side else 1.0
    # even sizes keep swscale's chroma handling exact; at least 2 px
    return max(2, int(round(w * scale / 2)) * 2), max(2, int(round(h * scale / 2)) * 2)


def read_frames(path, times, max_side: int | None = 768, tag_rotation: int = 0):
    """For each time (sorted seconds), the first decoded frame at or after it (the last frame for
    times within two frames past the end; InputError "truncated" for times further past it). Returns (frame_times (k,), frames (k, H, W, 3) uint8 RGB, display-rotated:
    by the display matrix, else by `tag_rotation`, a rotate tag's degrees that decoders ignore).
    Streams with PyAV; never holds more than the returned frames."""
    import av

    times = np.asarray(times, float)
    if len(times) == 0:  # text-only extractors need no pictures
        return np.zeros(0), np.zeros((0, 0, 0, 3), np.uint8)
    try:
        container = av.open(str(path))
    except (av.FFmpegError, OSError) as e:
        raise InputError(f"{path}: cannot open video ({e})") from e
    got_t, got = [], []
    try:
        if not container.streams.video:
            raise InputError(f"{path}: no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        size = None  # (W, H) before rotation, fixed by the first frame so every frame has one shape
        i, last, pos = 0, None, -np.inf  # next wanted index, last decoded frame, its time
        while i < len(times):
            if times[i] - pos > SEEK_GAP_S:
                # jump to the keyframe before the wanted time instead of decoding the gap
                container.seek(int(max(times[i] - 0.5, 0) / stream.time_base), stream=stream, backward=True, any_frame=False)
            at_end = True
            try:
                for frame in container.decode(stream):
                    if frame.pts is None:
                        continue
                    ft = float((frame.pts - (stream.start_time or 0)) * stream.time_base)
                    last, pos = frame, ft
                    served = False
                    while i < len(times) and ft + 1e-6 >= times[i]:  # this frame serves every time it reached
                        size = size or _target_size(frame.width, frame.height, max_side)
                        got_t.append(ft)
                        got.append(_to_rgb(frame, size, tag_rotation))
                        i += 1
                        served = True
                    # seek again only after serving a frame (a seek lands on an earlier keyframe)
                    if i >= len(times) or (served and times[i] - pos > SEEK_GAP_S):
                        at_end = False
                        break
            except av.FFmpegError:  # corrupt/truncated data: keep what decoded so far
                pass
            if at_end:
                # no more frames: the remaining times lie past the decodable end. Within two frames
                # of it (the last frame's own span) the last frame serves; further on the file is
                # truncated, and repeating its last picture would be silent made-up input.
                if last is not None and i < len(times):
                    span = 2 * float(last.duration * stream.time_base) if last.duration else 2 / float(stream.average_rate or 25)
                    if times[-1] - pos > span:
                        raise InputError(
                            f"{path}: truncated: frames decode only to {pos:.2f} s, "
                            f"{len(times) - i} sampled positions up to {times[-1]:.2f} s lie past it"
                        )
                    size = size or _target_size(last.width, last.height, max_side)
                    rgb = _to_rgb(last, size, tag_rotation)
                    got_t += [pos] * (len(times) - i)
                    got += [rgb] * (len(times) - i)
                break
    finally:
        container.close()
    if not got:
        raise InputError(f"{path}: no decodable video frames")
    return np.asarray(got_t), np.stack(got)


def _to_rgb(frame, size, tag_rotation: int = 0) -> np.ndarray:
    rgb = frame.reformat(width=size[0], height=size[1], format="rgb24", interpolation="AREA").to_ndarray()  # (H, W, 3)
    deg = int(getattr(frame, "rotation", 0) or 0) or tag_rotation
    k = (deg // 90) % 4  # counter-clockwise display rotation, as ffmpeg applies it
    return np.ascontiguousarray(np.rot90(rgb, k)) if k else rgb


def read_audio(path, sr: int = 16000, info: VideoInfo | None = None) -> np.ndarray | None:
    """The whole audio track as float32 mono at `sr` (ffmpeg resampling, streamed through a pipe);
    None when the file has no audio stream."""
    info = info or probe(path)
    if not info.has_audio:
        return None
    cmd = [
        require_tool("ffmpeg"),
        "-nostdin",
        "-v",
        "error",
        "-i",
        str(path),
        "-map",
        "0:a:0",
        "-vn",
        "-ac",
        "1",
        "-ar",
        str(sr),
        "-f",
        "f32le",
        "-",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    # read straight into one preallocated array (sized from the duration, grown if needed): the
    # peak is the audio itself, not a list of pipe blocks plus their concatenation
    out = np.empty(int(info.duration * sr) + sr, dtype=np.float32)  # (samples,)
    nbytes = 0
    while True:
        view = memoryview(out).cast("B")
        if nbytes == len(view):
            out = np.resize(out, len(out) + 10 * sr)
            continue
        n = proc.stdout.readinto(view[nbytes : nbytes + (1 << 20)])
        if not n:
            break
        nbytes += n
    err = proc.stderr.read().decode(errors="replace").strip()
    proc.wait()
    if proc.returncode != 0 and nbytes < 4:
        raise InputError(f"{path}: cannot decode the audio track ({err.splitlines()[-1] if err else 'ffmpeg failed'})")
    return out[: nbytes // 4].copy() if nbytes // 4 < len(out) // 2 else out[: nbytes // 4]


def sample_video(
    path,
    n_frames: int | None = 16,
    mode: str = "equidistant",
    fps: float = 1.0,
    seed: int = 0,
    audio_sr: int = 16000,
    boundaries=None,
    video_id: str | None = None,
    max_side: int | None = 768,
    with_audio: bool = True,
    info: VideoInfo | None = None,
) -> VideoSample:
    """Sample one video for the extractors: frames by `mode` (`n_frames` of them, or at most that
    many at `fps` per second) plus its 16 kHz mono audio.

    mid_scene needs the scene cuts; when `boundaries` is None they are detected here (§5.1).
    `info`: the video's probe when the caller already has it."""
    path = Path(path)
    info = info or probe(path)
    if mode == "mid_scene" and boundaries is None:
        from emsync.video.cuts import detect_cuts

        boundaries = detect_cuts(path, info=info)
    times = sample_times(info.duration, n_frames, mode, seed, boundaries, fps)
    tag = info.rotation if info.rotation_tag_only else 0
    frame_times, frames = read_frames(path, times, max_side=max_side, tag_rotation=tag)
    audio = read_audio(path, audio_sr, info) if with_audio else None
    return VideoSample(
        video_id=video_id or path.stem,
        path=str(path),
        duration=info.duration,
        fps=info.fps,
        frame_times=frame_times,
        frames=frames,
        audio=audio,
        audio_sr=audio_sr,
    )
