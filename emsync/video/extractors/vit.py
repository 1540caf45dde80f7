"""ViT image features per sampled frame, the image side of the genre baseline (thesis §5.2.3.2,
Fig. 5.7: the pretrained ViT stays frozen, its output layer is replaced by the trainable image-MLP).

Each frame goes through the image processor (resize to the model's input, normalise) and the ViT
image classifier; the kept vector is the activation entering its classification layer (the
layer-normed <CLS> output, 768-d for ViT-B/16). The thesis does not name a checkpoint; the default
is Google's ViT-B/16 (ImageNet-21k pre-training, ImageNet-1k fine-tuning, 224 px)."""

import numpy as np

from emsync.video.extractors.base import Handle, frame, penultimate, vectors
from emsync.video.loading import load_pretrained

NAME = "vit"
COLUMNS = ["video_id", "t", "embedding", "model_id", "model_version"]
DEFAULT_MODEL = "google/vit-base-patch16-224"
DEMO_MODEL = "data/demo_models/vit"
DEPENDS = ()
BATCH = 16


def load(model_ref: str, device: str = "cpu") -> Handle:
    return Handle({"vit": load_pretrained(model_ref, "hf_image_classifier", device)}, device)


def embed_frames(handle: Handle, frames: np.ndarray) -> np.ndarray:
    """(n, H, W, 3) uint8 RGB -> (n, hidden) float32 features entering the classification layer."""
    m = handle["vit"]
    out = []
    for i in range(0, len(frames), BATCH):
        inputs = m.processor(images=list(frames[i : i + BATCH]), return_tensors="pt")
        feats, _ = penultimate(m.model, pixel_values=inputs["pixel_values"].to(handle.device))  # (B, hidden)
        out.append(feats.cpu().numpy())
    return np.concatenate(out) if out else np.zeros((0, m.model.config.hidden_size), np.float32)


def extract(handle: Handle, sample, upstream=None):
    emb = embed_frames(handle, sample.frames)
    rows = [
        {"video_id": sample.video_id, "t": float(t), "embedding": e, "model_id": handle.model_id, "model_version": handle.model_version}
        for t, e in zip(sample.frame_times, vectors(emb))
    ]
    return frame(rows, COLUMNS)
