"""Where the video's own sound is speech: Silero VAD (the `silero-vad` wheel ships its ONNX models,
MIT licence; no download), run on the video's audio at 16 kHz (beyond the thesis: the thesis's
pipeline replaces the video's sound, emsync keeps its dialogue and ducks the music under it).

    from emsync.soundtrack.speech import detect_speech
    detect_speech(audio_16k_mono, threshold=0.5)     # [(0.3, 1.5), (2.7, 5.8)] seconds

The sequence model (`silero_vad_16k_sequence.onnx`) computes the same per-frame probabilities as
the streaming one in a few block calls (0.7 s for a minute of audio on one core instead of ~5 s);
`get_speech_timestamps_sequence` turns them into segments with Silero's own state machine.
"""

import functools

import numpy as np

VAD_SR = 16000  # the model's sample rate


@functools.lru_cache(maxsize=1)
def load_vad():
    """The packaged Silero VAD sequence model (loaded once per process)."""
    import torch

    threads = torch.get_num_threads()
    try:
        from silero_vad import load_silero_vad  # its import sets torch to one thread: set back below
    finally:
        torch.set_num_threads(threads)
    return load_silero_vad(sequence=True)


def detect_speech(audio, threshold: float = 0.5, min_speech_s: float = 0.25, min_silence_s: float = 0.3, pad_s: float = 0.03) -> list:
    """Speech segments [(start_s, end_s), ...] of mono float audio at 16 kHz: frames whose speech
    probability passes `threshold`, segments shorter than `min_speech_s` dropped, gaps shorter
    than `min_silence_s` bridged, each padded by `pad_s` on both sides."""
    from silero_vad.sequence_vad import get_speech_timestamps_sequence

    audio = np.ascontiguousarray(audio, dtype=np.float32).reshape(-1)
    if audio.size < 512:  # less than one 32 ms frame
        return []
    ts = get_speech_timestamps_sequence(
        audio,
        load_vad(),
        threshold=threshold,
        sampling_rate=VAD_SR,
        min_speech_duration_ms=int(round(min_speech_s * 1000)),
        min_silence_duration_ms=int(round(min_silence_s * 1000)),
        speech_pad_ms=int(round(pad_s * 1000)),
    )
    return [(round(t["start"] / VAD_SR, 3), round(t["end"] / VAD_SR, 3)) for t in ts]


def video_speech(params, video, info) -> list:
    """Speech segments of the video's audio track ([] without one), by the soundtrack params."""
    from emsync.video.sampling import read_audio

    if not info.has_audio:
        return []
    audio = read_audio(video, VAD_SR, info)
    if audio is None:
        return []
    sp = params.soundtrack
    segs = detect_speech(audio, sp.vad_threshold, sp.vad_min_speech_s, sp.vad_min_silence_s)
    return [(a, min(b, info.duration)) for a, b in segs if a < info.duration]
