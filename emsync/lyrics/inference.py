"""Lyric emotion probabilities for a batch of texts (§3.2.2): the whole song's lyrics, truncated
at the model's 512 tokens as in the thesis; that a text was truncated is recorded."""

import numpy as np
import torch

from emsync.models.lyrics_classifier import probabilities


def predict(model, tokenizer, texts: list, batch_size: int = 16, max_length: int = 512) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (N, L) float32, token counts before truncation (N,) int). Texts are sorted by
    length into batches so little padding is computed; the output is in input order."""
    max_length = min(max_length, model.config.max_position_embeddings)
    n_tokens = np.array([len(tokenizer(t, add_special_tokens=True)["input_ids"]) for t in texts], np.int64)
    order = np.argsort(-n_tokens, kind="stable")
    out = np.zeros((len(texts), model.config.num_labels), np.float32)
    device = next(model.parameters()).device
    model.eval()
    with torch.inference_mode():
        for i in range(0, len(texts), batch_size):
            idx = order[i : i + batch_size]
            enc = tokenizer([texts[j] for j in idx], padding=True, truncation=True, max_length=max_length, return_tensors="pt")
            p = probabilities(model, enc["input_ids"].to(device), enc["attention_mask"].to(device))  # (B, L)
            out[idx] = p.float().cpu().numpy()
    return out, n_tokens
