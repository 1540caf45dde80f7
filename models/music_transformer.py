"""The conditional music transformer (thesis §2.3, §4.1, §4.2 Fig. 4.3, §4.4, §6.2 eq. 6.1).

A decoder-only transformer with relative global attention (Huang et al. 2019) over the shared
token vocabulary `emsync.music.vocab` ("emsync-v1"), conditioned on

* emotion (§4.2), one of four modes:
    - ``vanilla``: no conditioning;
    - ``discrete_token``: VALENCE_k / AROUSAL_k bin tokens (5 equal bins) prepended;
    - ``continuous_token``: FFN_v(valence), FFN_a(arousal) vectors prepended along the sequence;
    - ``continuous_concat``: one condition vector (d_cond) concatenated to every token embedding
      along the features (§4.4: 192 + 576 = 768); it may differ per token ((B, T) valence/arousal),
      which the generation engine uses to change the emotion at a scene boundary.
  A NaN valence/arousal uses a learned "missing" embedding instead (§4.2).
* temporal boundaries (§4.1, eq. 6.1): the offset (seconds to the next boundary, capped) of every
  token goes through FFN_b and is concatenated with a *halved* learned positional encoding. Without
  offsets (``offsets=None``) the halved positional encoding is repeated along the features, so the
  same weights run with or without boundaries.

Public API (stable; used by training, evaluation and the generation engine):

    cfg = MusicTransformerConfig.from_name("37m", conditioning="continuous_token")
    model = MusicTransformer(cfg)
    logits = model(tokens, valence, arousal, offsets=None)          # (B, T, V)
    cache = model.new_cache(batch=B)                                 # explicit KV cache
    logits, cache = model(tokens, valence, arousal, offsets, cache=cache)  # prefill, then 1 token/step
    logits = model.decode_static(tok, valence, arousal, off, cache, pos_t)  # (B, V) fixed shapes (CUDA graphs)
    write_bytes(path, checkpoint_bytes(model, extra={...})); model, extra = load_checkpoint(open(path, "rb"))

Shapes: ``tokens`` (B, T) long music tokens (no condition tokens: the model adds its own prefix),
``valence``/``arousal`` (B,) float in [-1, 1] or NaN (ignored by ``vanilla``), ``offsets`` (B, T)
float seconds or None; logits (B, T, V) where ``logits[:, t]`` predicts ``tokens[:, t + 1]``.

Sequence layout: ``n_prefix`` condition positions (2 for the token modes, 0 otherwise) then at most
``max_len`` music tokens. Prefix positions always take the no-offset positional encoding.

Relative attention: one relative embedding table E_r (n_pos, d_head) per layer, shared by its
heads; index ``n_pos - 1 - d`` holds distance d = i - j >= 0. Logits
``(q_i . k_j + q_i . E_r[n_pos-1-(i-j)]) / sqrt(d_head)`` with a causal mask. The rel term is
computed with the "skewing" trick (pad one column, reshape, slice) generalised to queries that
are the last Tq of Nk keys, which is exactly the cached case; for one new query it reduces to
``q @ E_r[n_pos - Nk:].T`` (the bias row computed directly). ``naive_relative_logits`` is the
O(L^2) reference used by the tests. One table shared by the heads (not one per head) is what
puts the §4.4 model at ~145M parameters; per-head tables would add 18.7M.

Layers are pre-LayerNorm with ReLU feed-forward (§2.3); the output head is not tied to the
embedding.
"""

from dataclasses import asdict, dataclass, fields

import torch
import torch.nn as nn
import torch.nn.functional as F

from . import checkpoint

CONDITIONING_MODES = ("vanilla", "discrete_token", "continuous_token", "continuous_concat")

# emsync-v1 ids (emsync/music/vocab.py); kept literal so models/ stays pure PyTorch.
VOCAB_SIZE = 1021
VALENCE_OFFSET, AROUSAL_OFFSET, N_BINS = 6, 11, 5
BIN_EDGES = (-0.6, -0.2, 0.2, 0.6)  # five equal bins over [-1, 1], an edge goes to the upper bin


@dataclass(frozen=True)
class MusicTransformerConfig:
    n_layers: int = 2
    n_heads: int = 2
    d_model: int = 64
    d_ff: int = 256
    vocab_size: int = VOCAB_SIZE
    max_len: int = 1216  # music tokens per window (§4.4)
    conditioning: str = "continuous_token"  # one of CONDITIONING_MODES (§4.2)
    boundaries: bool = True  # FFN_b + halved positional encoding (§4.1, eq. 6.1)
    d_cond: int = 0  # continuous_concat condition width; 0 -> d_model // 4 (§4.4: 192 of 768)
    d_cond_hidden: int = 64  # hidden width of FFN_v / FFN_a / FFN_b
    max_offset_s: float = 10.0  # δ_max: offsets are capped here and scaled by it (§4.1)
    dropout: float = 0.0  # §6.2: none; §4.4: 0.1

    def __post_init__(self):
        if self.conditioning not in CONDITIONING_MODES:
            raise ValueError(f"conditioning {self.conditioning!r} not in {CONDITIONING_MODES}")
        if self.d_model % self.n_heads:
            raise ValueError(f"d_model {self.d_model} not divisible by n_heads {self.n_heads}")
        if self.boundaries and self.d_model % 2:
            raise ValueError("boundary conditioning halves the positional encoding: d_model must be even")
        if self.conditioning == "continuous_concat" and not 0 < self.cond_width < self.d_model:
            raise ValueError(f"d_cond {self.d_cond} must be in 1..d_model-1")
        if min(self.n_layers, self.n_heads, self.d_ff, self.max_len, self.vocab_size) < 1:
            raise ValueError(f"config sizes must be positive: {self}")

    @property
    def n_prefix(self) -> int:
        """Condition positions before the music tokens."""
        return 2 if self.conditioning in ("discrete_token", "continuous_token") else 0

    @property
    def n_pos(self) -> int:
        """Positional / relative-distance table length: prefix + window."""
        return self.n_prefix + self.max_len

    @property
    def cond_width(self) -> int:
        return self.d_cond or self.d_model // 4

    @property
    def d_head(self) -> int:
        return self.d_model // self.n_heads

    @classmethod
    def from_name(cls, name: str, **overrides) -> "MusicTransformerConfig":
        if name not in configs:
            raise ValueError(f"unknown model config {name!r} (known: {', '.join(configs)})")
        return cls(**{**asdict(configs[name]), **overrides})

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "MusicTransformerConfig":
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"unknown config keys {sorted(unknown)}")
        return cls(**d)


configs = {
    # tests and the demo pipeline
    "tiny": MusicTransformerConfig(n_layers=2, n_heads=2, d_model=64, d_ff=256, max_len=256),
    # §6.2 generator: 11 layers, 8 heads, d 512, "37M parameters"; d_ff 2048 gives 36.98M with the
    # §6.2 conditioning (continuous_token + boundaries); every mode is within 1 % (tests/test_model_transformer.py)
    "37m": MusicTransformerConfig(n_layers=11, n_heads=8, d_model=512, d_ff=2048),
    # §4.4 emotion models: 20 layers, 16 heads, d 768, ff 3072, "around 145 million", dropout 0.1
    "145m": MusicTransformerConfig(n_layers=20, n_heads=16, d_model=768, d_ff=3072, boundaries=False, dropout=0.1),
    # the generator shipped in the package (trained on music21's public-domain corpus on 2 CPU cores,
    # docs/real_music.md): the three sizes of the pilot runs; real_music.config names the one they chose
    "real-s": MusicTransformerConfig(n_layers=4, n_heads=4, d_model=128, d_ff=512, max_len=512, conditioning="continuous_concat"),
    "real-m": MusicTransformerConfig(n_layers=6, n_heads=6, d_model=192, d_ff=768, max_len=512, conditioning="continuous_concat"),
    "real-l": MusicTransformerConfig(n_layers=8, n_heads=8, d_model=256, d_ff=1024, max_len=512, conditioning="continuous_concat"),
}


# --------------------------------------------------------------------------------------------
# relative attention


def relative_logits(q: torch.Tensor, rel_emb: torch.Tensor, n_keys: int) -> torch.Tensor:
    """S[i, j] = q_i . E[n_pos - 1 - (Nk - Tq + i - j)] for queries that are the last Tq of Nk keys.

    q (B, H, Tq, Dh), rel_emb (n_pos, Dh) with Nk <= n_pos  ->  (B, H, Tq, Nk); entries with
    j > i + Nk - Tq (future keys) are garbage and must be masked. Skewing (Huang et al. 2019):
    row i of q @ E[-Nk:].T holds distances Nk-1 .. 0 and must shift left by Tq-1-i; padding one
    zero column and reading the flat buffer from offset Tq does exactly that, with no gather.
    """
    B, H, Tq, _ = q.shape
    qe = q @ rel_emb[rel_emb.shape[0] - n_keys :].transpose(0, 1)  # (B, H, Tq, Nk): col m = distance Nk-1-m
    if Tq == 1:
        return qe  # the single new row needs no skew
    qe = F.pad(qe, (1, 0))  # (B, H, Tq, Nk+1)
    return qe.reshape(B, H, Tq * (n_keys + 1))[:, :, Tq:].reshape(B, H, Tq, n_keys)


def naive_relative_logits(q: torch.Tensor, rel_emb: torch.Tensor, n_keys: int) -> torch.Tensor:
    """O(Tq * Nk) loop reference for `relative_logits` (future entries left at 0)."""
    B, H, Tq, _ = q.shape
    L = rel_emb.shape[0]
    out = q.new_zeros(B, H, Tq, n_keys)
    for i in range(Tq):
        qi = n_keys - Tq + i  # absolute position of query i
        for j in range(qi + 1):
            out[:, :, i, j] = (q[:, :, i] * rel_emb[L - 1 - (qi - j)]).sum(-1)
    return out


class RelativeGlobalAttention(nn.Module):
    def __init__(self, cfg: MusicTransformerConfig):
        super().__init__()
        self.n_heads, self.d_head = cfg.n_heads, cfg.d_head
        self.qkv = nn.Linear(cfg.d_model, 3 * cfg.d_model)
        self.proj = nn.Linear(cfg.d_model, cfg.d_model)
        self.rel_emb = nn.Parameter(torch.randn(cfg.n_pos, cfg.d_head) * cfg.d_head**-0.5)  # E_r, shared by heads
        self.dropout = cfg.dropout

    def forward(self, x, layer_cache=None, pos: int = 0):
        """x (B, T, C); layer_cache None or (k_buf, v_buf) of shape (B, H, S_max, Dh) holding `pos`
        earlier positions (written in place). Returns (B, T, C)."""
        B, T, C = x.shape
        q, k, v = self.qkv(x).view(B, T, 3, self.n_heads, self.d_head).permute(2, 0, 3, 1, 4)  # each (B, H, T, Dh)
        if layer_cache is not None:
            k_buf, v_buf = layer_cache
            k_buf[:, :, pos : pos + T] = k
            v_buf[:, :, pos : pos + T] = v
            k, v = k_buf[:, :, : pos + T].to(q.dtype), v_buf[:, :, : pos + T].to(q.dtype)  # (B, H, Nk, Dh); no-op unless autocast
        n_keys = k.shape[2]
        if T == 1 and x.device.type == "cpu" and not (self.training and self.dropout):  # the CPU decode step
            return self.proj(self._attend_one(q, k, v).reshape(B, 1, C))  # (B, 1, C)
        scale = self.d_head**-0.5
        bias = relative_logits(q, self.rel_emb, n_keys) * scale  # (B, H, T, Nk)
        if T > 1:  # causal: query i sits at absolute position n_keys - T + i
            i = torch.arange(T, device=x.device)[:, None] + (n_keys - T)
            bias = bias.masked_fill(torch.arange(n_keys, device=x.device)[None, :] > i, float("-inf"))
        y = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=self.dropout if self.training else 0.0)
        return self.proj(y.transpose(1, 2).reshape(B, T, C))  # (B, T, C)

    def _attend_one(self, q, k, v):
        """softmax((q k^T + S_rel) / sqrt(Dh)) v written out for one new query (the decode step).

        Same numbers as the SDPA path (tests/test_generate_cpu.py); q is scaled once, then one
        matmul, one in-place add of the directly computed bias row, the softmax and one matmul, with
        no mask (every key is in the past) and no separate scaled bias tensor. On CPU a 37m decode
        step measured ~6 % less CPU time this way than through SDPA with a float mask.
        q (B, H, 1, Dh), k, v (B, H, Nk, Dh) -> (B, H, 1, Dh)."""
        q = q * q.shape[-1] ** -0.5
        s = torch.matmul(q, k.transpose(-1, -2))  # (B, H, 1, Nk)
        s += relative_logits(q, self.rel_emb, k.shape[2])  # the bias row, no skew needed
        return torch.matmul(s.softmax(-1), v)  # (B, H, 1, Dh)

    def forward_static(self, x, k_buf, v_buf, pos_t):
        """One new token with static shapes (CUDA-graph / torch.compile friendly).

        x (B, 1, C); k_buf, v_buf (B, H, S, Dh) with S <= n_pos; pos_t 0-d long tensor, the
        token's absolute position. Keys beyond pos_t are masked; the relative bias row is
        q . E_r[n_pos - 1 - (pos - j)] gathered directly."""
        B, _, C = x.shape
        q, k, v = self.qkv(x).view(B, 1, 3, self.n_heads, self.d_head).permute(2, 0, 3, 1, 4)  # each (B, H, 1, Dh)
        idx = pos_t.view(1)
        k_buf.index_copy_(2, idx, k)
        v_buf.index_copy_(2, idx, v)
        S, L = k_buf.shape[2], self.rel_emb.shape[0]
        j = torch.arange(S, device=x.device)
        qe = q @ self.rel_emb.transpose(0, 1)  # (B, H, 1, L): col m = distance L-1-m
        col = (j + (L - 1) - pos_t).clamp(0, L - 1)  # (S,)
        bias = qe.gather(-1, col.view(1, 1, 1, S).expand(B, self.n_heads, 1, S)) * self.d_head**-0.5
        bias = bias.masked_fill(j > pos_t, float("-inf"))  # (B, H, 1, S)
        y = F.scaled_dot_product_attention(q, k_buf, v_buf, attn_mask=bias)
        return self.proj(y.transpose(1, 2).reshape(B, 1, C))


class Block(nn.Module):
    """Pre-LayerNorm transformer decoder layer (§2.3): attention + ReLU feed-forward, residuals."""

    def __init__(self, cfg: MusicTransformerConfig):
        super().__init__()
        self.ln1 = nn.LayerNorm(cfg.d_model)
        self.attn = RelativeGlobalAttention(cfg)
        self.ln2 = nn.LayerNorm(cfg.d_model)
        self.ff = nn.Sequential(nn.Linear(cfg.d_model, cfg.d_ff), nn.ReLU(), nn.Linear(cfg.d_ff, cfg.d_model))
        self.drop = nn.Dropout(cfg.dropout)

    def forward(self, x, layer_cache=None, pos: int = 0):
        if not self.training:  # inference: skip the no-op dropout calls (per-token overhead when decoding)
            x = x + self.attn(self.ln1(x), layer_cache, pos)
            return x + self.ff(self.ln2(x))
        x = x + self.drop(self.attn(self.ln1(x), layer_cache, pos))
        return x + self.drop(self.ff(self.ln2(x)))

    def forward_static(self, x, k_buf, v_buf, pos_t):
        x = x + self.attn.forward_static(self.ln1(x), k_buf, v_buf, pos_t)
        return x + self.ff(self.ln2(x))


class ScalarFFN(nn.Module):
    """FFN for one scalar condition (valence, arousal or a boundary offset) with a learned
    embedding used where the scalar is NaN (§4.2: missing label)."""

    def __init__(self, hidden: int, out: int):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(1, hidden), nn.ReLU(), nn.Linear(hidden, out))
        self.missing = nn.Parameter(torch.randn(out) * 0.02)

    def forward(self, x):  # x (...,) -> (..., out)
        x = x.to(self.missing.dtype)
        nan = torch.isnan(x)
        y = self.net(torch.nan_to_num(x, nan=0.0).unsqueeze(-1))
        return torch.where(nan.unsqueeze(-1), self.missing.to(y.dtype), y)


# --------------------------------------------------------------------------------------------
# the model


@dataclass
class KVCache:
    """Per-layer key/value buffers for incremental decoding, passed explicitly to `forward`.

    k, v: (n_layers, B, H, S_max, Dh) preallocated; `pos` = positions filled (prefix included).
    The buffers are fixed-size, so a decode step never reallocates. Positions are absolute
    (learned positional encodings), so the cache cannot slide: when a window is full the engine
    re-prefills from the retained tail (see models/generation.py).
    """

    k: torch.Tensor
    v: torch.Tensor
    pos: int = 0

    @property
    def capacity(self) -> int:
        return self.k.shape[3]

    def reset(self) -> "KVCache":
        self.pos = 0
        return self


class MusicTransformer(nn.Module):
    """See the module docstring. ``forward(tokens, valence, arousal, offsets=None, cache=None)``."""

    def __init__(self, cfg: MusicTransformerConfig):
        super().__init__()
        self.cfg = cfg
        d = cfg.d_model
        d_tok = d - cfg.cond_width if cfg.conditioning == "continuous_concat" else d
        self.tok_emb = nn.Embedding(cfg.vocab_size, d_tok)
        d_pe = d // 2 if cfg.boundaries else d
        self.pos_emb = nn.Parameter(torch.randn(cfg.n_pos, d_pe) * 0.02)  # W_pe (learned, §2.3)
        if cfg.boundaries:
            self.ffn_b = ScalarFFN(cfg.d_cond_hidden, d - d_pe)  # FFN_b (eq. 6.1)
        if cfg.conditioning == "discrete_token":
            self.missing_cond = nn.Parameter(torch.randn(2, d) * 0.02)  # NO_VALENCE / NO_AROUSAL
        elif cfg.conditioning == "continuous_token":
            self.ffn_v = ScalarFFN(cfg.d_cond_hidden, d)  # FFN_v
            self.ffn_a = ScalarFFN(cfg.d_cond_hidden, d)  # FFN_a
        elif cfg.conditioning == "continuous_concat":
            half = cfg.cond_width // 2
            self.ffn_v = ScalarFFN(cfg.d_cond_hidden, half)
            self.ffn_a = ScalarFFN(cfg.d_cond_hidden, cfg.cond_width - half)
        self.drop = nn.Dropout(cfg.dropout)
        self.blocks = nn.ModuleList(Block(cfg) for _ in range(cfg.n_layers))
        self.ln_f = nn.LayerNorm(d)
        self.head = nn.Linear(d, cfg.vocab_size)
        self.register_buffer("bin_edges", torch.tensor(BIN_EDGES), persistent=False)
        self.apply(self._init)

    @staticmethod
    def _init(m):
        if isinstance(m, (nn.Linear, nn.Embedding)):
            nn.init.normal_(m.weight, std=0.02)
            if isinstance(m, nn.Linear) and m.bias is not None:
                nn.init.zeros_(m.bias)

    def num_parameters(self) -> int:
        return sum(p.numel() for p in self.parameters())

    def new_cache(self, batch: int, device=None, dtype=None, capacity: int | None = None) -> KVCache:
        """Empty cache for `batch` sequences of at most `capacity` positions (default n_pos)."""
        cfg = self.cfg
        capacity = capacity or cfg.n_pos
        if capacity > cfg.n_pos:
            raise ValueError(f"cache capacity {capacity} exceeds the model's {cfg.n_pos} positions")
        p = self.pos_emb  # (a plain parameter even after int8 quantization of the Linear layers)
        shape = (cfg.n_layers, batch, cfg.n_heads, capacity, cfg.d_head)
        device, dtype = device or p.device, dtype or p.dtype
        return KVCache(torch.zeros(shape, device=device, dtype=dtype), torch.zeros(shape, device=device, dtype=dtype))

    # -- inputs (eq. 6.1) --------------------------------------------------------------------

    def _prefix(self, valence, arousal, dtype):
        """Condition vectors placed before the music tokens: (B, n_prefix, d)."""
        cfg = self.cfg
        if cfg.conditioning == "continuous_token":
            return torch.stack([self.ffn_v(valence), self.ffn_a(arousal)], dim=1).to(dtype)
        # discrete_token: bin into 5 equal bins (§4.2) -> VALENCE_k / AROUSAL_k token embeddings
        conds = []
        for x, offset, slot in ((valence, VALENCE_OFFSET, 0), (arousal, AROUSAL_OFFSET, 1)):
            ids = offset + torch.bucketize(torch.nan_to_num(x, nan=0.0).float(), self.bin_edges, right=True)
            e = self.tok_emb(ids)  # (B, d)
            conds.append(torch.where(torch.isnan(x).unsqueeze(-1), self.missing_cond[slot].to(e.dtype), e))
        return torch.stack(conds, dim=1).to(dtype)

    def _positions(self, start: int, T: int, offsets, pe=None):
        """Positional part of eq. 6.1 for absolute positions start .. start+T-1: (B or 1, T, d)."""
        if pe is None:
            if start + T > self.cfg.n_pos:
                raise ValueError(f"positions up to {start + T} exceed the model's {self.cfg.n_pos}")
            pe = self.pos_emb[start : start + T]  # (T, d_pe)
        if not self.cfg.boundaries:
            if offsets is not None:
                raise ValueError("this model has no boundary conditioning (cfg.boundaries=False); pass offsets=None")
            return pe.unsqueeze(0)
        if offsets is None:  # no boundaries: repeat the halved positional encoding (§4.1)
            return torch.cat([pe, pe], dim=-1).unsqueeze(0)
        b = self.ffn_b(offsets.clamp(max=self.cfg.max_offset_s) / self.cfg.max_offset_s)  # (B, T, d/2)
        return torch.cat([b, pe.unsqueeze(0).expand(b.shape[0], -1, -1).to(b.dtype)], dim=-1)

    def forward(self, tokens, valence=None, arousal=None, offsets=None, cache: KVCache | None = None):
        """tokens (B, T) long; valence, arousal (B,) float or NaN, or (B, T) per token for
        continuous_concat (each token's embedding carries its own condition); offsets (B, T) or None.

        Without a cache: the whole sequence (T <= max_len) -> logits (B, T, V).
        With a cache: the T new tokens continue the cached sequence (an empty cache first gets
        the condition prefix) -> (logits (B, T, V), cache) with cache.pos advanced by the
        positions written. Cached and uncached logits agree (tests/test_model_cache.py).
        """
        cfg = self.cfg
        B, T = tokens.shape
        if offsets is not None and offsets.shape != tokens.shape:
            raise ValueError(f"offsets {tuple(offsets.shape)} must match tokens {tuple(tokens.shape)}")
        if cfg.conditioning != "vanilla":
            if valence is None or arousal is None:
                raise ValueError(f"{cfg.conditioning} model needs valence and arousal (NaN = missing)")
            valence = torch.as_tensor(valence, dtype=torch.float32, device=tokens.device)
            arousal = torch.as_tensor(arousal, dtype=torch.float32, device=tokens.device)
            if valence.dim() == 2 or arousal.dim() == 2:  # one condition per token (emotion per scene)
                if cfg.conditioning != "continuous_concat":
                    raise ValueError(f"per-token valence/arousal (B, T) needs continuous_concat, not {cfg.conditioning}")
                valence, arousal = valence.expand(B, T), arousal.expand(B, T)
            else:
                valence, arousal = valence.expand(B), arousal.expand(B)
        start = cache.pos if cache is not None else 0
        with_prefix = start == 0 and cfg.n_prefix > 0

        x = self.tok_emb(tokens)  # (B, T, d_tok)
        if cfg.conditioning == "continuous_concat":
            c = torch.cat([self.ffn_v(valence), self.ffn_a(arousal)], dim=-1).to(x.dtype)  # (B, d_cond) or (B, T, d_cond)
            x = torch.cat([c if c.dim() == 3 else c.unsqueeze(1).expand(B, T, -1), x], dim=-1)  # (B, T, d)
        music_start = max(start, cfg.n_prefix)
        x = x + self._positions(music_start, T, offsets).to(x.dtype)
        if with_prefix:
            prefix = self._prefix(valence, arousal, x.dtype) + self._positions(0, cfg.n_prefix, None).to(x.dtype)
            x = torch.cat([prefix, x], dim=1)  # (B, n_prefix + T, d)
        x = self.drop(x)

        for li, block in enumerate(self.blocks):
            layer_cache = (cache.k[li], cache.v[li]) if cache is not None else None
            x = block(x, layer_cache, start)
        x = self.ln_f(x[:, x.shape[1] - T :])  # drop prefix positions
        logits = self.head(x)  # (B, T, V)
        if cache is None:
            return logits
        cache.pos = start + x.shape[1] + (cfg.n_prefix if with_prefix else 0)
        return logits, cache

    def decode_static(self, token, valence, arousal, offset, cache: KVCache, pos_t):
        """One decode step with static shapes, for CUDA-graph capture or torch.compile.

        token (B, 1) long; offset (B, 1) or None; pos_t 0-d long tensor: the absolute position of
        `token` (prefix included; the cache must already hold the prefix, i.e. be prefilled by
        `forward`). Writes k/v at pos_t and returns logits (B, V); `cache.pos` is not touched (the
        caller owns the position). Same numbers as `forward(..., cache=cache)` (tests)."""
        cfg = self.cfg
        x = self.tok_emb(token)  # (B, 1, d_tok)
        if cfg.conditioning == "continuous_concat":
            c = torch.cat([self.ffn_v(valence), self.ffn_a(arousal)], dim=-1).to(x.dtype)  # (B, d_cond)
            x = torch.cat([c.unsqueeze(1), x], dim=-1)  # (B, 1, d)
        x = x + self._positions(0, 1, offset, pe=self.pos_emb.index_select(0, pos_t.view(1))).to(x.dtype)
        for li, block in enumerate(self.blocks):
            x = block.forward_static(x, cache.k[li], cache.v[li], pos_t)
        return self.head(self.ln_f(x))[:, 0]  # (B, V)


# --------------------------------------------------------------------------------------------
# checkpoints


def checkpoint_bytes(model: MusicTransformer, extra: dict | None = None) -> bytes:
    """{"config", "state_dict", "extra"} as reproducible bytes (models/checkpoint.py)."""
    return checkpoint.to_bytes(model, extra)


def load_checkpoint(f, map_location="cpu") -> tuple[MusicTransformer, dict]:
    """Rebuild the model from a checkpoint's file object or bytes -> (model in eval mode, extra)."""
    return checkpoint.load(f, lambda c: MusicTransformer(MusicTransformerConfig.from_dict(c)), map_location)
