"""A model-free extractor with the registry's interface, for flow tests: per sampled frame, the
mean R, G, B and the RMS of the 3 s audio chunk centred on it (deterministic, fast)."""

import numpy as np
import pandas as pd

NAME = "stats"
COLUMNS = ["video_id", "t", "embedding", "model_id", "model_version"]
DEFAULT_MODEL = ""


def load(model_ref: str, device: str):
    return {"ref": model_ref}


def extract(handle, sample) -> pd.DataFrame:
    rows = []
    for t, frame in zip(sample.frame_times, sample.frames):
        chunk = sample.audio_chunk(float(t), 3.0)
        rms = float(np.sqrt(np.mean(chunk.astype(np.float64) ** 2))) if len(chunk) else 0.0
        emb = np.r_[frame.reshape(-1, 3).mean(0) / 255.0, rms].astype(np.float32)
        rows.append({"video_id": sample.video_id, "t": float(t), "embedding": emb.tolist(), "model_id": "stats", "model_version": "1"})
    return pd.DataFrame(rows, columns=COLUMNS)
