"""VEMOCLAP: video emotion classifier over pretrained features (thesis §5.2.2.2, Fig. 5.1).

Inputs are pretrained feature tables of one video (§5.2.2.1): *sequential* modalities (CLIP frames,
audio-tagger windows, face expressions; n vectors each, faces k <= n) and *singular* ones (ASR and
OCR sentiment, one vector each). The network:

1. min-max normalises every modality with statistics of the training features (buffers, so they
   travel in the checkpoint's state_dict);
2. projects each modality to a common width `d_model` (one linear layer each);
3. for the sequential modalities, projects to queries, keys and values and runs multi-head
   cross-attention for every ordered pair (a, b): queries from a, keys and values from b; dropout,
   layer norm, mean over a's valid time steps;
4. concatenates the pair vectors with the projected singular vectors, ReLU, one linear layer to the
   six Ekman logits (softmax outside: `probs`).

Missing data is masked, never zero-filled as if it were data: a frame without a face, a video with
no speech (no ASR sentiment), no on-screen text, or no audio stream. Masked positions are excluded
from attention and from the time mean; a pair whose query or key modality has no valid step, and a
missing singular modality, are replaced by a learned "absent" vector of their own. Masked inputs are
zeroed before use, so their values (even NaN) cannot reach the output.

    cfg = VemoclapConfig(dims={"clip": 512, "audio": 128, "faces": 768, "asr": 768, "ocr": 768})
    model = Vemoclap(cfg)
    logits = model(x, mask)  # x {name: (B, T, D) or (B, D)}; mask {name: (B, T) or (B,) bool} -> (B, 6)
"""

from dataclasses import asdict, dataclass, field
from itertools import permutations

import torch
import torch.nn as nn

from .classifier_blocks import tuples, masked_mean

EMOTIONS = ("anger", "disgust", "fear", "joy", "sadness", "surprise")  # Ekman-6 order (§5.2.2.1)


@dataclass(frozen=True)
class VemoclapConfig:
    # modality -> feature width; the landed audio tagger is 128-d (the thesis's BEATs: 768)
    dims: dict = field(default_factory=lambda: {"clip": 512, "audio": 128, "faces": 768, "asr": 768, "ocr": 768})
    singular: tuple = ("asr", "ocr")  # one vector per video; the others are sequences
    d_model: int = 512  # §5.2.2.3
    n_heads: int = 4  # §5.2.2.3 ("4 heads")
    dropout: float = 0.5
    relu: bool = True  # ReLU on the concatenated vector before the classifier
    n_classes: int = len(EMOTIONS)
    labels: tuple = EMOTIONS

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} not divisible by n_heads {self.n_heads}")
        if not self.dims or min(self.dims.values()) < 1:
            raise ValueError(f"dims must name at least one modality with a positive width: {self.dims}")
        unknown = set(self.singular) - set(self.dims)
        if unknown:
            raise ValueError(f"singular modalities {sorted(unknown)} are not in dims {sorted(self.dims)}")
        if len(self.labels) != self.n_classes:
            raise ValueError(f"{len(self.labels)} labels for {self.n_classes} classes")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"dropout must be in [0, 1): {self.dropout}")

    @property
    def sequential(self) -> tuple:
        return tuple(m for m in self.dims if m not in self.singular)

    @property
    def pairs(self) -> tuple:
        """Every ordered pair of sequential modalities (query, key)."""
        return tuple(permutations(self.sequential, 2))

    def to_dict(self) -> dict:
        d = asdict(self)
        d["singular"], d["labels"] = list(self.singular), list(self.labels)
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "VemoclapConfig":
        return cls(**tuples(d))


class Vemoclap(nn.Module):
    def __init__(self, cfg: VemoclapConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        # min-max statistics (one scalar per modality, as the published stats); identity until set
        self.register_buffer("stat_min", torch.zeros(len(cfg.dims)))
        self.register_buffer("stat_max", torch.ones(len(cfg.dims)))
        self.encoders = nn.ModuleDict({m: nn.Linear(w, d) for m, w in cfg.dims.items()})
        self.q = nn.ModuleDict({m: nn.Linear(d, d) for m in cfg.sequential})
        self.k = nn.ModuleDict({m: nn.Linear(d, d) for m in cfg.sequential})
        self.v = nn.ModuleDict({m: nn.Linear(d, d) for m in cfg.sequential})
        self.attn = nn.ModuleDict(
            {f"{a}__{b}": nn.MultiheadAttention(d, cfg.n_heads, dropout=cfg.dropout, batch_first=True) for a, b in cfg.pairs}
        )
        self.norms = nn.ModuleDict({f"{a}__{b}": nn.LayerNorm(d) for a, b in cfg.pairs})
        # learned stand-ins for a pair / singular modality with no data (masking, not zeros)
        self.absent = nn.ParameterDict(
            {name: nn.Parameter(torch.randn(d) * 0.02) for name in [f"{a}__{b}" for a, b in cfg.pairs] + list(cfg.singular)}
        )
        self.drop = nn.Dropout(cfg.dropout)
        self.head = nn.Linear(d * (len(cfg.pairs) + len(cfg.singular)), cfg.n_classes)

    # ---------------------------------------------------------------------------------------
    def set_stats(self, stats: dict):
        """Set min-max statistics {modality: {"min", "max"}} (from the training features)."""
        for i, m in enumerate(self.cfg.dims):
            self.stat_min[i] = float(stats[m]["min"])
            self.stat_max[i] = float(stats[m]["max"])

    def stats(self) -> dict:
        return {m: {"min": float(self.stat_min[i]), "max": float(self.stat_max[i])} for i, m in enumerate(self.cfg.dims)}

    def trainable_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters() if p.requires_grad)

    def _normalise(self, i: int, x: torch.Tensor) -> torch.Tensor:
        lo, hi = self.stat_min[i], self.stat_max[i]
        return (x - lo) / (hi - lo).clamp(min=1e-8)

    def forward(self, x: dict, mask: dict) -> torch.Tensor:
        """x {modality: (B, T, D) sequential | (B, D) singular}; mask {modality: (B, T) | (B,) bool,
        True = real data}. Modalities absent from x count as fully masked. Returns logits (B, n_classes)."""
        cfg = self.cfg
        B = next(iter(x.values())).shape[0]
        dev = self.head.weight.device
        enc, valid = {}, {}
        for i, m in enumerate(cfg.dims):
            if m not in x:
                continue
            v = mask[m].to(dev, torch.bool)  # (B, T) or (B,)
            xm = self._normalise(i, x[m].to(dev, torch.float32))
            xm = xm.masked_fill(~v.unsqueeze(-1), 0.0)  # masked values never reach the output
            enc[m] = self.drop(self.encoders[m](xm))  # (B, T, d) or (B, d)
            valid[m] = v

        parts = []
        for a, b in cfg.pairs:
            name = f"{a}__{b}"
            absent = self.absent[name].expand(B, -1)  # (B, d)
            if a not in enc or b not in enc:
                parts.append(absent)
                continue
            qv, kv = valid[a], valid[b]  # (B, Tq), (B, Tk)
            has = qv.any(1) & kv.any(1)  # (B,) both sides have data
            key_pad = ~kv
            key_pad = key_pad & has.unsqueeze(1)  # rows without keys: attend to zeros, replaced below
            q = self.drop(self.q[a](enc[a]))  # (B, Tq, d)
            k = self.drop(self.k[b](enc[b]))  # (B, Tk, d)
            val = self.drop(self.v[b](enc[b]))  # (B, Tk, d)
            y, _ = self.attn[name](q, k, val, key_padding_mask=key_pad, need_weights=False)  # (B, Tq, d)
            y = self.drop(self.norms[name](y))
            y = masked_mean(y, qv)  # (B, d)
            parts.append(torch.where(has.unsqueeze(1), y, absent))
        for m in cfg.singular:
            absent = self.absent[m].expand(B, -1)
            parts.append(absent if m not in enc else torch.where(valid[m].unsqueeze(1), enc[m], absent))

        h = torch.cat(parts, dim=1)  # (B, d * (pairs + singular))
        if cfg.relu:
            h = torch.relu(h)
        return self.head(h)  # (B, n_classes)

    @torch.no_grad()
    def probs(self, x: dict, mask: dict) -> torch.Tensor:
        return torch.softmax(self(x, mask), dim=-1)  # (B, n_classes)
