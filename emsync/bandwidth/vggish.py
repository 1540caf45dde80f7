"""The VGG distance of §7.4.1 (eq. 7.2): mean absolute difference of post-processed (0..255)
VGGish embeddings of the reference and the estimate, both downmixed to mono.

    model = load_vggish("data/pretrained/vggish")     # folder: config.json + model.safetensors [+ pca.npz],
                                                      # or the torch port's released .pth state dict file
    vgg_distance(model, reference, estimate)          # (2, n) arrays at 44.1 kHz -> float

Front end as the reference implementation (25 ms Hann windows, 10 ms hop, 64 mel bands, log(mel +
0.01), non-overlapping 0.96-s examples of 96 frames) with the thesis's settings: sample rate
44,100 Hz, mel range 125..22,050 Hz. Post-processing: PCA (when pca.npz is present), clip to
[-2, 2], quantise to 0..255. `save_vggish` writes a folder the loader reads (tests save a tiny one).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch

from emsync.core.errors import InputError
from emsync.models.vggish import Vggish, VggishConfig

SR, WIN_S, HOP_S, FMIN, FMAX = 44100, 0.025, 0.010, 125.0, 22050.0


def _mel_matrix(n_fft: int, bands: int, sr=SR, fmin=FMIN, fmax=FMAX) -> np.ndarray:
    """(n_fft//2+1, bands) triangular HTK-mel filters, as the reference's mel_features."""

    def hz2mel(f):
        return 1127.0 * np.log(1.0 + np.asarray(f) / 700.0)

    bins = hz2mel(np.linspace(0, sr / 2, n_fft // 2 + 1))
    edges = np.linspace(hz2mel(fmin), hz2mel(fmax), bands + 2)
    w = np.zeros((len(bins), bands))
    for i in range(bands):
        lo, c, hi = edges[i : i + 3]
        w[:, i] = np.maximum(0, np.minimum((bins - lo) / (c - lo), (hi - bins) / (hi - c)))
    w[0] = 0.0
    return w


def log_mel_examples(x: np.ndarray, cfg: VggishConfig, sr=SR) -> np.ndarray:
    """(2, n) or (n,) audio -> (E, 1, frames, bands) float32 examples (stereo downmixed to mono)."""
    mono = np.mean(np.atleast_2d(np.asarray(x, np.float64)), axis=0)
    win, hop = int(round(WIN_S * sr)), int(round(HOP_S * sr))
    n_fft = 1 << int(np.ceil(np.log2(win)))
    if len(mono) < win:
        mono = np.pad(mono, (0, win - len(mono)))
    n = 1 + (len(mono) - win) // hop
    idx = np.arange(win)[None] + hop * np.arange(n)[:, None]
    spec = np.abs(np.fft.rfft(mono[idx] * np.hanning(win + 1)[:-1], n_fft))  # periodic Hann
    logmel = np.log(spec @ _mel_matrix(n_fft, cfg.bands, sr) + 0.01)
    e = max(1, len(logmel) // cfg.frames)
    logmel = np.pad(logmel, ((0, max(0, e * cfg.frames - len(logmel))), (0, 0)))[: e * cfg.frames]
    return logmel.reshape(e, 1, cfg.frames, cfg.bands).astype(np.float32)


class VggishEmbedder:
    def __init__(self, model: Vggish, pca_matrix=None, pca_means=None):
        self.model, self.pca_matrix, self.pca_means = model.eval(), pca_matrix, pca_means

    @torch.no_grad()
    def __call__(self, x: np.ndarray) -> np.ndarray:
        """(E, 128) post-processed embeddings in 0..255 of audio x."""
        ex = torch.from_numpy(log_mel_examples(x, self.model.cfg))
        emb = self.model(ex).numpy().astype(np.float64)
        if self.pca_matrix is not None:
            emb = (emb - self.pca_means.reshape(1, -1)) @ self.pca_matrix.T
        return np.round((np.clip(emb, -2.0, 2.0) + 2.0) * (255.0 / 4.0))


def vgg_distance(embedder: VggishEmbedder, reference: np.ndarray, estimate: np.ndarray) -> float:
    """Eq. 7.2: mean |y_i - y_hat_i| over every element of the two embedding tensors."""
    return embedding_distance(embedder(reference), embedder(estimate))


def embedding_distance(reference: np.ndarray, estimate: np.ndarray) -> float:
    """Eq. 7.2 on embeddings already computed (a reference's serves every estimate of it)."""
    return float(np.mean(np.abs(reference - estimate)))


def save_vggish(folder, model: Vggish, pca_matrix=None, pca_means=None):
    from safetensors.torch import save_file

    from emsync.core.io import atomic_path, write_text

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    write_text(folder / "config.json", json.dumps(model.cfg.to_dict()))
    with atomic_path(folder / "model.safetensors", suffix=".safetensors") as tmp:
        save_file({k: v.contiguous() for k, v in model.state_dict().items()}, str(tmp))
    if pca_matrix is not None:
        with atomic_path(folder / "pca.npz", suffix=".npz") as tmp, open(tmp, "wb") as fh:
            np.savez(fh, pca_eigen_vectors=pca_matrix, pca_means=pca_means)


def load_vggish(ref) -> VggishEmbedder:
    """From a folder (config.json + model.safetensors [+ pca.npz]) or the torch port's released
    .pth state dict (full-size config; its PCA parameters as `pproc._pca_matrix/_pca_means` when present)."""
    ref = Path(ref)
    try:
        if ref.is_dir():
            from safetensors.torch import load_file

            model = Vggish(VggishConfig(**json.loads((ref / "config.json").read_text())))
            model.load_state_dict(load_file(str(ref / "model.safetensors")))
            pca = np.load(ref / "pca.npz") if (ref / "pca.npz").exists() else None
            return VggishEmbedder(model, *((pca["pca_eigen_vectors"], pca["pca_means"]) if pca is not None else ()))
        sd = torch.load(ref, map_location="cpu", weights_only=True)
        pm, pmean = sd.pop("pproc._pca_matrix", None), sd.pop("pproc._pca_means", None)
        model = Vggish(VggishConfig())
        model.load_state_dict(sd)
        return VggishEmbedder(model, *((pm.numpy(), pmean.numpy()) if pm is not None else ()))
    except FileNotFoundError as e:
        raise InputError(f"{ref}: VGGish model not found (a folder with config.json + model.safetensors, or a .pth)") from e
    except Exception as e:
        raise InputError(f"{ref}: cannot load a VGGish model ({type(e).__name__}: {e})") from e
