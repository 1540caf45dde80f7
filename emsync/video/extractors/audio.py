"""Audio-tagger embeddings on 3 s chunks centred on the sampled frames (thesis §5.2.1 "Audiotag";
§5.2.2.1: n audio chunks match the n video frames).

This is the AudioSet tagger of the thesis's genre pipeline (PANNs-style CNN, 527 labels, 128-d
activations before the classification layer). The thesis's emotion classifier uses BEATs instead:
the `beats` extractor, which the thesis set runs; the demo set keeps this small tagger. A video without an audio
stream is encoded as silence (all-zero chunks), keeping n rows per video."""

import numpy as np

from emsync.core.errors import InputError
from emsync.video.extractors.base import Handle, frame, vectors
from emsync.video.loading import load_pretrained

NAME = "audio"
COLUMNS = ["video_id", "t", "embedding", "model_id", "model_version"]
# No hub id serves PANNs in this layout: convert Cnn14 (Kong et al. 2020) into a local folder
# (config.json + model.safetensors, models/audio_tagger.py) and point features.models.audio at it.
DEFAULT_MODEL = "data/pretrained/panns_audiotag"
DEMO_MODEL = "data/demo_models/audio"
DEPENDS = ()
BATCH = 16


def load_tagger_dir(path, device):
    """A local audio-tagger folder (config.json + weights, models/audio_tagger.py) -> (model, None)."""
    from emsync.models.audio_tagger import AudioTagger

    if not (path / "config.json").exists():
        raise InputError(f"{path} has no config.json (not an audio tagger folder)")
    return AudioTagger.from_pretrained(path, device=device), None


def load(model_ref: str, device: str = "cpu") -> Handle:
    return Handle({"tagger": load_pretrained(model_ref, "audio_tagger", device, loader=load_tagger_dir)}, device)


def embed_chunks(handle: Handle, chunks: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(n, samples) float32 at the model's rate -> (embeddings (n, d_embed), tag probs (n, n_classes))."""
    import torch

    model = handle["tagger"].model
    embs, probs = [], []
    for i in range(0, len(chunks), BATCH):
        x = torch.from_numpy(np.ascontiguousarray(chunks[i : i + BATCH])).to(handle.device)  # (B, S)
        with torch.inference_mode():
            e, p = model(x)  # (B, d_embed), (B, n_classes)
        embs.append(e.cpu().numpy())
        probs.append(p.cpu().numpy())
    if not embs:
        return np.zeros((0, model.config.d_embed), np.float32), np.zeros((0, model.config.n_classes), np.float32)
    return np.concatenate(embs), np.concatenate(probs)


def check_rate(handle: Handle, sample):
    sr = handle["tagger"].model.config.sample_rate
    if sample.audio_sr != sr:
        raise ValueError(f"{sample.video_id}: audio sampled at {sample.audio_sr} Hz but the tagger expects {sr} Hz")


def extract(handle: Handle, sample, upstream=None):
    check_rate(handle, sample)
    seconds = handle["tagger"].model.config.chunk_s
    chunks = (
        np.stack([sample.audio_chunk(t, seconds) for t in sample.frame_times]) if len(sample.frame_times) else np.zeros((0, 1), np.float32)
    )
    emb, _ = embed_chunks(handle, chunks)
    rows = [
        {"video_id": sample.video_id, "t": float(t), "embedding": e, "model_id": handle.model_id, "model_version": handle.model_version}
        for t, e in zip(sample.frame_times, vectors(emb))
    ]
    return frame(rows, COLUMNS)
