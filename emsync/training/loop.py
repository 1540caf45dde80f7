"""The music transformer's training task on the shared engine (thesis §4.4, §6.2).

- Loss: cross-entropy over every token of the chunk, PAD ignored, the CHORD token's loss weighted
  ×10 (§4.1: "we amplify the loss of the CHORD token by a factor of 10"). The engine combines
  micro-batches and DDP ranks by each part's total class weight, so the step's loss is the
  weighted mean over the whole global batch.
- Adam, gradient clipping at norm 1, a two-step lr schedule (§6.2: 2e-4 for 300k steps, then
  5e-5), no regularisation by default (§6.2).
- AMP (bf16, or fp16 with a grad scaler) on CUDA only; CPU runs in fp32.
- Resumable (emsync/training/engine.py): every `checkpoint_every` steps the whole state is written
  atomically; each step reseeds the RNGs from (seed, step) before drawing its batch, so a run
  killed at any point and resumed ends with the same weights as an uninterrupted run (bit-exact
  on CPU).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import torch
import torch.nn.functional as F

from emsync.training import engine
from emsync.training.engine import (  # noqa: F401
    STATE_FORMAT,
    fingerprint,
    load_state,
    resolve_device,
    rng_state,
    save_state,
    seed_everything,
    set_rng_state,
    step_seed,
)


@dataclasses.dataclass(frozen=True)
class LoopConfig:
    steps: int
    lr: float = 2e-4
    lr_after: float = 5e-5
    lr_switch_step: int = 300_000
    grad_clip: float = 1.0
    chord_loss_weight: float = 10.0
    seed: int = 0
    checkpoint_every: int = 100
    log_every: int = 1
    micro_batch: int = 0  # rows per forward/backward (gradient accumulation); 0 = the whole batch
    device: str = "auto"
    prefetch: bool = False  # build the next batch in a thread (make_batch must not use the global RNG)

    @classmethod
    def from_params(cls, tp, **overrides) -> LoopConfig:
        """Build from a `TrainParams` (or any object with the same field names)."""
        names = [f.name for f in dataclasses.fields(cls)]
        kw = {n: getattr(tp, n) for n in names if hasattr(tp, n)}
        kw.update(overrides)
        return cls(**kw)


# --------------------------------------------------------------------------------------------
# schedule, loss


def lr_at(step: int, lr: float, lr_after: float, switch_step: int) -> float:
    """§6.2: `lr` for the first `switch_step` steps (0-based step < switch_step), then `lr_after`."""
    return lr if step < switch_step else lr_after


def class_weights(vocab_size: int, chord_id: int, chord_weight: float, device=None) -> torch.Tensor:
    w = torch.ones(vocab_size, device=device)
    w[chord_id] = chord_weight
    return w


def lm_loss(
    logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None, pad_id: int, reduction: str = "mean"
) -> torch.Tensor:
    """Weighted cross-entropy over non-PAD targets: "mean" is PyTorch's weighted mean
    sum(w·ce)/sum(w), "sum" is sum(w·ce). logits (B, T, V), targets (B, T).
    An all-PAD batch gives a zero loss, not NaN."""
    V = logits.shape[-1]
    flat_t = targets.reshape(-1)  # (B*T,)
    if not bool((flat_t != pad_id).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.reshape(-1, V).float(), flat_t, weight=weights, ignore_index=pad_id, reduction=reduction)


# --------------------------------------------------------------------------------------------
# the loop


@dataclasses.dataclass
class TrainResult:
    model_state: dict  # CPU tensors
    history: list  # [{"step", "loss", "lr"}], one row per log_every steps
    steps: int
    resumed_from: int  # 0 for a fresh run
    seconds: float
    tokens_seen: int
    device: str


Batch = tuple  # (tokens (B, L) long, offsets (B, L) float or None, valence (B,), arousal (B,))


def model_logits(model, tokens, offsets, valence, arousal) -> torch.Tensor:
    """Next-token logits (B, L-1, V) for tokens[:, 1:] given tokens[:, :-1] and its offsets."""
    inp = tokens[:, :-1]  # (B, L-1)
    off = offsets[:, :-1] if offsets is not None else None  # (B, L-1)
    return model(inp, valence, arousal, offsets=off)  # (B, L-1, V)


class WeightedLMLoss:
    """The CHORD-weighted next-token loss as engine hooks: `loss` is the weighted mean over the
    batch's non-PAD targets, `batch_weight` its total class weight (how the engine combines
    micro-batches and ranks), `batch_units` its target tokens."""

    def __init__(self, weights: torch.Tensor, pad_id: int):
        self.weights_cpu = weights.detach().cpu()  # (V,)
        self.weights, self.pad_id = weights, pad_id  # `weights` follows the batch's device

    def batch_weight(self, batch) -> float:
        tgt = batch[0][:, 1:].cpu()  # (B, L-1)
        return float(self.weights_cpu[tgt].masked_fill(tgt == self.pad_id, 0).sum())

    def batch_units(self, batch) -> int:
        return int((batch[0][:, 1:] != self.pad_id).sum())  # target tokens

    def loss(self, model, batch) -> torch.Tensor:
        tokens, offsets, valence, arousal = batch
        if self.weights.device != tokens.device:
            self.weights = self.weights.to(tokens.device)
        logits = model_logits(model, tokens, offsets, valence, arousal)  # (B, L-1, V)
        return lm_loss(logits, tokens[:, 1:], self.weights, self.pad_id)


def accumulate_gradients(
    model, tokens, offsets, valence, arousal, weights, pad_id: int, micro_batch: int = 0, amp_dtype=None, scaler=None
) -> torch.Tensor:
    """Backward the batch's weighted loss, `micro_batch` rows at a time (0: all at once), exactly
    as a training step does (engine.backward_batch); return the loss."""
    loss, _ = engine.backward_batch(
        WeightedLMLoss(weights, pad_id),
        model,
        (tokens, offsets, valence, arousal),
        tokens.device,
        micro_batch=micro_batch,
        amp_dtype=amp_dtype,
        scaler=scaler,
    )
    return loss


class MusicLMTask(WeightedLMLoss, engine.Task):
    """The engine task of the music transformer: `make_batch(step)` gives the global batch
    (tokens (B, L) long, offsets (B, L) float or None, valence (B,), arousal (B,)); with
    `make_part(step, rank, world_size)` each DDP rank builds only its own rows."""

    name = "music"

    def __init__(
        self,
        model,
        make_batch: Callable[[int], Batch],
        cfg: LoopConfig,
        *,
        pad_id: int,
        chord_id: int,
        vocab_size: int,
        make_part: Callable[[int, int, int], Batch] | None = None,
    ):
        super().__init__(class_weights(vocab_size, chord_id, cfg.chord_loss_weight), pad_id)
        self.model, self.make_batch, self.cfg = model, make_batch, cfg
        if make_part is not None:
            self.batch_part = make_part

    def build_model(self):
        return self.model

    def configure_optimizers(self, model):
        c = self.cfg
        fused = all(p.is_cuda for p in model.parameters())  # one kernel for all parameters on GPU
        opt = torch.optim.Adam(model.parameters(), lr=c.lr, fused=fused or None)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: lr_at(s, c.lr, c.lr_after, c.lr_switch_step) / c.lr)
        return opt, sched

    def batch(self, step: int) -> Batch:
        return self.make_batch(step)


def engine_config(cfg: LoopConfig) -> engine.EngineConfig:
    return engine.EngineConfig(
        steps=cfg.steps,
        seed=cfg.seed,
        device=cfg.device,
        lr=cfg.lr,
        grad_clip=cfg.grad_clip,
        micro_batch=cfg.micro_batch,
        checkpoint_every=cfg.checkpoint_every,
        log_every=cfg.log_every,
        prefetch=cfg.prefetch,
    )


def train_loop(
    model: torch.nn.Module,
    make_batch: Callable[[int], Batch],
    cfg: LoopConfig,
    *,
    pad_id: int,
    chord_id: int,
    state_path=None,
    run_fingerprint: str = "",
    model_config: dict | None = None,
    on_step: Callable[[int, float], None] | None = None,
    progress: bool = True,
    make_part: Callable[[int, int, int], Batch] | None = None,
) -> TrainResult:
    """Train `model` for `cfg.steps` steps through the engine; `make_batch(step)` returns the batch
    for that step (`make_part(step, rank, world_size)`, if given, this rank's rows of it).

    With `state_path`, the state is saved every `cfg.checkpoint_every` steps and at the end, and a
    saved state with the same `run_fingerprint` is resumed (a different fingerprint is ignored
    and overwritten). `on_step(step, loss)` runs after each optimizer step (tests use it to
    interrupt a run)."""
    task = MusicLMTask(
        model, make_batch, cfg, pad_id=pad_id, chord_id=chord_id, vocab_size=_vocab_size(model, model_config), make_part=make_part
    )
    res = engine.train(
        task,
        engine_config(cfg),
        state_path=state_path,
        fingerprint=run_fingerprint,
        model_config=model_config,
        on_step=on_step,
        progress=progress,
    )
    return TrainResult(
        model_state=res.model_state,
        history=res.history,
        steps=res.steps,
        resumed_from=res.resumed_from,
        seconds=res.seconds,
        tokens_seen=res.units_seen,
        device=res.device,
    )


def _vocab_size(model, model_config) -> int:
    for obj in (getattr(model, "cfg", None), getattr(model, "config", None), model_config or {}):
        v = obj.get("vocab_size") if isinstance(obj, dict) else getattr(obj, "vocab_size", None)
        if v:
            return int(v)
    raise ValueError("cannot tell the model's vocabulary size (expected cfg.vocab_size)")
