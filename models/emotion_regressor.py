"""Valence/arousal regressor over music tokens (thesis §4.5, Fig. 4.4).

"A music transformer with 8 layers, and the final layer outputs two continuous values, namely the
valence and the arousal": the transformer body is the generator's (models/music_transformer.py,
relative global attention, reused, not copied), with

* a learned CLS embedding prepended to the tokens; its final state feeds the head;
* no causal mask: every position attends to every other. The relative-position term exists only
  for distances >= 0 (the generator's table), so keys after the query get content attention
  only (the upstream regressor does the same by zeroing those entries);
* a tanh head: outputs in [-1, 1], the range of the labels;
* trained with an L1 loss (emsync/training/regressor.py), NaN labels masked out.

    cfg = EmotionRegressorConfig(n_layers=8, d_model=512, n_heads=8, d_ff=2048)
    model = EmotionRegressor(cfg)
    va = model(tokens)            # tokens (B, T<=max_len) long -> (B, 2) in [-1, 1]
"""

from dataclasses import asdict, dataclass

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import checkpoint
from .music_transformer import VOCAB_SIZE, Block, MusicTransformerConfig, RelativeGlobalAttention, relative_logits

PAD_ID = 0  # emsync-v1 PAD (emsync/music/vocab.py)


@dataclass(frozen=True)
class EmotionRegressorConfig:
    n_layers: int = 8  # §4.5
    n_heads: int = 8
    d_model: int = 512
    d_ff: int = 2048
    vocab_size: int = VOCAB_SIZE
    max_len: int = 1216  # tokens per window (§4.5: same input length as the generator)
    dropout: float = 0.0

    def __post_init__(self):
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} not divisible by n_heads {self.n_heads}")
        if min(self.n_layers, self.n_heads, self.d_ff, self.max_len, self.vocab_size) < 1:
            raise ValueError(f"config sizes must be positive: {self}")

    def body_config(self) -> MusicTransformerConfig:
        """The generator config whose blocks form the body (one extra position for CLS)."""
        return MusicTransformerConfig(
            n_layers=self.n_layers,
            n_heads=self.n_heads,
            d_model=self.d_model,
            d_ff=self.d_ff,
            vocab_size=self.vocab_size,
            max_len=self.max_len + 1,
            conditioning="vanilla",
            boundaries=False,
            dropout=self.dropout,
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "EmotionRegressorConfig":
        return cls(**d)


class BidirectionalRelativeAttention(RelativeGlobalAttention):
    """The generator's relative global attention without the causal mask; PAD keys masked."""

    def forward(self, x, key_pad=None):
        """x (B, T, C); key_pad (B, T) bool, True where the key is PAD. Returns (B, T, C)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, self.d_head).permute(2, 0, 3, 1, 4)  # each (B, H, T, Dh)
        rel = relative_logits(q, self.rel_emb, T)  # (B, H, T, T), valid for j <= i
        future = torch.ones(T, T, dtype=torch.bool, device=x.device).triu(1)  # (T, T) j > i
        bias = rel.masked_fill(future, 0.0) * self.d_head**-0.5  # no relative term for later keys
        if key_pad is not None:
            bias = bias.masked_fill(key_pad[:, None, None, :], float("-inf"))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)


class _EncoderBlock(Block):
    def __init__(self, cfg: MusicTransformerConfig):
        super().__init__(cfg)
        self.attn = BidirectionalRelativeAttention(cfg)

    def forward(self, x, key_pad=None):
        x = x + self.drop(self.attn(self.ln1(x), key_pad))
        return x + self.drop(self.ff(self.ln2(x)))


class EmotionRegressor(nn.Module):
    def __init__(self, cfg: EmotionRegressorConfig):
        super().__init__()
        self.cfg = cfg
        body = cfg.body_config()
        self.tok_emb = nn.Embedding(cfg.vocab_size, cfg.d_model)
        self.cls = nn.Parameter(torch.randn(cfg.d_model) * 0.02)  # CLS token embedding
        self.pos_emb = nn.Parameter(torch.randn(body.n_pos, cfg.d_model) * 0.02)  # learned, CLS at 0
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(_EncoderBlock(body) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(cfg.d_model)
        self.head = nn.Sequential(nn.Linear(cfg.d_model, 2), nn.Tanh())  # (valence, arousal)

    def forward(self, tokens):
        """tokens (B, T) long, T <= max_len, PAD ignored -> (B, 2) valence, arousal in [-1, 1]."""
        B, T = tokens.shape
        if T > self.cfg.max_len:
            raise ValueError(f"{T} tokens exceed the regressor's window of {self.cfg.max_len}")
        x = self.tok_emb(tokens)  # (B, T, d)
        x = torch.cat([self.cls.to(x.dtype).expand(B, 1, -1), x], dim=1)  # (B, 1+T, d)
        x = self.drop(x + self.pos_emb[: T + 1])
        key_pad = torch.cat([torch.zeros(B, 1, dtype=torch.bool, device=tokens.device), tokens == PAD_ID], dim=1)  # (B, 1+T)
        for block in self.blocks:
            x = block(x, key_pad)
        return self.head(self.ln_f(x[:, 0]))  # (B, 2)


def regressor_bytes(model: EmotionRegressor, extra: dict | None = None) -> bytes:
    """{"config", "state_dict", "extra"} as reproducible bytes (models/checkpoint.py)."""
    return checkpoint.to_bytes(model, extra)
