"""Generation engine for the music transformer (thesis §4.1 Algorithm 1, §4.4, §6.2).

The sampling loop lives here, beside the model, not inside it. One call generates a batch of
samples (each with its own valence, arousal and boundaries) until every sample's time cursor
reaches the target duration (or a token budget):

    from emsync.music.generator import token_ids
    from emsync.models.generation import Condition, SamplingConfig, generate, make_primer
    ids = token_ids()  # the vocabulary's ids come in from the library; models/ imports nothing of emsync
    res = generate(model, [Condition(0.5, -0.2, boundaries=(4.0, 9.5))], make_primer(ids, "start_bar", "more"),
                   duration_s=30.0, cfg=SamplingConfig(tokens=ids), seed=0)
    res.tokens[0]  # np.int64 ids, primer included -> emsync.music.tokenizer.decode(ids, chord_boost=...)

Per step (batched):
* Algorithm 1: a time cursor advances by every TIMESHIFT; a CHORD consumes the boundaries within
  ξ (1 s) of the cursor; the new token's offset is the time to the next unconsumed future
  boundary, capped at δ_max. Primer tokens go through the same update, so their offsets follow
  the same rule (as `emsync.music.offsets.boundary_offsets` does in training).
* Nucleus sampling (p = 0.7) at temperature 1.2 (§4.4); when the previous step's nucleus held fewer
  than 3 tokens the temperature is raised by `temperature_step`, cumulatively, and falls back to
  the base once the nucleus is wide enough again. Tokens that only appear at a song's head
  (PAD, START, FEWER/MORE_INSTRUMENTS, VALENCE_*/AROUSAL_*) are never sampled.
* Window (§4.4): the model sees at most `window` music tokens, like the training chunks: the
  FEWER/MORE_INSTRUMENTS head token pinned first (its offset is that of the first token after
  it, as in emsync.music.dataset.sample_chunk), then the latest tokens.
* `use_offsets=False` runs the model without boundary input (the repeated positional encoding
  §4.1 keeps for models fine-tuned without boundaries); Algorithm 1 still runs, so boundary hits
  are counted the same way. A model trained with offsets never saw that input: its ablation
  baseline is no boundaries given (offset = δ_max, "no boundary ahead"; docs/training.md).

Emotion curves (emotion per scene; beyond the thesis, which holds one valence/arousal per video).
A Condition's `curve` gives a valence/arousal per segment; the segment in force is the one holding
the sample's time cursor, so it switches right after the TIMESHIFT that reaches the segment's
start, and that token's input already carries the new condition (it predicts the first token of
the new segment). How the switch reaches the model depends on its conditioning mode (§4.2):
* continuous_concat: the condition vector is concatenated to every token embedding, so each token
  keeps the condition of the segment it was generated in (a per-token (B, T) valence/arousal). The
  KV cache is untouched: earlier tokens keep their condition, new tokens carry the new one; a
  re-prefill after a slide rebuilds every retained token with its own condition.
* continuous_token / discrete_token: the condition is the prefix before the window (two vectors, or
  VALENCE_k/AROUSAL_k tokens), one per window. At a switch the prefix is replaced and the cache is
  re-prefilled (same tokens, same positions), so from the segment start the model reads all of its
  context under the new condition: the music of the previous scene becomes context "as if" it had
  been generated for the new emotion. One extra window forward per switch per batch.
* vanilla: no emotion input; the curve changes nothing (the switches are still recorded).
`GenerationResult.switches` lists (token index, cursor s, segment) per sample. The cached,
uncached and static decode paths switch at the same token (tests/test_generate_curve.py).

KV cache and the sliding window (design decision). Attention is relative, but the model also adds
*learned absolute* positional encodings at its input (§2.3, eq. 6.1), so when the window slides
by one token every retained token changes position and every cached key/value of every layer is
stale; there is no exact re-basing. The engine therefore slides in strides: while the window has
room each step feeds one token through the cache; when it is full it drops the oldest
`slide_stride` tokens (capped at half the window, so the tiny demo model keeps at least half of its
256) and re-prefills the retained tail in one batched forward pass (positions restart at 0,
offsets are kept). The model thus always sees between window - stride and window tokens of
context (mean window - (stride - 1) / 2); `slide_stride=1` reproduces §4.4's "last 1216 tokens
every step" exactly (one full window forward per token, as `use_cache=False` does), larger strides
amortise the re-prefill. Named strides (`STRIDE_PRESETS`), named for what they are: "exact" = 1 (§4.4:
the last 1216 tokens at every step), "balanced" = 64 (the default: mean context 1184.5 of 1216
tokens, 97.4 %), "cpu" = 608 (CPU speed preset: context 609..1216, mean 75 %). `emsync bench generate --strides ...` measures the trade (tokens/s and NLL vs stride 1).
Each cached step equals an uncached forward over the same window
(tests/test_model_cache.py, tests/test_generate_engine.py).

GPU: with `cuda_graph=True` on a CUDA device the one-token decode step (model.decode_static:
static shapes, position as a device tensor) is captured once as a CUDA graph and replayed, so the
per-token Python and kernel-launch overhead disappears; prefill, re-prefill and sampling stay
eager. On CPU the flag is ignored.

CPU (37m at batch 1): a decode step is bound by memory traffic, the Linear weights
plus the KV cache it reads (at ~900 cached positions the fp32 keys/values of 11 layers are ~40 MB,
as much as the int8 weights). The CPU defaults (emsync.core.config.GenerateParams) are the fastest
measured: int8 Linear layers (`quantize_int8`), one thread (2 threads lost on a shared 2-core box), and the model's
one-query attention written out instead of SDPA (models/music_transformer.py). The fastest stride,
608 (one re-prefill per 608 tokens), is the named "cpu" preset; it is not the default because the
model then sees only 609..1216 tokens of context.
"""

import math
import time
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

PRIMERS = ("start_bar", "bar")  # §4.4: [START, BAR] or an abrupt start with BAR only


@dataclass(frozen=True)
class TokenIds:
    """The vocabulary ids the sampler needs, passed in (emsync.music.generator.token_ids() builds them
    from emsync.music.vocab) so this module stays pure PyTorch."""

    pad: int
    start: int
    bar: int
    chord: int
    fewer: int  # FEWER_INSTRUMENTS (§4.3)
    more: int  # MORE_INSTRUMENTS
    banned: tuple  # ids never sampled mid-song (they open a song or condition it)
    timeshift_ms: tuple  # (V,) milliseconds each id advances the time cursor (0 for non-shifts)

    def instrument(self, name: str) -> int:
        if name not in ("fewer", "more"):
            raise ValueError(f"instruments must be one of ['fewer', 'more'] or None, got {name!r}")
        return self.fewer if name == "fewer" else self.more


# named window strides: exact §4.4 sliding, the default (mean context >= 95 % of 1216), CPU speed
STRIDE_PRESETS = {"exact": 1, "balanced": 64, "cpu": 608}
RENAMED = {"thesis": "the stride named 'thesis' (64) is now 'balanced'; §4.4's own every-token slide is 'exact'"}


def resolve_stride(value) -> int:
    """A stride given as a positive int (or its digits) or a STRIDE_PRESETS name -> int."""
    if isinstance(value, str):
        if value in STRIDE_PRESETS:
            return STRIDE_PRESETS[value]
        if value in RENAMED:
            raise ValueError(f"slide_stride {value!r}: {RENAMED[value]}")
        if not value.isdigit():
            raise ValueError(f"slide_stride {value!r}: a positive integer or one of {', '.join(STRIDE_PRESETS)}")
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"slide_stride {value!r}: a positive integer or one of {', '.join(STRIDE_PRESETS)}")
    return value


def effective_stride(window: int, stride: int) -> int:
    """The stride the engine uses: capped at half the window (a short window keeps its context)."""
    return min(int(stride), max(1, window // 2))


def mean_context(window: int, stride: int) -> float:
    """Mean tokens the model sees per sampled token once the window is full: after a slide it
    holds window - stride + 1 tokens and grows back to window."""
    s = effective_stride(window, stride)
    return window - (s - 1) / 2.0


@dataclass(frozen=True)
class SamplingConfig:
    top_p: float = 0.7  # §4.4 nucleus
    temperature: float = 1.2  # §4.4
    min_nucleus: int = 3  # §4.4: raise the temperature when the nucleus holds fewer tokens
    temperature_step: float = 0.1  # "slightly increase" (§4.4): added per starved step
    window: int = 1216  # §4.4 music tokens seen by the model (capped at the model's max_len)
    slide_stride: int | str = "balanced"  # tokens dropped per slide when the window is full: int or STRIDE_PRESETS name
    boundary_sensitivity_s: float = 1.0  # ξ, Algorithm 1
    max_offset_s: float = 10.0  # δ_max, Algorithm 1 (the model's cap applies too)
    max_tokens_per_s: float = 250.0  # safety budget when generating to a duration
    use_cache: bool = True  # False: re-run the whole window every step (the upstream way)
    use_offsets: bool = True  # False: the model gets no boundary offsets (Algorithm 1 still tracks hits)
    cuda_graph: bool = False  # capture the decode step on CUDA (ignored on CPU)
    cpu_threads: int = 0  # CPU: torch threads while generating (0 = leave torch's setting); restored after
    tokens: TokenIds | None = None  # the vocabulary's ids (emsync.music.generator.token_ids()); generate() needs them

    def __post_init__(self):
        if not 0 < self.top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {self.top_p}")
        if self.temperature <= 0:
            raise ValueError(f"temperature must be > 0, got {self.temperature}")
        if self.cpu_threads < 0:
            raise ValueError(f"cpu_threads must be >= 0 (0 = torch's setting), got {self.cpu_threads}")
        object.__setattr__(self, "slide_stride", resolve_stride(self.slide_stride))
        if self.window < 2:
            raise ValueError(f"window must be >= 2 (got {self.window})")

    @classmethod
    def from_params(cls, gp, **overrides) -> "SamplingConfig":
        """From emsync.core.config.GenerateParams (+ overrides)."""
        names = set(cls.__dataclass_fields__)
        kw = {k: getattr(gp, k) for k in names if hasattr(gp, k)}
        return cls(**{**kw, **overrides})


@dataclass(frozen=True)
class Condition:
    """One sample's conditions: valence, arousal in [-1, 1] (NaN = none) and boundaries (s).

    `curve` (emotion per scene): ((start_s, valence, arousal), ...) sorted by start, the first at
    0 s; it replaces valence/arousal, and the condition in force changes when the sample's time
    cursor reaches a start (see "Emotion curves" in the module docstring)."""

    valence: float = float("nan")
    arousal: float = float("nan")
    boundaries: tuple = ()
    curve: tuple = ()

    def segments(self) -> tuple:
        """The curve, or one segment from 0 s holding valence/arousal."""
        if not self.curve:
            return ((0.0, self.valence, self.arousal),)
        starts = [float(c[0]) for c in self.curve]
        if starts[0] != 0.0 or any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError(f"curve starts must rise from 0 s, got {starts}")
        return tuple((float(t), float(v), float(a)) for t, v, a in self.curve)


@dataclass
class GenerationResult:
    tokens: list  # per sample: np.int64 ids, primer included, cut where the duration was reached
    offsets: list  # per sample: np.float32 boundary offsets aligned with `tokens`
    boundary_hit: list  # per sample: bool per input boundary, consumed by a CHORD (Algorithm 1)
    duration_s: np.ndarray  # (B,) time cursor at the end
    reached: np.ndarray  # (B,) bool: the target duration (or token count) was reached
    n_primer: int
    n_generated: int  # tokens sampled per sample (batch steps)
    n_forward: int  # forward passes (decode steps + prefills)
    seconds: float = 0.0
    nucleus_sizes: np.ndarray | None = None  # (steps, B) nucleus size per sampled token (diagnostics)
    temperatures: np.ndarray | None = None  # (steps, B) temperature used per sampled token
    conditioning: str = ""  # the model's emotion conditioning mode
    switches: list | None = None  # per sample: [(token index, cursor s, segment)] where the curve's condition changed


def make_primer(tok: TokenIds, kind: str = "start_bar", instruments: str | None = "more", midi_ids=None) -> list[int]:
    """Primer ids (§4.4): [FEWER|MORE,] START, BAR  |  [FEWER|MORE,] BAR  |  a tokenized MIDI
    (`midi_ids` from emsync.music.tokenizer.encode, whose head token `instruments` replaces)."""
    head = [] if instruments is None else [tok.instrument(instruments)]
    if midi_ids is not None:
        ids = [int(t) for t in midi_ids]
        if ids and ids[0] in (tok.fewer, tok.more):
            return (head or ids[:1]) + ids[1:]
        return head + ids
    if kind not in PRIMERS:
        raise ValueError(f"primer must be one of {PRIMERS} or a MIDI file, got {kind!r}")
    return head + ([tok.start, tok.bar] if kind == "start_bar" else [tok.bar])


# --------------------------------------------------------------------------------------------
# Algorithm 1 and sampling (batched, on the model's device)


class BoundaryTracker:
    """Algorithm 1 state for a batch: time cursor c, remaining boundaries b (consumed = +inf)."""

    def __init__(self, tok: TokenIds, boundaries, device, sensitivity_s=1.0, max_offset_s=10.0):
        B = len(boundaries)
        M = max([len(b) for b in boundaries] + [1])
        b = torch.full((B, M), math.inf, dtype=torch.float64, device=device)
        for i, bi in enumerate(boundaries):
            if len(bi):
                b[i, : len(bi)] = torch.as_tensor(sorted(float(x) for x in bi), dtype=torch.float64)
        self.original = b.clone()  # (B, M)
        self.b = b  # (B, M)
        self.c = torch.zeros(B, dtype=torch.float64, device=device)  # (B,) seconds
        self.xi, self.max_offset = sensitivity_s, max_offset_s
        self.shift_s = torch.as_tensor(tok.timeshift_ms, dtype=torch.float64, device=device) / 1000.0  # (V,)
        self.chord = tok.chord

    def step(self, tok: torch.Tensor, active: torch.Tensor | None = None) -> torch.Tensor:
        """Advance with one token per sample (B,) -> its offsets (B,) float32. Samples where
        `active` is False (already finished) keep their state."""
        shift = self.shift_s[tok]
        chord = tok == self.chord
        if active is not None:
            shift, chord = shift * active, chord & active
        self.c += shift  # TIMESHIFT: c = c + t_v
        chord = chord.unsqueeze(1)  # (B, 1)
        hit = chord & ((self.c.unsqueeze(1) - self.b).abs() < self.xi)  # m_b = |c - b| < ξ
        self.b = self.b.masked_fill(hit, math.inf)  # b[m_b] = +inf
        d = self.b - self.c.unsqueeze(1)  # δ_b = b - c
        d = d.masked_fill(d < 0, math.inf)  # δ_b[δ_b < 0] = +inf
        return d.min(dim=1).values.clamp(max=self.max_offset).float()  # min(min(δ_b), δ_max)

    def hits(self) -> list:
        consumed = torch.isinf(self.b) & torch.isfinite(self.original)
        return [consumed[i][torch.isfinite(self.original[i])].cpu().numpy() for i in range(self.b.shape[0])]


def nucleus_sample(logits, temperature, top_p, generator=None):
    """logits (B, V), temperature (B,) -> (tokens (B,), nucleus size (B,)): sample from the
    smallest set of most likely tokens whose probability reaches top_p (Holtzman et al. 2020)."""
    probs = F.softmax(logits.float() / temperature.unsqueeze(1), dim=-1)  # (B, V)
    p_sorted, idx = probs.sort(dim=-1, descending=True)
    keep = (p_sorted.cumsum(-1) - p_sorted) < top_p  # the top token is always kept
    p_sorted = p_sorted * keep
    choice = torch.multinomial(p_sorted, 1, generator=generator)  # (B, 1)
    return idx.gather(-1, choice).squeeze(1), keep.sum(-1)


# --------------------------------------------------------------------------------------------
# the decode step (eager or CUDA graph)


class _StaticStep:
    """One-token decode through model.decode_static with persistent input buffers; captured as a
    CUDA graph when `capture` (CUDA only), else run eagerly (the CPU test path)."""

    def __init__(self, model, cache, valence, arousal, with_offsets, capture):
        B, dev = valence.shape[0], valence.device
        self.model, self.cache = model, cache
        self.tok = torch.zeros(B, 1, dtype=torch.long, device=dev)
        self.off = torch.zeros(B, 1, dtype=torch.float32, device=dev) if with_offsets else None
        self.pos = torch.zeros((), dtype=torch.long, device=dev)
        self.val, self.aro = valence, arousal
        self.graph = None
        if capture:
            self.pos.fill_(cache.pos)  # capture writes k/v at a free slot, later overwritten
            s = torch.cuda.Stream()
            s.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(s):
                for _ in range(2):  # warm-up outside the graph
                    self.out = self._run()
            torch.cuda.current_stream().wait_stream(s)
            self.graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(self.graph):
                self.out = self._run()

    def _run(self):
        return self.model.decode_static(self.tok, self.val, self.aro, self.off, self.cache, self.pos)

    def __call__(self, tok, off):
        self.tok.copy_(tok.view(-1, 1))
        if self.off is not None:
            self.off.copy_(off.view(-1, 1))
        self.pos.fill_(self.cache.pos)
        if self.graph is not None:
            self.graph.replay()
            out = self.out.clone()
        else:
            out = self._run()
        self.cache.pos += 1
        return out  # (B, V)


class Int8Linear(torch.nn.Module):
    """An nn.Linear as int8 per-output-channel weights with activations quantized on the fly
    (fbgemm dynamic quantization). Calls the op overload directly: torch.ao's module adds ~10 us of
    Python dispatch per call, a tenth of a 37m decode step over its 45 Linear layers."""

    _op = torch.ops.quantized.linear_dynamic.default

    def __init__(self, packed, in_features: int, out_features: int):
        super().__init__()
        self.packed, self.in_features, self.out_features = packed, in_features, out_features

    def forward(self, x):
        return self._op(x, self.packed, True)  # reduce_range=True, as torch.ao does on x86 (fbgemm)


def quantize_int8(model):
    """CPU inference copy with int8 dynamic-quantized Linear layers (per-channel weights,
    activations quantized on the fly). Decoding one token reads every weight once, so on CPU it is
    bound by memory traffic; int8 weights cut that traffic 4x (measured speed-ups: README "Speed").
    Sampling distributions move by ~0.02 in total variation on random 37m weights
    (tests/test_generate_cpu.py bounds it); the CPU default (generate.cpu_int8)."""
    import copy
    import warnings

    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear
    from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization deprecation notices
        q = quantize_dynamic(copy.deepcopy(model).cpu().float(), {torch.nn.Linear: per_channel_dynamic_qconfig}, dtype=torch.qint8)
    for parent in list(q.modules()):
        for name, child in parent.named_children():
            if isinstance(child, DynamicLinear):
                setattr(parent, name, Int8Linear(child._packed_params._packed_params, child.in_features, child.out_features))
    return q.eval()


def _device(model):
    try:
        return next(model.parameters()).device
    except (AttributeError, StopIteration):  # a wrapper exposing the model's head
        return model.head.weight.device


# --------------------------------------------------------------------------------------------
# the loop


def generate(
    model,
    conditions,
    primer,
    duration_s=None,
    max_new_tokens=None,
    cfg: SamplingConfig = SamplingConfig(),
    seed: int = 0,
    progress: bool = False,
    static_step: bool | None = None,
) -> GenerationResult:
    """Generate len(conditions) samples in one batch (see the module docstring).

    duration_s: stop each sample once its time cursor reaches it (Algorithm 1); max_new_tokens:
    generate exactly that many tokens (§4.5 evaluation: 4096). At least one must be given; with
    both, whichever comes first. `static_step` forces the static decode path (default: only with
    cfg.cuda_graph on CUDA). On CPU with cfg.cpu_threads > 0, torch runs that many threads for
    the call and the previous setting is restored afterwards."""
    threads = torch.get_num_threads()
    set_threads = cfg.cpu_threads > 0 and _device(model).type == "cpu"
    if set_threads:
        torch.set_num_threads(cfg.cpu_threads)
    try:
        with torch.inference_mode():
            return _generate(model, conditions, primer, duration_s, max_new_tokens, cfg, seed, progress, static_step)
    finally:
        if set_threads:
            torch.set_num_threads(threads)


class _Curves:
    """Emotion curves of a batch: per sample, segment starts (+inf padded) and their valence/arousal,
    the segment in force and the switches so far. `valence`/`arousal` (B,) are updated in place
    when a segment starts (the static step reads them)."""

    def __init__(self, conditions, conditioning: str, dev):
        segs = [c.segments() for c in conditions]
        B, S = len(segs), max(len(x) for x in segs)
        self.start = torch.full((B, S), math.inf, dtype=torch.float64, device=dev)  # (B, S)
        self.va = torch.zeros((B, S, 2), dtype=torch.float32, device=dev)  # (B, S, 2)
        for i, x in enumerate(segs):
            self.start[i, : len(x)] = torch.tensor([t for t, _, _ in x], dtype=torch.float64)
            self.va[i, : len(x)] = torch.tensor([[v, a] for _, v, a in x], dtype=torch.float32)
        self.seg = torch.zeros(B, dtype=torch.long, device=dev)  # (B,) segment in force
        self.on = S > 1 and conditioning != "vanilla"
        self.per_token = self.on and conditioning == "continuous_concat"
        self.valence = self.va[:, 0, 0].clone()  # (B,)
        self.arousal = self.va[:, 0, 1].clone()  # (B,)
        self.switches: list[list] = [[] for _ in range(B)]

    def follow(self, pos: int, cursor: torch.Tensor, per_token_va) -> bool:
        """After token `pos` moved the cursor (B,): switch to the segment the cursor is in; True if
        any sample switched. Token pos keeps the new condition (it is the input that predicts the
        first token of the new segment)."""
        if not self.on:
            return False
        B = cursor.shape[0]
        now = (cursor.unsqueeze(1) >= self.start).sum(1) - 1  # (B,)
        changed = now != self.seg
        if bool(changed.any()):
            self.seg = now
            cur = self.va.gather(1, now.view(B, 1, 1).expand(B, 1, 2))[:, 0]  # (B, 2)
            self.valence.copy_(cur[:, 0]), self.arousal.copy_(cur[:, 1])
            for i in torch.nonzero(changed).flatten().tolist():
                self.switches[i].append((pos, round(float(cursor[i]), 3), int(now[i])))
        if self.per_token:
            per_token_va[:, pos, 0], per_token_va[:, pos, 1] = self.valence, self.arousal
        return bool(changed.any())


class _Sequence:
    """The batch's growing token buffer (B, N): ids, their offsets (Algorithm 1), per-token
    conditions (curves on a continuous_concat model), which samples are done; model windows over it."""

    def __init__(self, model, conditions, n_max: int, has_head: bool, cfg: SamplingConfig, dev):
        tid, mcfg = cfg.tokens, model.cfg
        assert tid is not None  # _check_request refused a config without them
        B = len(conditions)
        self.tid, self.has_head, self.dev = tid, has_head, dev
        self.use_offsets = mcfg.boundaries and cfg.use_offsets
        max_off = min(cfg.max_offset_s, mcfg.max_offset_s)
        self.curves = _Curves(conditions, mcfg.conditioning, dev)
        self.tracker = BoundaryTracker(tid, [c.boundaries for c in conditions], dev, cfg.boundary_sensitivity_s, max_off)
        self.seq = torch.full((B, n_max), tid.pad, dtype=torch.long, device=dev)  # (B, N)
        self.off = torch.full((B, n_max), max_off, dtype=torch.float32, device=dev)  # (B, N)
        self.va = torch.zeros((B, n_max, 2), dtype=torch.float32, device=dev) if self.curves.per_token else None  # (B, N, 2)
        self.done = torch.zeros(B, dtype=torch.bool, device=dev)  # (B,)
        self.end_at = torch.full((B,), n_max, dtype=torch.long, device=dev)  # (B,) exclusive token end per sample
        self.n = 0  # tokens so far

    def append(self, tok, live: torch.Tensor | None = None) -> bool:
        """Token `tok` (an id, or (B,) ids) at position n: its offsets and the condition in force
        (samples not `live` keep their cursor); True if a sample switched segment."""
        n = self.n
        self.seq[:, n] = tok
        self.off[:, n] = self.tracker.step(self.seq[:, n]) if live is None else self.tracker.step(tok, live)
        switched = self.curves.follow(n, self.tracker.c, self.va)
        self.n = n + 1
        return switched

    def mark_reached(self, duration_s) -> None:
        """Samples whose cursor reached `duration_s` are done; they end at the current length."""
        if duration_s is None:
            return
        newly = ~self.done & (self.tracker.c >= duration_s)  # (B,)
        self.end_at = torch.where(newly, torch.full_like(self.end_at, self.n), self.end_at)
        self.done |= newly

    def window(self, end: int, size: int):
        """Model input for tokens [.., end): the pinned head + the latest size(-1) tokens, their
        offsets, and the condition: (B,) valence/arousal, or (B, T) of each token's own (curves
        on a continuous_concat model; the head takes the first body token's, like its offset)."""
        seq, off, va, per_token = self.seq, self.off, self.va, self.curves.per_token
        if self.has_head:
            lo = max(1, end - (max(size, 2) - 1))  # the newest token always comes along
            idx = torch.cat([torch.zeros(1, dtype=torch.long), torch.arange(lo, end)]).to(self.dev)
            head_src = lo if lo < end else 0
            t = seq[:, idx]
            o = torch.cat([off[:, head_src : head_src + 1], off[:, lo:end]], 1)  # head: first body offset
            c = torch.cat([va[:, head_src : head_src + 1], va[:, lo:end]], 1) if per_token else None
        else:
            lo = max(0, end - size)
            t, o = seq[:, lo:end], off[:, lo:end]
            c = va[:, lo:end] if per_token else None
        v, a = (c[..., 0], c[..., 1]) if c is not None else (self.curves.valence, self.curves.arousal)
        return t, (o if self.use_offsets else None), v, a


class _Decoder:
    """The logits of the next token: a full forward over the window (no cache), or through the KV
    cache: one token at a time (eager or the static step), a re-prefill when a condition prefix
    changes, and a slide by the stride (re-prefilling the retained tail) when the window is full."""

    def __init__(self, model, s: _Sequence, cfg: SamplingConfig, static_step: bool | None):
        self.model, self.s = model, s
        self.window = min(cfg.window, model.cfg.max_len)
        self.keep = self.window - effective_stride(self.window, int(cfg.slide_stride)) + 1  # re-prefilled after a slide, newest included
        self.use_cache = cfg.use_cache
        on_cuda = cfg.cuda_graph and s.dev.type == "cuda"
        self.static = static_step if static_step is not None else on_cuda
        self.capture = on_cuda
        self.cache = self.step = None
        self.n_forward = 0

    def _forward(self, size: int):
        t, o, v, a = self.s.window(self.s.n, size)
        if self.cache is None:
            return self.model(t, v, a, o)[:, -1]
        logits, self.cache = self.model(t, v, a, o, cache=self.cache)
        return logits[:, -1]

    def prefill(self):
        """Logits after the primer (the first window)."""
        s = self.s
        if self.use_cache:
            self.cache = self.model.new_cache(s.seq.shape[0], device=s.dev)
        logits = self._forward(self.window)
        if self.use_cache and self.static:
            c = s.curves
            self.step = _StaticStep(self.model, self.cache, c.valence, c.arousal, s.use_offsets, capture=self.capture)
        self.n_forward = 1
        return logits

    def next(self, switched: bool):
        """Logits after the token just appended (`switched`: it started a new segment)."""
        s, cache = self.s, self.cache
        if cache is None:
            logits = self._forward(self.window)
        else:
            used = cache.pos - self.model.cfg.n_prefix
            if switched and not s.curves.per_token and used < self.window:  # new condition prefix: re-prefill
                cache.reset()
                logits = self._forward(used + 1)  # the cached tokens and the new one, at the same positions
            elif used < self.window:  # room: one token through the cache
                logits = self._one_token()
            else:  # full: slide by the stride and re-prefill the retained tail
                cache.reset()
                logits = self._forward(self.keep)
        self.n_forward += 1
        return logits

    def _one_token(self):
        s, n = self.s, self.s.n
        if self.step is not None:
            return self.step(s.seq[:, n - 1], s.off[:, n - 1] if s.use_offsets else None)
        o = s.off[:, n - 1 : n] if s.use_offsets else None
        logits, self.cache = self.model(s.seq[:, n - 1 : n], s.curves.valence, s.curves.arousal, o, cache=self.cache)
        return logits[:, -1]


class _Sampler:
    """Nucleus sampling of the allowed tokens with the temperature rule: a step whose nucleus is
    smaller than cfg.min_nucleus raises the next step's temperature by cfg.temperature_step,
    otherwise it returns to cfg.temperature. Keeps every step's nucleus size and temperature."""

    def __init__(self, cfg: SamplingConfig, B: int, dev, seed: int):
        self.cfg = cfg
        self.gen = torch.Generator(device=dev).manual_seed(seed)
        self.banned = torch.tensor(cfg.tokens.banned, device=dev)
        self.base_t = torch.full((B,), cfg.temperature, device=dev)
        self.temp = self.base_t.clone()
        self.sizes: list = []
        self.temps: list = []

    def sample(self, logits):
        logits = logits.float().index_fill(1, self.banned, -math.inf)
        tok, size = nucleus_sample(logits, self.temp, self.cfg.top_p, self.gen)  # (B,), (B,)
        self.temps.append(self.temp)
        self.temp = torch.where(size < self.cfg.min_nucleus, self.temp + self.cfg.temperature_step, self.base_t)
        self.sizes.append(size)
        return tok


def _check_request(primer, duration_s, max_new_tokens, cfg) -> list:
    if duration_s is None and max_new_tokens is None:
        raise ValueError("give duration_s and/or max_new_tokens")
    primer = [int(t) for t in primer]
    if not primer:
        raise ValueError("the primer is empty (use make_primer())")
    if cfg.tokens is None:
        raise ValueError("SamplingConfig.tokens is missing: pass tokens=emsync.music.generator.token_ids()")
    return primer


def _budget(duration_s, max_new_tokens, cfg: SamplingConfig) -> int:
    """Tokens to generate at most: max_new_tokens, or enough for duration_s at cfg.max_tokens_per_s."""
    budget = max_new_tokens if max_new_tokens is not None else int(duration_s * cfg.max_tokens_per_s) + 64
    if duration_s is not None and max_new_tokens is not None:
        budget = min(budget, max_new_tokens)
    return budget


def _progress_bar(progress: bool, duration_s, budget: int):
    if not progress:
        return None
    from tqdm import tqdm

    total = round(duration_s, 1) if duration_s is not None else budget
    return tqdm(total=total, desc="generate", unit="s" if duration_s is not None else "tok", leave=False)


def _tick(bar, k: int, cursor: torch.Tensor, duration_s) -> None:
    if bar is not None and (k % 16 == 15 or duration_s is None):
        now = round(min(float(cursor.min()), duration_s), 1) if duration_s is not None else k + 1
        bar.update(now - bar.n)


def _generate(model, conditions, primer, duration_s, max_new_tokens, cfg, seed, progress, static_step):
    primer = _check_request(primer, duration_s, max_new_tokens, cfg)
    t0 = time.perf_counter()
    model.eval()
    dev = _device(model)
    budget = _budget(duration_s, max_new_tokens, cfg)
    has_head = primer[0] in (cfg.tokens.fewer, cfg.tokens.more)  # pinned at window position 0, as in training chunks
    s = _Sequence(model, conditions, len(primer) + budget, has_head, cfg, dev)
    for t in primer:  # the primer goes through Algorithm 1 too
        s.append(t)
    sampler = _Sampler(cfg, len(conditions), dev, seed)
    decoder = _Decoder(model, s, cfg, static_step)
    logits = decoder.prefill()
    bar = _progress_bar(progress, duration_s, budget)
    for k in range(budget):
        switched = s.append(sampler.sample(logits), ~s.done)
        s.mark_reached(duration_s)
        _tick(bar, k, s.tracker.c, duration_s)
        if k == budget - 1 or (duration_s is not None and k % 8 == 7 and bool(s.done.all())):
            break
        logits = decoder.next(switched)
    if bar is not None:
        bar.close()
    return _result(s, sampler, decoder, len(primer), budget, duration_s, model.cfg.conditioning, time.perf_counter() - t0)


def _result(s: _Sequence, sampler: _Sampler, decoder: _Decoder, n_primer, budget, duration_s, conditioning, seconds) -> GenerationResult:
    """Each sample's tokens and offsets up to its end, where its cursor ended, and the run's counts."""
    n, B = s.n, s.seq.shape[0]
    end_at = torch.where(s.done, s.end_at, torch.full_like(s.end_at, n)).cpu().numpy()
    seq_np, off_np = s.seq.cpu().numpy(), s.off.cpu().numpy()
    reached = s.done.cpu().numpy() if duration_s is not None else np.full(B, n - n_primer >= budget)
    times = np.cumsum(np.asarray(s.tid.timeshift_ms)[seq_np[:, :n]], axis=1) / 1000.0  # cursor after each token
    return GenerationResult(
        tokens=[seq_np[i, : end_at[i]].astype(np.int64) for i in range(B)],
        offsets=[off_np[i, : end_at[i]] for i in range(B)],
        boundary_hit=s.tracker.hits(),
        duration_s=np.array([times[i, end_at[i] - 1] for i in range(B)]),
        reached=reached,
        n_primer=n_primer,
        n_generated=n - n_primer,
        n_forward=decoder.n_forward,
        seconds=seconds,
        nucleus_sizes=torch.stack(sampler.sizes).cpu().numpy() if sampler.sizes else np.zeros((0, B), np.int64),
        temperatures=torch.stack(sampler.temps).cpu().numpy() if sampler.temps else np.zeros((0, B), np.float32),
        conditioning=conditioning,
        switches=[[x for x in sw if x[0] < end_at[i]] for i, sw in enumerate(s.curves.switches)],
    )
