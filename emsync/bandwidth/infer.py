"""Applying a bandwidth-extension network to audio of any length (§7.4.2), and the SNR (eq. 7.1).

The thesis cut songs into non-overlapping chunks; here each chunk is run with `model.halo()`
samples of real context on both sides (windows aligned to the model's length multiple), so chunked
output EQUALS one forward pass over the whole song (tested) while memory stays flat:

    for y in enhance_blocks(model, iter_blocks("in.wav")): ...   # streamed, (2, n) blocks out
    y = enhance(model, x)                                          # (2, n) -> (2, n)
    snr(reference, estimate)                                       # dB, stereo signals as they are
"""

from __future__ import annotations

import numpy as np
import torch


def snr(x: np.ndarray, x_hat: np.ndarray) -> float:
    """Eq. 7.1: 10 log10(||x||^2 / ||x - x_hat||^2) over all channels and samples."""
    x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
    return float(10 * np.log10(np.sum(x**2) / max(np.sum((x - x_hat) ** 2), 1e-30)))


class SnrAccumulator:
    """Eq. 7.1 over a song fed in blocks: the sums, not a mean of per-block SNRs."""

    def __init__(self):
        self.signal = self.error = 0.0

    def add(self, x, x_hat):
        x, x_hat = np.asarray(x, np.float64), np.asarray(x_hat, np.float64)
        self.signal += float(np.sum(x**2))
        self.error += float(np.sum((x - x_hat) ** 2))

    def value(self) -> float:
        return float(10 * np.log10(self.signal / max(self.error, 1e-30))) if self.signal > 0 else float("nan")


def _device(model):
    p = next(model.parameters(), None)
    return p.device if p is not None else torch.device("cpu")


@torch.no_grad()
def _run(model, x: np.ndarray) -> np.ndarray:
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None].to(_device(model))  # (1, 2, n)
    return model(t)[0].float().cpu().numpy()


def enhance_blocks(model, blocks, chunk: int = 1 << 17):
    """Model output for a stream of (2, n) blocks, yielded in blocks of `chunk` samples (the last
    shorter). The model must be in eval mode and have `halo()` and `cfg.length_multiple`."""
    m = getattr(model.cfg, "length_multiple", 1)
    h = -(-model.halo() // m) * m
    chunk = max(m, -(-chunk // m) * m)
    buf, buf0, pos = np.zeros((2, 0), np.float32), 0, 0  # buf[:, 0] is sample buf0; pos = next output
    for b in blocks:
        buf = np.concatenate([buf, np.asarray(b, np.float32)], axis=1)
        while buf0 + buf.shape[1] >= pos + chunk + h:
            a = max(0, pos - h)
            y = _run(model, buf[:, a - buf0 : pos + chunk + h - buf0])
            yield y[:, pos - a : pos - a + chunk]
            pos += chunk
            drop = max(0, pos - h - buf0)
            buf, buf0 = buf[:, drop:], buf0 + drop
    total = buf0 + buf.shape[1]
    end = -(-total // m) * m  # the song padded to the length multiple, as a whole-song pass pads it
    buf = np.pad(buf, ((0, 0), (0, end - total)))
    while pos < total:
        a, b = max(0, pos - h), min(pos + chunk + h, end)
        y = _run(model, buf[:, a - buf0 : b - buf0])
        n = min(chunk, total - pos)
        yield y[:, pos - a : pos - a + n]
        pos += n


def enhance(model, x: np.ndarray, chunk: int = 1 << 17) -> np.ndarray:
    """(2, n) -> (2, n): enhance_blocks over one array."""
    out = list(enhance_blocks(model, [x], chunk))
    return np.concatenate(out, axis=1) if out else np.zeros_like(x, dtype=np.float32)
