"""BEATs embeddings on 3 s chunks centred on the sampled frames (thesis §5.2.1 "BEATs", the audio
model of the video emotion classifier; §5.2.2.1: n audio chunks match the n video frames).

Each chunk goes through BEATs (models/beats.py); the kept vector is the encoder output averaged
over its patches: the activations entering the AudioSet classification layer (768-d for the
official checkpoints). The model is a folder with one official checkpoint file, e.g.
`data/pretrained/beats/BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt` (microsoft/unilm). A
video without an audio stream is encoded as silence, keeping n rows per video."""

import numpy as np

from emsync.core.errors import InputError
from emsync.video.extractors.base import Handle, frame, vectors
from emsync.video.loading import load_pretrained

NAME = "beats"
COLUMNS = ["video_id", "t", "embedding", "model_id", "model_version"]
DEFAULT_MODEL = "data/pretrained/beats"  # one official BEATs .pt (no hub id serves it)
DEMO_MODEL = "data/demo_models/beats"
DEPENDS = ()
BATCH = 8
SAMPLE_RATE = 16000


def load_beats_dir(path, device):
    """A folder holding one official BEATs checkpoint (`{"cfg", "model"}` .pt, microsoft/unilm) -> (model, None)."""
    from emsync.models.beats import load_beats

    pts = sorted(path.glob("*.pt"))
    if len(pts) != 1:
        raise InputError(
            f"{path} must hold exactly one BEATs checkpoint *.pt (found {len(pts)}), e.g. BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt"
        )
    with open(pts[0], "rb") as f:
        return load_beats(f, map_location=device).to(device), None


def load(model_ref: str, device: str = "cpu") -> Handle:
    return Handle({"beats": load_pretrained(model_ref, "beats", device, loader=load_beats_dir)}, device)


def embed_chunks(handle: Handle, chunks: np.ndarray) -> np.ndarray:
    """(n, samples) float32 at 16 kHz -> (n, encoder_embed_dim) patch-averaged features."""
    import torch

    model = handle["beats"].model
    out = []
    for i in range(0, len(chunks), BATCH):
        x = torch.from_numpy(np.ascontiguousarray(chunks[i : i + BATCH], dtype=np.float32)).to(handle.device)  # (B, S)
        with torch.inference_mode():
            feats, _ = model(x)  # (B, N, D)
        out.append(feats.mean(dim=1).float().cpu().numpy())  # (B, D)
    return np.concatenate(out) if out else np.zeros((0, model.cfg.encoder_embed_dim), np.float32)


def extract(handle: Handle, sample, upstream=None):
    if sample.audio_sr != SAMPLE_RATE:
        raise ValueError(f"{sample.video_id}: audio sampled at {sample.audio_sr} Hz but BEATs expects {SAMPLE_RATE} Hz")
    seconds = 3.0  # §5.2.2.1 audio chunks (as the audio tagger's)
    chunks = (
        np.stack([sample.audio_chunk(t, seconds) for t in sample.frame_times]) if len(sample.frame_times) else np.zeros((0, 1), np.float32)
    )
    emb = embed_chunks(handle, chunks)
    rows = [
        {"video_id": sample.video_id, "t": float(t), "embedding": e, "model_id": handle.model_id, "model_version": handle.model_version}
        for t, e in zip(sample.frame_times, vectors(emb))
    ]
    return frame(rows, COLUMNS)
