"""MTCNN face detection (Zhang et al. 2016) with the weights of the facenet-pytorch wheel, run by our
networks (models/mtcnn.py) and this cascade: no torchvision, no facenet-pytorch import (its data
files are located and read as plain state dicts). The numbers follow facenet-pytorch's `detect`
(tests/test_mtcnn_port.py compares the two on real frames).

1. P-Net over an image pyramid (first scale 12 / min_face, then x factor while the short side is
   >= 12 px): every 12 x 12 window (stride 2) with face probability >= thresholds[0] is a
   candidate; non-maximum suppression (IoU 0.5) per scale, then 0.7 over all; box regression;
   squared boxes.
2. R-Net on 24 x 24 crops: probability > thresholds[1]; NMS 0.7; regression; squared.
3. O-Net on 48 x 48 crops: probability > thresholds[2]; regression; NMS 0.7 on the smaller area.

    model = load_packaged_mtcnn()
    boxes, probs = detect(model, rgb)     # (k, 4) x0 y0 x1 y1 floats, (k,) face probabilities
"""

import importlib.util
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from emsync.core.errors import InputError

PACKAGE, FILES = "facenet_pytorch", {"pnet": "data/pnet.pt", "rnet": "data/rnet.pt", "onet": "data/onet.pt"}


def packaged_dir() -> Path:
    """The installed facenet_pytorch folder (located, not imported: importing it needs torchvision)."""
    spec = importlib.util.find_spec(PACKAGE)
    for loc in list(spec.submodule_search_locations or []) if spec else []:
        if all((Path(loc) / f).is_file() for f in FILES.values()):
            return Path(loc)
    raise InputError("the MTCNN face detector needs facenet-pytorch's weights: `pip install --no-deps facenet-pytorch==2.6.0`")


def load_packaged_mtcnn(min_face: int = 20):
    """The MTCNN networks with the wheel's weights, in eval mode."""
    from emsync.models.mtcnn import Mtcnn, MtcnnConfig

    model = Mtcnn(MtcnnConfig(min_face=min_face))
    root = packaged_dir()
    for name, rel in FILES.items():
        getattr(model, name).load_state_dict(torch.load(root / rel, map_location="cpu", weights_only=True))
    return model.eval()


def nms(boxes: np.ndarray, scores: np.ndarray, thresh: float, smaller: bool = False) -> np.ndarray:
    """Indices kept by greedy non-maximum suppression, best first. Overlap = intersection over union
    (boxes as continuous spans), or over the smaller box with `smaller` (boxes as pixel counts, +1)."""
    one = 1.0 if smaller else 0.0
    x0, y0, x1, y1 = boxes[:, 0], boxes[:, 1], boxes[:, 2], boxes[:, 3]
    area = (x1 - x0 + one) * (y1 - y0 + one)
    order, keep = np.argsort(-scores, kind="stable"), []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + one)
        h = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + one)
        inter = w * h
        overlap = inter / (np.minimum(area[i], area[rest]) if smaller else area[i] + area[rest] - inter)
        order = rest[overlap <= thresh]
    return np.asarray(keep, dtype=np.int64)


def _square(b: torch.Tensor) -> torch.Tensor:
    """Boxes (k, >=4) widened to squares around the same centre."""
    b = b.clone()
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    side = torch.maximum(w, h)
    b[:, 0] = b[:, 0] + w * 0.5 - side * 0.5
    b[:, 1] = b[:, 1] + h * 0.5 - side * 0.5
    b[:, 2], b[:, 3] = b[:, 0] + side, b[:, 1] + side
    return b


def _regress(b: torch.Tensor, reg: torch.Tensor) -> torch.Tensor:
    """Apply R-/O-Net box offsets (fractions of the box's pixel size)."""
    b = b.clone()
    w, h = b[:, 2] - b[:, 0] + 1, b[:, 3] - b[:, 1] + 1
    b[:, :4] = b[:, :4] + reg * torch.stack([w, h, w, h], dim=1)
    return b


def _crops(img: torch.Tensor, b: torch.Tensor, size: int) -> tuple[torch.Tensor, np.ndarray]:
    """(K, 3, size, size) normalised crops of boxes clipped to the image, and which boxes had one."""
    H, W = img.shape[-2:]
    ib = b[:, :4].trunc().int().numpy()
    x0, y0 = np.maximum(ib[:, 0], 1), np.maximum(ib[:, 1], 1)
    x1, y1 = np.minimum(ib[:, 2], W), np.minimum(ib[:, 3], H)
    ok = (y1 > y0 - 1) & (x1 > x0 - 1)
    if not ok.any():
        return torch.zeros(0, 3, size, size), ok
    crops = [F.interpolate(img[:, :, y0[k] - 1 : y1[k], x0[k] - 1 : x1[k]], size=(size, size), mode="area") for k in np.flatnonzero(ok)]
    return (torch.cat(crops) - 127.5) * 0.0078125, ok


def _stage1(model, img: torch.Tensor) -> torch.Tensor:
    """P-Net candidates over the pyramid: (k, 5) squared boxes + probability."""
    cfg, (H, W) = model.cfg, img.shape[-2:]
    scale, short, found = 12.0 / cfg.min_face, min(H, W) * 12.0 / cfg.min_face, []
    while short >= 12:
        x = F.interpolate(img, size=(int(H * scale + 1), int(W * scale + 1)), mode="area")
        reg, prob = model.pnet((x - 127.5) * 0.0078125)  # (1, 4, h, w), (1, 2, h, w)
        ys, xs = torch.nonzero(prob[0, 1] >= cfg.thresholds[0], as_tuple=True)
        cell = torch.stack([xs, ys], dim=1).to(img.dtype)  # (k, 2) window positions
        b = torch.cat(
            [((2 * cell + 1) / scale).floor(), ((2 * cell + 12) / scale).floor(), prob[0, 1, ys, xs, None], reg[0][:, ys, xs].T], 1
        )
        found.append(b[nms(b[:, :4].numpy(), b[:, 4].numpy(), 0.5)])
        scale, short = scale * cfg.factor, short * cfg.factor
    b = torch.cat(found) if found else torch.zeros(0, 9)
    b = b[nms(b[:, :4].numpy(), b[:, 4].numpy(), 0.7)]
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    boxes = torch.stack([b[:, 0] + b[:, 5] * w, b[:, 1] + b[:, 6] * h, b[:, 2] + b[:, 7] * w, b[:, 3] + b[:, 8] * h, b[:, 4]], 1)
    return _square(boxes)


def _refine(model, img: torch.Tensor, boxes: torch.Tensor, last: bool) -> torch.Tensor:
    """R-Net (last=False) or O-Net (last=True) on the candidates: kept, regressed boxes + probability."""
    if not len(boxes):
        return boxes
    x, ok = _crops(img, boxes, 48 if last else 24)
    boxes = boxes[torch.from_numpy(ok)]
    if not len(boxes):
        return boxes
    if last:
        reg, _, prob = model.onet(x)
    else:
        reg, prob = model.rnet(x)
    score = prob[:, 1]
    keep = score > model.cfg.thresholds[2 if last else 1]
    b, reg = torch.cat([boxes[keep, :4], score[keep, None]], 1), reg[keep]
    if last:
        b = _regress(b, reg)
        return b[nms(b[:, :4].numpy(), b[:, 4].numpy(), 0.7, smaller=True)]
    pick = nms(b[:, :4].numpy(), b[:, 4].numpy(), 0.7)
    return _square(_regress(b[pick], reg[pick]))


def detect(model, image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Faces in one RGB uint8 frame: boxes (k, 4) as x0 y0 x1 y1, face probabilities (k,)."""
    img = torch.from_numpy(np.ascontiguousarray(image)).permute(2, 0, 1)[None].float()  # (1, 3, H, W)
    with torch.inference_mode():
        boxes = _refine(model, img, _refine(model, img, _stage1(model, img), last=False), last=True)
    return boxes[:, :4].numpy(), boxes[:, 4].numpy()
