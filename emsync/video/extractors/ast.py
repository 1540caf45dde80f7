"""AST features of the whole audio track, the audio side of the genre baseline (thesis §5.2.3.2,
Fig. 5.7: the pretrained Audio Spectrogram Transformer stays frozen, its output layer is replaced
by the trainable audio-MLP).

§5.2.3.2: the full spectrogram is split into 10 s "spectrogram frames" with 50 % overlap (a 5 s
hop); the last one reaches the end of the track, and a track shorter than 10 s is one zero-padded
chunk. Each chunk goes through AST's feature extractor (128 log-mel bins, 1024 frames) and the AST
audio classifier; the kept vector is the activation entering its classification layer (768-d for
the AudioSet checkpoint). Rows are keyed by the chunk's centre time `t`. The thesis does not name a
checkpoint; the default is the AudioSet AST of Gong et al. (2021). A video without an audio stream
is encoded as silence (the classifier masks it), like the other audio extractors."""

import numpy as np

from emsync.video.extractors.base import Handle, frame, penultimate, vectors
from emsync.video.loading import load_pretrained

NAME = "ast"
COLUMNS = ["video_id", "t", "embedding", "model_id", "model_version"]
DEFAULT_MODEL = "MIT/ast-finetuned-audioset-10-10-0.4593"
DEMO_MODEL = "data/demo_models/ast"
DEPENDS = ()
BATCH = 8
CHUNK_S = 10.0  # §5.2.3.2 spectrogram frames
HOP_S = 5.0  # 50 % overlap


def load(model_ref: str, device: str = "cpu") -> Handle:
    return Handle({"ast": load_pretrained(model_ref, "hf_audio_classifier", device)}, device)


def chunk_starts(duration: float) -> np.ndarray:
    """Start times (s) of the 10 s chunks with a 5 s hop covering [0, duration]; at least one."""
    if duration <= CHUNK_S:
        return np.zeros(1)
    n = int(np.ceil((duration - CHUNK_S) / HOP_S)) + 1
    return np.arange(n) * HOP_S


def embed_chunks(handle: Handle, chunks: list, sr: int) -> np.ndarray:
    """Audio chunks (float32 mono at `sr`) -> (n, hidden) features entering the classification layer."""
    m = handle["ast"]
    out = []
    for i in range(0, len(chunks), BATCH):
        inputs = m.processor(chunks[i : i + BATCH], sampling_rate=sr, return_tensors="pt")
        feats, _ = penultimate(m.model, input_values=inputs["input_values"].to(handle.device))  # (B, hidden)
        out.append(feats.cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, m.model.config.hidden_size), np.float32)


def extract(handle: Handle, sample, upstream=None):
    sr = handle["ast"].processor.sampling_rate
    if sample.audio_sr != sr:
        raise ValueError(f"{sample.video_id}: audio sampled at {sample.audio_sr} Hz but AST expects {sr} Hz")
    n = int(round(CHUNK_S * sr))
    audio = sample.audio if sample.audio is not None else np.zeros(0, np.float32)
    duration = max(float(sample.duration), len(audio) / sr)
    starts = chunk_starts(duration)
    chunks = []
    for s in starts:
        c = np.zeros(n, np.float32)
        piece = audio[int(round(s * sr)) : int(round(s * sr)) + n]
        c[: len(piece)] = piece
        chunks.append(c)
    emb = embed_chunks(handle, chunks, sr)
    rows = [
        {
            "video_id": sample.video_id,
            "t": float(s + CHUNK_S / 2),
            "embedding": e,
            "model_id": handle.model_id,
            "model_version": handle.model_version,
        }
        for s, e in zip(starts, vectors(emb))
    ]
    return frame(rows, COLUMNS)
