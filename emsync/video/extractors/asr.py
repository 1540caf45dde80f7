"""Speech recognition with translation to English (thesis §5.2.1 "ASR"; §5.2.2.1: one block of
text from the entire audio, translated to English when the speech is not English).

faster-whisper (CTranslate2) runs Whisper with task="translate"; one row per video. A video
without an audio stream gives one row with empty text and language None."""

from emsync.core import provenance
from emsync.video.extractors.base import Handle, frame
from emsync.video.loading import load_pretrained

NAME = "asr"
COLUMNS = ["video_id", "text", "language", "language_prob", "n_segments", "model_id", "model_version"]
DEFAULT_MODEL = "Systran/faster-whisper-large-v2"  # "the larger variant" (§5.2.1)
DEMO_MODEL = "data/demo_models/whisper"
DEPENDS = ()
# Whisper's own decoding limit per 30 s window is n_text_ctx // 2 = 224 sampled tokens.
OPTIONS = {"task": "translate", "beam_size": 5, "max_new_tokens": 224, "condition_on_previous_text": False}


# Random weights (the demo_models stage) decode noise: greedy and short, not 224 tokens with beam 5
# at each of Whisper's six fallback temperatures (48 s of the demo repro's features stage).
RANDOM_WEIGHTS_OPTIONS = {"beam_size": 1, "temperature": 0.0, "max_new_tokens": 8}


def load(model_ref: str, device: str = "cpu") -> Handle:
    options = dict(OPTIONS)
    if provenance.of_model_ref(model_ref, NAME).kind == "random":
        options.update(RANDOM_WEIGHTS_OPTIONS)
    return Handle({"whisper": load_pretrained(model_ref, "whisper", device)}, device, options)


def extract(handle: Handle, sample, upstream=None):
    text, lang, prob, n = "", None, None, 0
    if sample.audio is not None and len(sample.audio) > 0:
        if sample.audio_sr != 16000:
            raise ValueError(f"{sample.video_id}: Whisper needs 16 kHz audio, got {sample.audio_sr} Hz")
        segments, info = handle["whisper"].model.transcribe(sample.audio, **handle.options)
        parts = [s.text.strip() for s in segments]  # decoding happens while iterating
        text, n = " ".join(p for p in parts if p), len(parts)
        lang, prob = info.language, float(info.language_probability)
    row = {
        "video_id": sample.video_id,
        "text": text,
        "language": lang,
        "language_prob": prob,
        "n_segments": n,
        "model_id": handle.model_id,
        "model_version": handle.model_version,
    }
    return frame([row], COLUMNS)
