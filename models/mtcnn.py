"""MTCNN face detector networks (Zhang et al. 2016): the three-stage cascade P-Net -> R-Net -> O-Net,
in the layout of the weights that ship in the facenet-pytorch wheel (`facenet_pytorch/data/
{pnet,rnet,onet}.pt`, state dicts; the parameter names below match them).

- P-Net: fully convolutional; on a 12 x 12 window it gives a face probability and a box offset, so
  on an image it gives a (H', W') map of both (stride 2).
- R-Net: 24 x 24 candidate crops -> face probability, box offset.
- O-Net: 48 x 48 crops -> face probability, box offset, five landmarks.

Inputs are RGB scaled to about [-1, 1] ((x - 127.5) / 128). The cascade itself (image pyramid,
non-maximum suppression, box regression) lives in emsync/video/mtcnn.py; this file is the networks.

    nets = Mtcnn(MtcnnConfig())
    reg, prob = nets.pnet(x)             # (B, 3, H, W) -> (B, 4, H', W'), (B, 2, H', W')
    reg, prob = nets.rnet(crops24)       # (K, 3, 24, 24) -> (K, 4), (K, 2)
    reg, marks, prob = nets.onet(crops48)  # (K, 3, 48, 48) -> (K, 4), (K, 10), (K, 2)
"""

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn


@dataclass(frozen=True)
class MtcnnConfig:
    min_face: int = 20  # smallest face searched for, px (sets the pyramid's first scale, 12 / min_face)
    factor: float = 0.709  # pyramid step (scales shrink by this until the image is under 12 px)
    thresholds: tuple = (0.6, 0.7, 0.7)  # face probability kept after P-, R- and O-Net

    def __post_init__(self):
        if self.min_face < 12:
            raise ValueError(f"min_face {self.min_face}: at least 12 (P-Net's window)")
        if not 0.1 < self.factor < 1:
            raise ValueError(f"factor {self.factor}: in (0.1, 1)")
        if len(self.thresholds) != 3 or not all(0 <= t <= 1 for t in self.thresholds):
            raise ValueError(f"thresholds {self.thresholds}: three probabilities")

    def to_dict(self) -> dict:
        d = asdict(self)
        d["thresholds"] = list(self.thresholds)
        return d


def _flatten_caffe(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, W*H*C): the weights came from Caffe, which flattens width-major."""
    return x.permute(0, 3, 2, 1).reshape(x.shape[0], -1)


class PNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 10, 3), nn.PReLU(10)
        self.pool1 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(10, 16, 3), nn.PReLU(16)
        self.conv3, self.prelu3 = nn.Conv2d(16, 32, 3), nn.PReLU(32)
        self.conv4_1 = nn.Conv2d(32, 2, 1)  # face / not
        self.conv4_2 = nn.Conv2d(32, 4, 1)  # box offsets

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))  # (B, 10, ceil((H-2)/2), ...)
        x = self.prelu3(self.conv3(self.prelu2(self.conv2(x))))  # (B, 32, H', W')
        return self.conv4_2(x), torch.softmax(self.conv4_1(x), dim=1)


class RNet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 28, 3), nn.PReLU(28)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(28, 48, 3), nn.PReLU(48)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(48, 64, 2), nn.PReLU(64)
        self.dense4, self.prelu4 = nn.Linear(576, 128), nn.PReLU(128)
        self.dense5_1 = nn.Linear(128, 2)
        self.dense5_2 = nn.Linear(128, 4)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))  # (K, 28, 11, 11)
        x = self.pool2(self.prelu2(self.conv2(x)))  # (K, 48, 4, 4)
        x = self.prelu3(self.conv3(x))  # (K, 64, 3, 3)
        x = self.prelu4(self.dense4(_flatten_caffe(x)))  # (K, 128)
        return self.dense5_2(x), torch.softmax(self.dense5_1(x), dim=1)


class ONet(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv1, self.prelu1 = nn.Conv2d(3, 32, 3), nn.PReLU(32)
        self.pool1 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv2, self.prelu2 = nn.Conv2d(32, 64, 3), nn.PReLU(64)
        self.pool2 = nn.MaxPool2d(3, 2, ceil_mode=True)
        self.conv3, self.prelu3 = nn.Conv2d(64, 64, 3), nn.PReLU(64)
        self.pool3 = nn.MaxPool2d(2, 2, ceil_mode=True)
        self.conv4, self.prelu4 = nn.Conv2d(64, 128, 2), nn.PReLU(128)
        self.dense5, self.prelu5 = nn.Linear(1152, 256), nn.PReLU(256)
        self.dense6_1 = nn.Linear(256, 2)
        self.dense6_2 = nn.Linear(256, 4)
        self.dense6_3 = nn.Linear(256, 10)  # landmarks: 5 x, then 5 y

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        x = self.pool1(self.prelu1(self.conv1(x)))  # (K, 32, 23, 23)
        x = self.pool2(self.prelu2(self.conv2(x)))  # (K, 64, 10, 10)
        x = self.pool3(self.prelu3(self.conv3(x)))  # (K, 64, 4, 4)
        x = self.prelu4(self.conv4(x))  # (K, 128, 3, 3)
        x = self.prelu5(self.dense5(_flatten_caffe(x)))  # (K, 256)
        return self.dense6_2(x), self.dense6_3(x), torch.softmax(self.dense6_1(x), dim=1)


class Mtcnn(nn.Module):
    """The three networks of the cascade, with the cascade's settings."""

    def __init__(self, cfg: MtcnnConfig):
        super().__init__()
        self.cfg = cfg
        self.pnet, self.rnet, self.onet = PNet(), RNet(), ONet()
