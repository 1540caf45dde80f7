"""CLIP image embeddings per sampled frame (thesis §5.2.1 "CLIP": resize the shorter side to the
model's input size, centre crop, encode each frame into a 512-d vector; Fig. 5.1, Fig. 5.3)."""

import numpy as np

from emsync.video.extractors.base import Handle, frame, vectors
from emsync.video.loading import load_pretrained

NAME = "clip"
COLUMNS = ["video_id", "t", "embedding", "model_id", "model_version"]
# §5.2.1: OpenAI's CLIP ViT-B/32 (512-d), open_clip's `openai` tag (QuickGELU, OpenAI's own weights)
DEFAULT_MODEL = "open_clip:ViT-B-32/openai"
DEMO_MODEL = "data/demo_models/clip"
DEPENDS = ()
BATCH = 32


def load(model_ref: str, device: str = "cpu") -> Handle:
    return Handle({"clip": load_pretrained(model_ref, "open_clip", device)}, device)


def embed_frames(handle: Handle, frames: np.ndarray) -> np.ndarray:
    """(n, H, W, 3) uint8 RGB -> (n, embed_dim) float32 image embeddings (not normalised)."""
    import torch
    from PIL import Image

    m = handle["clip"]
    out = []
    for i in range(0, len(frames), BATCH):
        batch = torch.stack([m.processor(Image.fromarray(f)) for f in frames[i : i + BATCH]]).to(handle.device)  # (B, 3, S, S)
        with torch.inference_mode():
            out.append(m.model.encode_image(batch).float().cpu().numpy())  # (B, D)
    return np.concatenate(out) if out else np.zeros((0, m.model.visual.output_dim), np.float32)


def extract(handle: Handle, sample, upstream=None):
    emb = embed_frames(handle, sample.frames)
    rows = [
        {"video_id": sample.video_id, "t": float(t), "embedding": e, "model_id": handle.model_id, "model_version": handle.model_version}
        for t, e in zip(sample.frame_times, vectors(emb))
    ]
    return frame(rows, COLUMNS)
