"""ViT + AST baseline genre classifier (thesis §5.2.3.2, Fig. 5.7), the trainable part.

The pretrained ViT (image frames) and AST (10 s spectrogram frames, 50 % overlap) stay frozen and
run as feature extractors; their pooled outputs (768-d per frame) are this model's input. Their
output layers are replaced by trainable MLPs (image-MLP, audio-MLP: 2 layers, 768 wide). Training
has two stages (§5.2.3.2):

1. `frame_logits(m, x)`: each MLP plus a per-frame linear head learns the video's genres from
   single frames (every frame gets its video's labels);
2. `freeze_frames()`, then `forward`: one fusion transformer per modality (1 layer, 4 heads, 768,
   learned <CLS>) over the MLP outputs; the two <CLS> outputs concatenated, linear to 21 logits.

    model = GenreBaseline(GenreBaselineConfig())
    frame = model.frame_logits("image", x["image"])   # (B, T, 768) -> (B, T, 21)   stage 1
    model(x, mask, frames=True)                       # the same, for every modality (what the engine calls)
    model.freeze_frames(); logits = model(x, mask)    # -> (B, 21)                  stage 2
"""

from dataclasses import asdict, dataclass, field

import torch
import torch.nn as nn

from .classifier_blocks import tuples, GENRES, LearnedPositions, encoder


@dataclass(frozen=True)
class GenreBaselineConfig:
    dims: dict = field(default_factory=lambda: {"image": 768, "audio": 768})  # ViT-B / AST outputs
    d_model: int = 768  # §5.2.3.3
    mlp_layers: int = 2
    n_layers: int = 1
    n_heads: int = 4
    ff_mult: int = 4
    dropout: float = 0.5
    max_positions: int = 5000
    n_classes: int = len(GENRES)
    labels: tuple = GENRES

    def __post_init__(self):
        if self.d_model % self.n_heads or self.mlp_layers < 1:
            raise ValueError(f"bad GenreBaselineConfig: {self}")
        if len(self.labels) != self.n_classes:
            raise ValueError(f"{len(self.labels)} labels for {self.n_classes} classes")

    def to_dict(self) -> dict:
        return {**asdict(self), "labels": list(self.labels)}

    @classmethod
    def from_dict(cls, d: dict) -> "GenreBaselineConfig":
        return cls(**tuples(d))


class GenreBaseline(nn.Module):
    def __init__(self, cfg: GenreBaselineConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model

        def mlp(w):
            layers = []
            for i in range(cfg.mlp_layers):
                layers += [nn.Linear(w if i == 0 else d, d), nn.ReLU(), nn.Dropout(cfg.dropout)]
            return nn.Sequential(*layers)

        self.mlps = nn.ModuleDict({m: mlp(w) for m, w in cfg.dims.items()})
        self.frame_heads = nn.ModuleDict({m: nn.Linear(d, cfg.n_classes) for m in cfg.dims})
        self.cls = nn.ParameterDict({m: nn.Parameter(torch.randn(d) * 0.02) for m in cfg.dims})
        self.pos = nn.ModuleDict({m: LearnedPositions(cfg.max_positions, d) for m in cfg.dims})
        self.bodies = nn.ModuleDict({m: encoder(d, cfg.n_heads, cfg.ff_mult * d, cfg.n_layers, cfg.dropout) for m in cfg.dims})
        self.head = nn.Linear(d * len(cfg.dims), cfg.n_classes)

    def frame_logits(self, m: str, x: torch.Tensor) -> torch.Tensor:
        """Stage 1: per-frame genre logits of modality m; x (B, T, D) -> (B, T, n_classes)."""
        return self.frame_heads[m](self.mlps[m](x.float()))

    def freeze_frames(self):
        """Stage 2 starts: the MLPs (and their frame heads) stop learning."""
        for p in list(self.mlps.parameters()) + list(self.frame_heads.parameters()):
            p.requires_grad_(False)

    def forward(self, x: dict, mask: dict, frames: bool = False):
        """Stage 2. x {modality: (B, T, D)}, mask {modality: (B, T) bool}. Returns logits (B, n_classes).
        With `frames` (stage 1): {modality: per-frame logits (B, T, n_classes)} from frame_logits."""
        if frames:
            return {m: self.frame_logits(m, x[m].to(self.head.weight.device)) for m in self.cfg.dims if m in x}
        B = next(iter(x.values())).shape[0]
        dev = self.head.weight.device
        parts = []
        for m in self.cfg.dims:
            if m in x:
                v = mask[m].to(dev, torch.bool)  # (B, T)
                h = self.mlps[m](x[m].to(dev, torch.float32).masked_fill(~v.unsqueeze(-1), 0.0))  # (B, T, d)
            else:
                h, v = torch.zeros(B, 0, self.cfg.d_model, device=dev), torch.zeros(B, 0, dtype=torch.bool, device=dev)
            h = self.pos[m](torch.cat([self.cls[m].expand(B, 1, -1), h], dim=1))  # (B, 1 + T, d)
            keep = torch.cat([torch.ones(B, 1, dtype=torch.bool, device=dev), v], dim=1)
            parts.append(self.bodies[m](h, src_key_padding_mask=~keep)[:, 0])  # (B, d)
        return self.head(torch.cat(parts, dim=1))  # (B, n_classes)

    @torch.no_grad()
    def probs(self, x: dict, mask: dict) -> torch.Tensor:
        return torch.sigmoid(self(x, mask))
