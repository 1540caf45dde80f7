"""Genre multi-transformer (thesis §5.2.3.2, Fig. 5.6): one transformer encoder per sequential
modality, each with its own learned <CLS> vector and positions; the <CLS> outputs (and the
time-averaged text vectors, the thesis's best "*" setting of Table 5.4) are concatenated and a
linear layer gives 21 genre logits (sigmoid outside).

The thesis states "1 layer, 8 attention heads, and a model dimension of 128, totaling 6.98M
parameters" (§5.2.3.3); the stated width and the count disagree. The defaults follow the words:
every modality projected to d_model = 128, learned position tables of 530 entries (the author's
published code): 1.10M parameters. The 6.98M are reached only with each modality at its own width
(`d_model=None`, no projection) and 5000-entry tables (6.97M; see the tests). Padding and missing
steps are key-padding-masked; a modality with no valid step reduces to its <CLS> path, an averaged
one to a learned "absent" vector.

    model = GenreMultiTransformer(GenreMultiTransformerConfig())
    logits = model(x, mask)  # x {name: (B, T, D)}, mask {name: (B, T) bool} -> (B, 21)
"""

from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn

from .classifier_blocks import tuples, GENRES, THESIS_DIMS, LearnedPositions, encoder, masked_mean


@dataclass(frozen=True)
class GenreMultiTransformerConfig:
    dims: dict = field(default_factory=lambda: dict(THESIS_DIMS))
    d_model: int | None = 128  # §5.2.3.3 "model dimension of 128"; None: each modality's own width
    n_layers: int = 1  # §5.2.3.3
    n_heads: int = 8
    ff_mult: int = 4
    dropout: float = 0.5
    max_positions: int = 530  # learned positions per transformer (incl. <CLS>), as the author's code
    averaged: tuple = ("ocr", "asr")  # time-averaged, no transformer (Table 5.4, best row)
    n_classes: int = len(GENRES)
    labels: tuple = GENRES

    def __post_init__(self):
        for m, w in self.dims.items():
            width = self.d_model or w
            if m not in self.averaged and width % self.n_heads:
                raise ValueError(f"width {width} of '{m}' not divisible by n_heads {self.n_heads}")
        if set(self.averaged) - set(self.dims):
            raise ValueError(f"averaged {self.averaged} not all in dims {sorted(self.dims)}")
        if len(self.labels) != self.n_classes:
            raise ValueError(f"{len(self.labels)} labels for {self.n_classes} classes")

    def width(self, m: str) -> int:
        return self.d_model or self.dims[m]

    def to_dict(self) -> dict:
        return {**asdict(self), "averaged": list(self.averaged), "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, d: dict) -> "GenreMultiTransformerConfig":
        return cls(**tuples(d))


class GenreMultiTransformer(nn.Module):
    def __init__(self, cfg: GenreMultiTransformerConfig):
        super().__init__()
        self.cfg = cfg
        self.encoders = nn.ModuleDict({m: nn.Linear(w, cfg.d_model) for m, w in cfg.dims.items()} if cfg.d_model else {})
        seq = [m for m in cfg.dims if m not in cfg.averaged]
        self.cls = nn.ParameterDict({m: nn.Parameter(torch.randn(cfg.width(m)) * 0.02) for m in seq})
        self.pos = nn.ModuleDict({m: LearnedPositions(cfg.max_positions, cfg.width(m)) for m in seq})
        self.bodies = nn.ModuleDict(
            {m: encoder(cfg.width(m), cfg.n_heads, cfg.ff_mult * cfg.width(m), cfg.n_layers, cfg.dropout) for m in seq}
        )
        self.absent = nn.ParameterDict({m: nn.Parameter(torch.randn(cfg.width(m)) * 0.02) for m in cfg.averaged})
        self.head = nn.Linear(sum(cfg.width(m) for m in cfg.dims), cfg.n_classes)

    def forward(self, x: dict, mask: dict) -> torch.Tensor:
        """Modalities missing from x count as fully masked. Returns logits (B, n_classes)."""
        B = next(iter(x.values())).shape[0]
        dev = self.head.weight.device
        parts = []
        for m in self.cfg.dims:
            w = self.cfg.width(m)
            if m in x:
                v = mask[m].to(dev, torch.bool)  # (B, T)
                h = x[m].to(dev, torch.float32).masked_fill(~v.unsqueeze(-1), 0.0)
                if self.cfg.d_model:
                    h = self.encoders[m](h)  # (B, T, w)
            else:
                h, v = torch.zeros(B, 0, w, device=dev), torch.zeros(B, 0, dtype=torch.bool, device=dev)
            if m in self.cfg.averaged:
                absent = self.absent[m].expand(B, -1)
                parts.append(torch.where(v.any(1, keepdim=True), masked_mean(h, v), absent))  # (B, w)
                continue
            h = self.pos[m](torch.cat([self.cls[m].expand(B, 1, -1), h], dim=1))  # (B, 1 + T, w)
            keep = torch.cat([torch.ones(B, 1, dtype=torch.bool, device=dev), v], dim=1)
            parts.append(self.bodies[m](h, src_key_padding_mask=~keep)[:, 0])  # (B, w)
        return self.head(torch.cat(parts, dim=1))  # (B, n_classes)

    @torch.no_grad()
    def probs(self, x: dict, mask: dict) -> torch.Tensor:
        return torch.sigmoid(self(x, mask))
