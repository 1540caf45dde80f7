"""Genre single-transformer (thesis §5.2.3.2, Fig. 5.5): every modality projected to `d_model`,
prefixed with its own learned <SEP> vector, given its own learned positions, all concatenated in
time behind one learned <CLS> vector and run through one transformer encoder; the <CLS> output
feeds a linear layer to 21 genre logits (sigmoid outside).

Padding and missing data are key-padding-masked; <CLS> and the <SEP>s are always present, so a
video with no text or no audio still has a well-defined output. Modalities in `averaged` enter as
one time-averaged vector (the thesis's "*" text features, Table 5.4). Any length up to
`max_positions - 1` steps per modality runs without padding (§5.2.3.4: inference on full-length
sequences; callers thin longer ones, emsync.models.classifiers.max_steps).

    model = GenreSingleTransformer(GenreSingleTransformerConfig())
    logits = model(x, mask)  # x {name: (B, T, D)}, mask {name: (B, T) bool} -> (B, 21)
"""

from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn

from .classifier_blocks import tuples, GENRES, THESIS_DIMS, LearnedPositions, encoder, masked_mean


@dataclass(frozen=True)
class GenreSingleTransformerConfig:
    dims: dict = field(default_factory=lambda: dict(THESIS_DIMS))
    d_model: int = 256  # §5.2.3.3
    n_layers: int = 2
    n_heads: int = 8
    ff_mult: int = 4  # feed-forward width = ff_mult * d_model
    dropout: float = 0.5
    # learned position table per modality (<SEP> + steps): 530 entries as in the author's published code
    # (the §5.2.3.3 caps sum to 524): 2.84M parameters. The thesis's "8.56M" needs 5000-entry tables.
    max_positions: int = 530
    averaged: tuple = ()
    n_classes: int = len(GENRES)
    labels: tuple = GENRES

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} not divisible by n_heads {self.n_heads}")
        if set(self.averaged) - set(self.dims):
            raise ValueError(f"averaged {self.averaged} not all in dims {sorted(self.dims)}")
        if len(self.labels) != self.n_classes:
            raise ValueError(f"{len(self.labels)} labels for {self.n_classes} classes")

    def to_dict(self) -> dict:
        return {**asdict(self), "averaged": list(self.averaged), "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, d: dict) -> "GenreSingleTransformerConfig":
        return cls(**tuples(d))


class GenreSingleTransformer(nn.Module):
    def __init__(self, cfg: GenreSingleTransformerConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        self.encoders = nn.ModuleDict({m: nn.Linear(w, d) for m, w in cfg.dims.items()})
        self.sep = nn.ParameterDict({m: nn.Parameter(torch.randn(d) * 0.02) for m in cfg.dims})
        self.pos = nn.ModuleDict({m: LearnedPositions(cfg.max_positions, d) for m in cfg.dims})
        self.cls = nn.Parameter(torch.randn(d) * 0.02)
        self.body = encoder(d, cfg.n_heads, cfg.ff_mult * d, cfg.n_layers, cfg.dropout)
        self.head = nn.Linear(d, cfg.n_classes)

    def forward(self, x: dict, mask: dict) -> torch.Tensor:
        """Modalities missing from x contribute only their <SEP>. Returns logits (B, n_classes)."""
        B = next(iter(x.values())).shape[0]
        dev = self.cls.device
        seqs = [self.cls.expand(B, 1, -1)]  # (B, 1, d)
        valid = [torch.ones(B, 1, dtype=torch.bool, device=dev)]
        for m in self.cfg.dims:
            if m in x:
                v = mask[m].to(dev, torch.bool)  # (B, T)
                xm = x[m].to(dev, torch.float32).masked_fill(~v.unsqueeze(-1), 0.0)
                if m in self.cfg.averaged:
                    xm, v = masked_mean(xm, v).unsqueeze(1), v.any(1, keepdim=True)  # (B, 1, D), (B, 1)
                h = self.encoders[m](xm)  # (B, T, d)
            else:
                h = self.cls.new_zeros(B, 0, self.cfg.d_model)
                v = torch.zeros(B, 0, dtype=torch.bool, device=dev)
            h = torch.cat([self.sep[m].expand(B, 1, -1), h], dim=1)  # (B, 1 + T, d)
            seqs.append(self.pos[m](h))
            valid.append(torch.cat([torch.ones(B, 1, dtype=torch.bool, device=dev), v], dim=1))
        h = self.body(torch.cat(seqs, dim=1), src_key_padding_mask=~torch.cat(valid, dim=1))  # (B, L, d)
        return self.head(h[:, 0])  # (B, n_classes)

    @torch.no_grad()
    def probs(self, x: dict, mask: dict) -> torch.Tensor:
        return torch.sigmoid(self(x, mask))
