"""Music-tagger embeddings on consecutive 22 s chunks of the whole audio (thesis §5.2.1 "Music":
50 tags, 64-d activations; used for genre, §5.2.3.1, Fig. 5.3). The last chunk is zero-padded;
a video shorter than 22 s gives one chunk; no audio stream gives one chunk of silence."""

import math

import numpy as np

from emsync.video.extractors import audio
from emsync.video.extractors.base import Handle, frame, vectors
from emsync.video.loading import load_pretrained

NAME = "music"
COLUMNS = ["video_id", "chunk", "t", "embedding", "top_tag", "model_id", "model_version"]
# Choi et al. (2016)-style music tagger converted to models/audio_tagger.py's layout (no hub id).
DEFAULT_MODEL = "data/pretrained/music_tagger"
DEMO_MODEL = "data/demo_models/music"
DEPENDS = ()


def load(model_ref: str, device: str = "cpu") -> Handle:
    return Handle({"tagger": load_pretrained(model_ref, "audio_tagger", device, loader=audio.load_tagger_dir)}, device)


def chunk_centres(duration: float, seconds: float) -> np.ndarray:
    n = max(1, math.ceil(max(duration, 0.0) / seconds - 1e-9))
    return (np.arange(n) + 0.5) * seconds  # (n,)


def extract(handle: Handle, sample, upstream=None):
    audio.check_rate(handle, sample)
    cfg = handle["tagger"].model.config
    centres = chunk_centres(sample.duration, cfg.chunk_s)
    emb, probs = audio.embed_chunks(handle, np.stack([sample.audio_chunk(t, cfg.chunk_s) for t in centres]))
    labels = cfg.labels or [str(i) for i in range(cfg.n_classes)]
    rows = [
        {
            "video_id": sample.video_id,
            "chunk": i,
            "t": float(t),
            "embedding": e,
            "top_tag": labels[int(np.argmax(p))],
            "model_id": handle.model_id,
            "model_version": handle.model_version,
        }
        for i, (t, e, p) in enumerate(zip(centres, vectors(emb), probs))
    ]
    return frame(rows, COLUMNS)
