"""Genre MLP (thesis §5.2.3.2, Fig. 5.4): every modality averaged over time (masked), the averages
concatenated, an MLP to 21 genre logits (sigmoid outside: `probs`).

`n_layers` counts linear layers as the thesis's code does: 1 = a single linear layer from the
concatenated averages to the logits (`d_hidden` then unused), 2 = one hidden layer of `d_hidden`.
At the thesis's widths (2,240 averaged dims) that is 47,061 or, with a 256 hidden layer, 579,093
parameters; §5.2.3.3's "57k" matches no reading (README "Where emsync differs").
A modality with no valid step (no speech, no text) is replaced by a learned "absent" vector.

    model = GenreMLP(GenreMLPConfig())
    logits = model(x, mask)  # x {name: (B, T, D)}, mask {name: (B, T) bool} -> (B, 21)
"""

from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn

from .classifier_blocks import tuples, GENRES, THESIS_DIMS, masked_mean


@dataclass(frozen=True)
class GenreMLPConfig:
    dims: dict = field(default_factory=lambda: dict(THESIS_DIMS))
    n_layers: int = 1  # §5.2.3.3: "there is 1 layer"
    d_hidden: int = 256
    dropout: float = 0.5
    n_classes: int = len(GENRES)
    labels: tuple = GENRES

    def __post_init__(self):
        if self.n_layers < 1 or self.d_hidden < 1 or not self.dims:
            raise ValueError(f"bad GenreMLPConfig: {self}")
        if len(self.labels) != self.n_classes:
            raise ValueError(f"{len(self.labels)} labels for {self.n_classes} classes")

    def to_dict(self) -> dict:
        return {**asdict(self), "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, d: dict) -> "GenreMLPConfig":
        return cls(**tuples(d))


class GenreMLP(nn.Module):
    def __init__(self, cfg: GenreMLPConfig):
        super().__init__()
        self.cfg = cfg
        self.absent = nn.ParameterDict({m: nn.Parameter(torch.randn(w) * 0.02) for m, w in cfg.dims.items()})
        sizes = [sum(cfg.dims.values())] + [cfg.d_hidden] * (cfg.n_layers - 1) + [cfg.n_classes]
        layers: list[nn.Module] = []
        for i in range(len(sizes) - 1):
            layers.append(nn.Linear(sizes[i], sizes[i + 1]))
            if i < len(sizes) - 2:
                layers += [nn.ReLU(), nn.Dropout(cfg.dropout)]
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: dict, mask: dict) -> torch.Tensor:
        """Modalities missing from x count as fully masked. Returns logits (B, n_classes)."""
        B = next(iter(x.values())).shape[0]
        parts = []
        for m in self.cfg.dims:
            absent = self.absent[m].expand(B, -1)  # (B, D)
            if m not in x:
                parts.append(absent)
                continue
            v = mask[m].bool()  # (B, T)
            avg = masked_mean(x[m].float().masked_fill(~v.unsqueeze(-1), 0.0), v)  # (B, D)
            parts.append(torch.where(v.any(1, keepdim=True), avg, absent))
        return self.mlp(torch.cat(parts, dim=1))  # (B, n_classes)

    @torch.no_grad()
    def probs(self, x: dict, mask: dict) -> torch.Tensor:
        return torch.sigmoid(self(x, mask))
