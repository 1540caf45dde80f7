"""BEATs audio encoder (Chen et al. 2023), the thesis's audio model for video emotion (§5.2.1).

Written here from the paper and the layout of the official checkpoints (microsoft/unilm, beats/),
so that an official `.pt` file loads unchanged: the file is `torch.save({"cfg": {...}, "model":
state_dict})`, and the module names below are the state-dict keys it holds, e.g.

    patch_embedding.weight                           (embed_dim, 1, patch, patch)
    layer_norm.{weight,bias}                         (embed_dim,)   after the patch embedding
    post_extract_proj.{weight,bias}                  embed_dim -> encoder_embed_dim
    encoder.pos_conv.0.{weight_g,weight_v,bias}      weight-normed grouped conv (norm over dims 0, 1)
    encoder.layer_norm.{weight,bias}
    encoder.layers.<i>.self_attn.{q,k,v,out}_proj.{weight,bias}
    encoder.layers.<i>.self_attn.relative_attention_bias.weight   (num_buckets, heads), shared by all layers
    encoder.layers.<i>.self_attn.grep_linear.{weight,bias}, .grep_a   gated relative position (gru_rel_pos)
    encoder.layers.<i>.{self_attn_layer_norm,final_layer_norm}.{weight,bias}, fc1, fc2
    predictor.{weight,bias}                          fine-tuned models only (527 AudioSet classes)

Pipeline: 16 kHz waveform x 2^15 -> Kaldi fbank (128 mel bins, 25 ms / 10 ms frames, povey window)
normalised with the AudioSet statistics -> p x p patches (conv) -> LayerNorm -> projection ->
convolutional position encoding -> transformer (post-LN with DeepNorm residual scaling, or pre-LN)
with bucketed relative position bias gated per query -> (B, N, D) features; a fine-tuned model
averages the per-patch predictor logits over patches and applies a sigmoid.

    with open("data/pretrained/beats/BEATs_iter3_plus_AS2M_finetuned_on_AS2M_cpt2.pt", "rb") as f:
        model = load_beats(f)
    feats, probs = model(wave_16k)        # (B, N, 768), (B, 527) or None
"""

import io
import math
from dataclasses import asdict, dataclass, fields

import torch
import torch.nn.functional as F
from torch import nn

FBANK_MEAN, FBANK_STD = 15.41663, 6.55582  # AudioSet fbank statistics used by every BEATs checkpoint
SAMPLE_RATE = 16000
# keys an official cfg carries that only matter for training
TRAINING_KEYS = (
    "dropout",
    "attention_dropout",
    "activation_dropout",
    "encoder_layerdrop",
    "dropout_input",
    "layer_wise_gradient_decay_ratio",
    "predictor_dropout",
)


@dataclass
class BEATsConfig:
    input_patch_size: int = 16
    embed_dim: int = 512  # patch embedding width
    conv_bias: bool = False
    encoder_layers: int = 12
    encoder_embed_dim: int = 768
    encoder_ffn_embed_dim: int = 3072
    encoder_attention_heads: int = 12
    activation_fn: str = "gelu"
    layer_norm_first: bool = False  # pre-LN layers (else post-LN)
    deep_norm: bool = True  # post-LN residual scaled by (2 * layers) ** 0.25
    conv_pos: int = 128  # kernel of the convolutional position encoding
    conv_pos_groups: int = 16
    relative_position_embedding: bool = True
    num_buckets: int = 320
    max_distance: int = 800
    gru_rel_pos: bool = True  # gate the relative bias per query
    finetuned_model: bool = False  # has a predictor
    predictor_class: int = 527

    def __post_init__(self):
        if self.activation_fn != "gelu":
            raise ValueError(f"activation_fn {self.activation_fn!r}: only gelu is implemented")
        if self.layer_norm_first and self.deep_norm:
            raise ValueError("layer_norm_first and deep_norm exclude each other")
        if self.encoder_embed_dim % self.encoder_attention_heads:
            raise ValueError("encoder_embed_dim must be divisible by encoder_attention_heads")
        if self.input_patch_size < 1 or 128 % self.input_patch_size:
            raise ValueError(f"input_patch_size {self.input_patch_size} must divide the 128 mel bins")

    @classmethod
    def from_dict(cls, d: dict) -> "BEATsConfig":
        """From an official checkpoint's cfg: training-only keys are dropped, unknown keys refused."""
        names = {f.name for f in fields(cls)}
        unknown = sorted(set(d) - names - set(TRAINING_KEYS))
        if unknown:
            raise ValueError(f"unknown BEATs cfg keys {unknown}")
        return cls(**{k: v for k, v in d.items() if k in names})

    def to_dict(self) -> dict:
        return asdict(self)


# --------------------------------------------------------------------------------------------
# Kaldi filterbank (the features every BEATs checkpoint was trained on)


def _mel(f):
    return 1127.0 * torch.log(1.0 + f / 700.0)


def kaldi_mel_banks(n_bins: int = 128, n_fft: int = 512, sr: int = SAMPLE_RATE, low: float = 20.0, high: float = 0.0):
    """(n_fft // 2 + 1, n_bins) triangular filters on Kaldi's mel scale; the Nyquist row is zero."""
    high = high if high > 0 else sr / 2 + high
    m_lo, m_hi = _mel(torch.tensor(low, dtype=torch.float64)), _mel(torch.tensor(high, dtype=torch.float64))
    delta = (m_hi - m_lo) / (n_bins + 1)
    b = torch.arange(n_bins, dtype=torch.float64)[None, :]  # (1, n_bins)
    left, center, right = m_lo + b * delta, m_lo + (b + 1) * delta, m_lo + (b + 2) * delta
    mel = _mel(torch.arange(n_fft // 2, dtype=torch.float64) * (sr / n_fft))[:, None]  # (n_fft/2, 1)
    up, down = (mel - left) / (center - left), (right - mel) / (right - center)
    w = torch.where((mel > left) & (mel < right), torch.minimum(up, down), torch.zeros(()))
    return torch.cat([w, torch.zeros(1, n_bins, dtype=torch.float64)]).float()  # (n_fft/2 + 1, n_bins)


def kaldi_fbank(wave: torch.Tensor, n_bins: int = 128, sr: int = SAMPLE_RATE) -> torch.Tensor:
    """wave (S,) at int16 scale -> (frames, n_bins) log mel energies, Kaldi's defaults without
    dither: 25 ms frames every 10 ms (snip edges), DC removed, pre-emphasis 0.97, povey window,
    FFT of 512, power spectrum."""
    flen, shift = int(sr * 0.025), int(sr * 0.010)
    n_fft = 1 << (flen - 1).bit_length()
    if wave.shape[-1] < flen:
        return wave.new_zeros(0, n_bins)
    frames = wave.float().unfold(-1, flen, shift)  # (F, flen)
    frames = frames - frames.mean(dim=-1, keepdim=True)
    frames = torch.cat([frames[:, :1] * (1 - 0.97), frames[:, 1:] - 0.97 * frames[:, :-1]], dim=-1)
    n = torch.arange(flen, dtype=torch.float64)
    window = (0.5 - 0.5 * torch.cos(2 * math.pi * n / (flen - 1))).pow(0.85).float()  # povey
    spec = torch.fft.rfft(frames * window, n=n_fft).abs().pow(2)  # (F, n_fft/2 + 1)
    mel = spec @ kaldi_mel_banks(n_bins, n_fft, sr).to(spec.device)  # (F, n_bins)
    return mel.clamp(min=torch.finfo(torch.float32).eps).log()


# --------------------------------------------------------------------------------------------
# modules


class WeightNormConv1d(nn.Module):
    """Conv1d with weight = g * v / ||v|| (norm over output and input channels, per kernel tap),
    stored as weight_g (1, 1, K) and weight_v (C_out, C_in / groups, K) like the official files."""

    def __init__(self, channels: int, kernel: int, groups: int):
        super().__init__()
        self.weight_g = nn.Parameter(torch.ones(1, 1, kernel))
        self.weight_v = nn.Parameter(torch.randn(channels, channels // groups, kernel) * 0.02)
        self.bias = nn.Parameter(torch.zeros(channels))
        self.padding, self.groups = kernel // 2, groups

    def forward(self, x):  # (B, C, T)
        v = self.weight_v
        w = self.weight_g * v / v.pow(2).sum(dim=(0, 1), keepdim=True).sqrt()
        return F.conv1d(x, w, self.bias, padding=self.padding, groups=self.groups)


class _TrimLast(nn.Module):
    """An even kernel with padding K // 2 yields one extra step: drop it (the output keeps T)."""

    def __init__(self, kernel: int):
        super().__init__()
        self.trim = 1 if kernel % 2 == 0 else 0

    def forward(self, x):
        return x[..., : -self.trim] if self.trim else x


def relative_buckets(rel: torch.Tensor, num_buckets: int, max_distance: int) -> torch.Tensor:
    """Bidirectional T5-style buckets of key - query offsets: half the buckets per direction, exact
    below a quarter of them, logarithmic up to max_distance."""
    half = num_buckets // 2
    out = (rel > 0).long() * half
    rel = rel.abs()
    exact = half // 2
    far = exact + (torch.log(rel.float().clamp(min=1) / exact) / math.log(max_distance / exact) * (half - exact)).long()
    return out + torch.where(rel < exact, rel, far.clamp(max=half - 1))


class BEATsAttention(nn.Module):
    def __init__(self, cfg: BEATsConfig, owns_bias: bool):
        super().__init__()
        d, h = cfg.encoder_embed_dim, cfg.encoder_attention_heads
        self.h, self.dh = h, d // h
        self.q_proj, self.k_proj, self.v_proj, self.out_proj = (nn.Linear(d, d) for _ in range(4))
        if cfg.relative_position_embedding and owns_bias:
            self.relative_attention_bias = nn.Embedding(cfg.num_buckets, h)
        self.gru_rel_pos = cfg.gru_rel_pos
        if cfg.gru_rel_pos:
            self.grep_linear = nn.Linear(self.dh, 8)
            self.grep_a = nn.Parameter(torch.ones(1, h, 1, 1))

    def forward(self, x, pos_bias=None):  # x (B, N, D), pos_bias (H, N, N) or None
        B, N, _ = x.shape
        q = self.q_proj(x).view(B, N, self.h, self.dh).transpose(1, 2)  # (B, H, N, dh)
        k = self.k_proj(x).view(B, N, self.h, self.dh).transpose(1, 2)
        v = self.v_proj(x).view(B, N, self.h, self.dh).transpose(1, 2)
        logits = (q * self.dh**-0.5) @ k.transpose(-1, -2)  # (B, H, N, N)
        if pos_bias is not None:
            bias = pos_bias.unsqueeze(0)  # (1, H, N, N)
            if self.gru_rel_pos:  # per-query gate from the unscaled query
                g = torch.sigmoid(self.grep_linear(q).view(B, self.h, N, 2, 4).sum(-1))  # (B, H, N, 2)
                gate_a, gate_b = g[..., :1], g[..., 1:]  # (B, H, N, 1)
                bias = (gate_a * (gate_b * self.grep_a - 1.0) + 2.0) * bias  # (B, H, N, N)
            logits = logits + bias
        out = logits.softmax(dim=-1) @ v  # (B, H, N, dh)
        return self.out_proj(out.transpose(1, 2).reshape(B, N, -1))  # (B, N, D)


class BEATsLayer(nn.Module):
    def __init__(self, cfg: BEATsConfig, owns_bias: bool):
        super().__init__()
        d = cfg.encoder_embed_dim
        self.self_attn = BEATsAttention(cfg, owns_bias)
        self.self_attn_layer_norm = nn.LayerNorm(d)
        self.fc1 = nn.Linear(d, cfg.encoder_ffn_embed_dim)
        self.fc2 = nn.Linear(cfg.encoder_ffn_embed_dim, d)
        self.final_layer_norm = nn.LayerNorm(d)
        self.pre_ln = cfg.layer_norm_first
        self.alpha = (2 * cfg.encoder_layers) ** 0.25 if cfg.deep_norm else 1.0

    def forward(self, x, pos_bias=None):  # (B, N, D)
        if self.pre_ln:
            x = x + self.self_attn(self.self_attn_layer_norm(x), pos_bias)
            return x + self.fc2(F.gelu(self.fc1(self.final_layer_norm(x))))
        x = self.self_attn_layer_norm(x * self.alpha + self.self_attn(x, pos_bias))
        return self.final_layer_norm(x * self.alpha + self.fc2(F.gelu(self.fc1(x))))


class BEATsEncoder(nn.Module):
    def __init__(self, cfg: BEATsConfig):
        super().__init__()
        d = cfg.encoder_embed_dim
        self.cfg = cfg
        self.pos_conv = nn.Sequential(WeightNormConv1d(d, cfg.conv_pos, cfg.conv_pos_groups), _TrimLast(cfg.conv_pos), nn.GELU())
        self.layers = nn.ModuleList(BEATsLayer(cfg, owns_bias=(i == 0)) for i in range(cfg.encoder_layers))
        if cfg.relative_position_embedding:  # one table, registered under every layer (as saved)
            for layer in self.layers[1:]:
                layer.self_attn.relative_attention_bias = self.layers[0].self_attn.relative_attention_bias
        self.layer_norm = nn.LayerNorm(d)

    def position_bias(self, n: int, device) -> torch.Tensor:
        """(H, N, N) relative bias of key - query offsets."""
        pos = torch.arange(n, device=device)
        b = relative_buckets(pos[None, :] - pos[:, None], self.cfg.num_buckets, self.cfg.max_distance)  # (N, N)
        return self.layers[0].self_attn.relative_attention_bias(b).permute(2, 0, 1)

    def forward(self, x):  # (B, N, D)
        x = x + self.pos_conv(x.transpose(1, 2)).transpose(1, 2)
        if not self.cfg.layer_norm_first:
            x = self.layer_norm(x)
        bias = self.position_bias(x.shape[1], x.device) if self.cfg.relative_position_embedding else None
        for layer in self.layers:
            x = layer(x, bias)
        return self.layer_norm(x) if self.cfg.layer_norm_first else x


class BEATs(nn.Module):
    """forward(wave (B, S) at 16 kHz in [-1, 1]) -> (features (B, N, D), probs (B, C) or None)."""

    def __init__(self, cfg: BEATsConfig):
        super().__init__()
        self.cfg = cfg
        p = cfg.input_patch_size
        self.patch_embedding = nn.Conv2d(1, cfg.embed_dim, kernel_size=p, stride=p, bias=cfg.conv_bias)
        self.layer_norm = nn.LayerNorm(cfg.embed_dim)
        if cfg.embed_dim != cfg.encoder_embed_dim:
            self.post_extract_proj = nn.Linear(cfg.embed_dim, cfg.encoder_embed_dim)
        self.encoder = BEATsEncoder(cfg)
        if cfg.finetuned_model:
            self.predictor = nn.Linear(cfg.encoder_embed_dim, cfg.predictor_class)

    @property
    def min_samples(self) -> int:
        """Shortest waveform giving one patch row: (patch - 1) hops after the first 25 ms frame."""
        return int(SAMPLE_RATE * 0.025) + (self.cfg.input_patch_size - 1) * int(SAMPLE_RATE * 0.010)

    def fbank(self, wave: torch.Tensor) -> torch.Tensor:
        """(B, S) -> (B, T, 128) normalised log mel energies."""
        f = torch.stack([kaldi_fbank(w * 2**15) for w in wave])  # (B, T, 128)
        return (f - FBANK_MEAN) / (2 * FBANK_STD)

    def forward(self, wave: torch.Tensor):
        if wave.shape[-1] < self.min_samples:
            raise ValueError(f"BEATs needs at least {self.min_samples} samples (16 kHz), got {wave.shape[-1]}")
        x = self.patch_embedding(self.fbank(wave).unsqueeze(1))  # (B, E, T/p, 128/p)
        x = self.layer_norm(x.flatten(2).transpose(1, 2))  # (B, N, E)
        if self.cfg.embed_dim != self.cfg.encoder_embed_dim:
            x = self.post_extract_proj(x)  # (B, N, D)
        x = self.encoder(x)  # (B, N, D)
        probs = torch.sigmoid(self.predictor(x).mean(dim=1)) if self.cfg.finetuned_model else None  # (B, C)
        return x, probs


# --------------------------------------------------------------------------------------------
# the official checkpoint file: {"cfg": dict, "model": state_dict}


def beats_bytes(model: BEATs) -> bytes:
    """`model` in the official checkpoint layout, as reproducible bytes (the caller writes them)."""
    buf = io.BytesIO()  # a file target would embed its own name in the archive
    torch.save({"cfg": model.cfg.to_dict(), "model": model.state_dict()}, buf)
    return buf.getvalue()


def load_beats(f, map_location="cpu") -> BEATs:
    """An official BEATs checkpoint (file object or bytes; or one from beats_bytes) -> BEATs in eval mode."""
    if isinstance(f, (bytes, bytearray)):
        f = io.BytesIO(f)
    name = getattr(f, "name", "BEATs checkpoint")
    ckpt = torch.load(f, map_location=map_location, weights_only=True)
    if not isinstance(ckpt, dict) or "cfg" not in ckpt or "model" not in ckpt:
        raise ValueError(f"{name}: not a BEATs checkpoint (expected a dict with 'cfg' and 'model')")
    model = BEATs(BEATsConfig.from_dict(dict(ckpt["cfg"])))
    missing, unexpected = model.load_state_dict(ckpt["model"], strict=False)
    if missing or unexpected:
        raise ValueError(f"{name}: state dict does not fit its cfg (missing {missing[:5]}, unexpected {unexpected[:5]})")
    return model.eval()
