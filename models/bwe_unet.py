"""U-Net for audio bandwidth extension (thesis §7.1.1, Fig. 7.1 left; sizes of Audio-SR-U-Net,
Kuleshov et al. 2017, as in the thesis author's implementation).

Raw stereo audio in, same length out. Downsampling: 1-D convolutions with stride 2 (each halves the
length); a bottleneck (strided conv, then a conv whose 2c channels a sub-pixel layer weaves into
twice the length); upsampling: convolutions to 2c channels + sub-pixel (pixel shuffle) layers; each
upsampling input is stacked (concatenated) with the downsampling output at the same scale; an
additive input -> output connection, so the network models the missing difference only.

Regularisation (§7.2): `norm="batch"` puts batch normalisation after every downsampling conv;
`dropout` > 0 puts dropout after every upsampling conv. Defaults: 56.42M parameters (thesis 56.4M).

    model = BweUNet(BweUNetConfig())
    y = model(x)              # x (B, 2, T) -> (B, 2, T); T is padded to a multiple of 32 inside
"""

from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn


@dataclass(frozen=True)
class BweUNetConfig:
    channels: tuple = (128, 256, 512, 512)  # downsampling blocks
    kernels: tuple = (65, 33, 17, 9)
    bottleneck: int = 512
    bottleneck_kernel: int = 9
    out_kernel: int = 9  # the last upsampling conv (to 2 x audio channels)
    audio_channels: int = 2  # stereo
    norm: str = "none"  # none | batch
    dropout: float = 0.0  # 0.5 for the DO variant (§7.2.1)

    def __post_init__(self):
        object.__setattr__(self, "channels", tuple(self.channels))
        object.__setattr__(self, "kernels", tuple(self.kernels))
        if len(self.channels) != len(self.kernels) or not self.channels:
            raise ValueError(f"channels and kernels need the same non-zero length: {self}")
        if any(k % 2 == 0 for k in (*self.kernels, self.bottleneck_kernel, self.out_kernel)):
            raise ValueError(f"kernel sizes must be odd (same padding): {self}")
        if self.norm not in ("none", "batch") or not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"norm must be none|batch and 0 <= dropout < 1: {self}")

    @property
    def length_multiple(self) -> int:
        return 2 ** (len(self.channels) + 1)

    def to_dict(self) -> dict:
        return asdict(self)


def pixel_shuffle_1d(x: torch.Tensor, r: int = 2) -> torch.Tensor:
    """Sub-pixel layer: (B, r*C, T) -> (B, C, r*T); output sample r*t+i comes from channel block i."""
    B, C, T = x.shape
    return x.view(B, r, C // r, T).permute(0, 2, 3, 1).reshape(B, C // r, T * r)


class BweUNet(nn.Module):
    def __init__(self, cfg: BweUNetConfig):
        super().__init__()
        self.cfg = cfg
        c, k, L = cfg.channels, cfg.kernels, len(cfg.channels)
        bn = cfg.norm == "batch"

        def down(cin, cout, kk):  # strided conv [+ BN] + ReLU
            return nn.Sequential(nn.Conv1d(cin, cout, kk, stride=2, padding=kk // 2), *([nn.BatchNorm1d(cout)] if bn else []), nn.ReLU())

        def up(cin, cout, kk, act=True):  # conv to 2*cout [+ dropout] [+ ReLU] + sub-pixel
            return nn.Sequential(
                nn.Conv1d(cin, 2 * cout, kk, padding=kk // 2),
                *([nn.Dropout(cfg.dropout)] if cfg.dropout else []),
                *([nn.ReLU()] if act else []),
            )

        self.down = nn.ModuleList(down(ci, co, kk) for ci, co, kk in zip((cfg.audio_channels, *c[:-1]), c, k))
        self.bottleneck_down = down(c[-1], cfg.bottleneck, cfg.bottleneck_kernel)
        self.bottleneck_up = up(cfg.bottleneck, cfg.bottleneck, cfg.bottleneck_kernel)
        ups, prev = [], cfg.bottleneck
        for i in range(L):  # mirrors the down path; the last one outputs audio
            skip = c[L - 1 - i]
            last = i == L - 1
            target, kk = (cfg.audio_channels, cfg.out_kernel) if last else (c[L - 2 - i], k[L - 2 - i])
            ups.append(up(prev + skip, target, kk, act=not last))
            prev = target
        self.up = nn.ModuleList(ups)

    def halo(self) -> int:
        """Samples of context each side that an output sample depends on (the receptive field's half
        width), rounded up to length_multiple: chunked inference with this halo equals full inference."""
        c = self.cfg
        L, h = len(c.kernels), 0
        h += sum((kk // 2) * 2**i for i, kk in enumerate(c.kernels))  # down convs at spacing 2^i
        h += (c.bottleneck_kernel // 2) * (2**L + 2 ** (L + 1))  # bottleneck down, up
        h += sum((kk // 2) * 2 ** (L - i) for i, kk in enumerate((*c.kernels[-2::-1], c.out_kernel)))
        m = c.length_multiple
        return -(-h // m) * m

    def output_conv(self) -> nn.Conv1d:
        """The last conv (to 2 x audio channels before the last sub-pixel layer)."""
        return self.up[-1][0]

    def forward(self, x):  # x (B, C, T)
        T = x.shape[-1]
        pad = (-T) % self.cfg.length_multiple
        y = F.pad(x, (0, pad))  # (B, C, T') with T' % 2^(L+1) == 0
        skips = []
        for d in self.down:
            y = d(y)  # (B, c_i, T' / 2^(i+1))
            skips.append(y)
        y = pixel_shuffle_1d(self.bottleneck_up(self.bottleneck_down(y)))  # (B, bottleneck, T' / 2^L)
        for u, s in zip(self.up, reversed(skips)):
            y = pixel_shuffle_1d(u(torch.cat([y, s], dim=1)))  # stack, conv, weave: length x 2
        return y[..., :T] + x  # additive input -> output connection
