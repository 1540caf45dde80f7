"""VGGish (Hershey et al. 2017), the audio embedding network behind the VGG distance of §7.4.1.

Input: log-mel examples (B, 1, frames=96, bands=64); output: (B, 128) embeddings. Layer order and
names follow the torch port of the reference model (`features.*` conv stack, `embeddings.*` fully
connected stack), so its released state dict loads as it is. Smaller widths make the tiny offline
test model.

    model = Vggish(VggishConfig())
    emb = model(logmel)          # (B, 1, 96, 64) -> (B, 128)
"""

from dataclasses import asdict, dataclass

import torch
from torch import nn


@dataclass(frozen=True)
class VggishConfig:
    channels: tuple = (64, 128, 256, 256, 512, 512)  # conv widths; a pool follows the 1st, 2nd, 4th and 6th
    hidden: int = 4096
    embedding: int = 128
    frames: int = 96
    bands: int = 64

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(self.channels))
        if len(self.channels) != 6 or self.frames % 16 or self.bands % 16:
            raise ValueError(f"6 conv widths and frames/bands divisible by 16 expected: {self}")

    def to_dict(self) -> dict:
        return asdict(self)


class Vggish(nn.Module):
    def __init__(self, cfg: VggishConfig):
        super().__init__()
        self.cfg = cfg
        layers, cin = [], 1
        for i, c in enumerate(cfg.channels):
            layers += [nn.Conv2d(cin, c, 3, padding=1), nn.ReLU()]
            if i in (0, 1, 3, 5):
                layers.append(nn.MaxPool2d(2, 2))
            cin = c
        self.features = nn.Sequential(*layers)
        flat = cin * (cfg.frames // 16) * (cfg.bands // 16)
        self.embeddings = nn.Sequential(
            nn.Linear(flat, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, cfg.hidden),
            nn.ReLU(),
            nn.Linear(cfg.hidden, cfg.embedding),
            nn.ReLU(),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, 1, frames, bands)
        y = self.features(x)  # (B, C, frames/16, bands/16)
        y = y.permute(0, 2, 3, 1).reshape(y.shape[0], -1)  # channels last, as the TF original flattens
        return self.embeddings(y)  # (B, embedding)
