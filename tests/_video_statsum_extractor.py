"""A test extractor that reads another extractor's table (DEPENDS), like the text models read
asr/ocr: one row per video summarising its `stats` rows. It is handed no frames and no audio."""

import numpy as np
import pandas as pd

NAME = "statsum"
COLUMNS = ["video_id", "n_rows", "embedding", "model_id", "model_version"]
DEFAULT_MODEL = ""
DEPENDS = ("stats",)


def load(model_ref: str, device: str):
    return None


def extract(handle, sample, upstream=None) -> pd.DataFrame:
    assert sample.frames.shape[0] == 0 and sample.audio is None, "text-only extractors decode nothing"
    stats = upstream["stats"]
    mean = np.mean(np.stack(stats["embedding"].map(np.asarray).tolist()), axis=0).astype(np.float32)
    return pd.DataFrame([{"video_id": sample.video_id, "n_rows": len(stats), "embedding": mean.tolist(), "model_id": "statsum",
                          "model_version": "1"}], columns=COLUMNS)  # fmt: skip
