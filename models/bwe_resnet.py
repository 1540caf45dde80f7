"""ResNet for audio bandwidth extension (thesis §7.1.2, Fig. 7.1 right).

A head conv (2 -> 512 channels), 15 residual blocks at constant length (conv, ReLU, conv; the
block's output is scaled by 0.1 and added to its input, "residual scaling"), a 1x1 tail conv back
to stereo, and an additive input -> output connection. Every conv keeps the length (zero "same"
padding). Defaults: 55.07M parameters (thesis 55.1M).

Regularisation (§7.2): `norm="batch"` puts batch normalisation after each conv of every residual
block (those convs then have no bias); `dropout` > 0 puts dropout between the two convs of every
block.

    model = BweResNet(BweResNetConfig())
    y = model(x)              # x (B, 2, T) -> (B, 2, T), any T
"""

from dataclasses import asdict, dataclass

from torch import nn


@dataclass(frozen=True)
class BweResNetConfig:
    blocks: int = 15
    channels: int = 512
    kernel: int = 7
    res_scale: float = 0.1
    audio_channels: int = 2  # stereo
    norm: str = "none"  # none | batch
    dropout: float = 0.0  # 0.5 for the DO variant (§7.2.1)

    def __post_init__(self):
        if self.kernel % 2 == 0 or min(self.blocks, self.channels, self.kernel) < 1:
            raise ValueError(f"kernel must be odd and sizes positive: {self}")
        if self.norm not in ("none", "batch") or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"norm must be none|batch and 0 <= dropout < 1: {self}")

    @property
    def length_multiple(self) -> int:
        return 1

    def to_dict(self) -> dict:
        return asdict(self)


class ResBlock(nn.Module):
    def __init__(self, cfg: BweResNetConfig):
        super().__init__()
        c, k, bn = cfg.channels, cfg.kernel, cfg.norm == "batch"
        self.body = nn.Sequential(
            nn.Conv1d(c, c, k, padding=k // 2, bias=not bn),
            *([nn.BatchNorm1d(c)] if bn else []),
            nn.ReLU(),
            *([nn.Dropout(cfg.dropout)] if cfg.dropout else []),
            nn.Conv1d(c, c, k, padding=k // 2, bias=not bn),
            *([nn.BatchNorm1d(c)] if bn else []),
        )
        self.scale = cfg.res_scale

    def forward(self, x):  # (B, c, T)
        return x + self.scale * self.body(x)


class BweResNet(nn.Module):
    def __init__(self, cfg: BweResNetConfig):
        super().__init__()
        self.cfg = cfg
        c, k = cfg.channels, cfg.kernel
        self.head = nn.Conv1d(cfg.audio_channels, c, k, padding=k // 2)
        self.blocks = nn.Sequential(*(ResBlock(cfg) for _ in range(cfg.blocks)))
        self.tail = nn.Conv1d(c, cfg.audio_channels, 1)

    def halo(self) -> int:
        """Samples of context each side an output sample depends on (head + 2 convs per block)."""
        return (self.cfg.kernel // 2) * (1 + 2 * self.cfg.blocks)

    def output_conv(self) -> nn.Conv1d:
        """The 1x1 tail conv back to stereo."""
        return self.tail

    def forward(self, x):  # x (B, 2, T)
        return x + self.tail(self.blocks(self.head(x)))  # (B, 2, T)
