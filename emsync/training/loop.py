"""The training loop of the music transformer (thesis §4.4, §6.2).

- Loss: cross-entropy over every token of the chunk, PAD ignored, the CHORD token's loss weighted
  ×10 (§4.1: "we amplify the loss of the CHORD token by a factor of 10").
- Adam, gradient clipping at norm 1, a two-step lr schedule (§6.2: 2e-4 for 300k steps, then
  5e-5), no regularisation by default (§6.2).
- AMP (bf16, or fp16 with a grad scaler) on CUDA only; CPU runs in fp32.
- Resumable: every `checkpoint_every` steps the whole state (weights, model config, optimizer,
  scaler, step, loss history, RNG states) is written atomically. Each step reseeds the RNGs from
  (seed, step) before drawing its batch, so a run killed at any point and resumed from its last
  state ends with the same weights as an uninterrupted run (bit-exact on CPU).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import random
import time
from pathlib import Path
from typing import Callable

import numpy as np
import torch
import torch.nn.functional as F

from emsync.errors import InputError
from emsync.io import atomic_path

STATE_FORMAT = "emsync-train-state-v1"


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

    @classmethod
    def from_params(cls, tp, **overrides) -> "LoopConfig":
        """Build from a `TrainParams` (or any object with the same field names)."""
        names = [f.name for f in dataclasses.fields(cls)]
        kw = {n: getattr(tp, n) for n in names if hasattr(tp, n)}
        kw.update(overrides)
        return cls(**kw)


# --------------------------------------------------------------------------------------------
# schedule, loss, devices, RNG


def lr_at(step: int, lr: float, lr_after: float, switch_step: int) -> float:
    """§6.2: `lr` for the first `switch_step` steps (0-based step < switch_step), then `lr_after`."""
    return lr if step < switch_step else lr_after


def class_weights(vocab_size: int, chord_id: int, chord_weight: float, device=None) -> torch.Tensor:
    w = torch.ones(vocab_size, device=device)
    w[chord_id] = chord_weight
    return w


def lm_loss(logits: torch.Tensor, targets: torch.Tensor, weights: torch.Tensor | None, pad_id: int,
            reduction: str = "mean") -> torch.Tensor:
    """Weighted cross-entropy over non-PAD targets: "mean" is PyTorch's weighted mean
    sum(w·ce)/sum(w), "sum" is sum(w·ce). logits (B, T, V), targets (B, T).
    An all-PAD batch gives a zero loss, not NaN."""
    V = logits.shape[-1]
    flat_t = targets.reshape(-1)  # (B*T,)
    if not bool((flat_t != pad_id).any()):
        return logits.sum() * 0.0
    return F.cross_entropy(logits.reshape(-1, V).float(), flat_t, weight=weights, ignore_index=pad_id, reduction=reduction)


def resolve_device(name: str = "auto") -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise InputError(f"device {name!r} requested but no CUDA GPU is available (use 'auto' or 'cpu')")
    return torch.device(name)


def step_seed(seed: int, step: int) -> int:
    """A 63-bit seed for one (run seed, step) pair, stable across processes and platforms."""
    h = hashlib.blake2b(f"{seed}:{step}".encode(), digest_size=8).digest()
    return int.from_bytes(h, "little") & ((1 << 63) - 1)


def seed_everything(seed: int):
    random.seed(seed)
    np.random.seed(seed % (2**32))
    torch.manual_seed(seed)


def rng_state() -> dict:
    s = {"python": random.getstate(), "numpy": np.random.get_state(), "torch": torch.get_rng_state()}
    if torch.cuda.is_available():
        s["cuda"] = torch.cuda.get_rng_state_all()
    return s


def set_rng_state(s: dict):
    random.setstate(s["python"])
    np.random.set_state(s["numpy"])
    torch.set_rng_state(s["torch"])
    if s.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(s["cuda"])


def fingerprint(*parts) -> str:
    """Digest of JSON-able parts: a saved state resumes only a run with the same fingerprint."""
    return hashlib.md5(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


# --------------------------------------------------------------------------------------------
# state files


def save_state(path, state: dict):
    """torch.save `state` atomically (a kill leaves the previous state or the new one)."""
    with atomic_path(path) as tmp:
        torch.save(state, tmp)


def load_state(path) -> dict | None:
    """The saved training state, or None when there is none; a corrupt file is an InputError."""
    path = Path(path)
    if not path.exists():
        return None
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:
        raise InputError(f"{path}: cannot read training state ({type(e).__name__}: {e}); delete it to start over") from e
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise InputError(f"{path}: not an emsync training state (format {STATE_FORMAT!r} expected)")
    return state


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


def accumulate_gradients(model, tokens, offsets, valence, arousal, weights, pad_id: int, micro_batch: int = 0,
                         amp_dtype=None, scaler=None) -> torch.Tensor:
    """Backward the batch's weighted loss, `micro_batch` rows at a time (0: all at once); return
    the loss. Each part is sum(w·ce) over the whole batch's total weight, so the accumulated
    gradient is the full batch's (up to float rounding) with a fraction of the activation memory."""
    device = tokens.device
    tgt = tokens[:, 1:]  # (B, L-1)
    total_w = weights[tgt].masked_fill(tgt == pad_id, 0).sum().clamp(min=1.0)
    mb = micro_batch or tokens.shape[0]
    loss = torch.zeros((), device=device)
    for i in range(0, tokens.shape[0], mb):
        sl = slice(i, i + mb)
        with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
            logits = model_logits(model, tokens[sl], offsets[sl] if offsets is not None else None,
                                  valence[sl], arousal[sl])  # (b, L-1, V)
        part = lm_loss(logits, tgt[sl], weights, pad_id, reduction="sum") / total_w
        (scaler.scale(part) if scaler is not None else part).backward()
        loss += part.detach()
    return loss


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
) -> TrainResult:
    """Train `model` for `cfg.steps` steps; `make_batch(step)` returns the batch for that step.

    With `state_path`, the state is saved every `cfg.checkpoint_every` steps and at the end, and a
    saved state with the same `run_fingerprint` is resumed (a different fingerprint is ignored
    and overwritten). `on_step(step, loss)` runs after each optimizer step (tests use it to
    interrupt a run)."""
    from tqdm.auto import tqdm

    device = resolve_device(cfg.device)
    model.to(device)
    opt = torch.optim.Adam(model.parameters(), lr=cfg.lr)
    amp_dtype = None
    if device.type == "cuda":
        amp_dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    scaler = torch.amp.GradScaler("cuda") if amp_dtype == torch.float16 else None
    weights = class_weights(_vocab_size(model, model_config), chord_id, cfg.chord_loss_weight, device)

    start, history, tokens_seen, window = 0, [], 0, []
    state = load_state(state_path) if state_path else None
    if state is not None and state.get("fingerprint") == run_fingerprint and state["step"] <= cfg.steps:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if scaler is not None and state.get("scaler"):
            scaler.load_state_dict(state["scaler"])
        set_rng_state(state["rng"])
        start, history, tokens_seen = state["step"], list(state["history"]), state["tokens_seen"]
        window = list(state.get("window", []))

    def snapshot(step):
        return {
            "format": STATE_FORMAT,
            "fingerprint": run_fingerprint,
            "model": {k: v.detach().cpu() for k, v in model.state_dict().items()},
            "model_config": model_config,
            "optimizer": opt.state_dict(),
            "scaler": scaler.state_dict() if scaler is not None else None,
            "step": step,
            "history": history,
            "tokens_seen": tokens_seen,
            "window": list(window),  # losses not yet averaged into history
            "rng": rng_state(),
        }

    t0 = time.time()
    model.train()
    bar = tqdm(range(start, cfg.steps), initial=start, total=cfg.steps, desc="train", unit="step", disable=not progress)
    for step in bar:
        seed_everything(step_seed(cfg.seed, step))
        tokens, offsets, valence, arousal = make_batch(step)
        tokens = tokens.to(device)
        offsets = offsets.to(device) if offsets is not None else None
        valence, arousal = valence.to(device), arousal.to(device)
        lr = lr_at(step, cfg.lr, cfg.lr_after, cfg.lr_switch_step)
        for g in opt.param_groups:
            g["lr"] = lr
        opt.zero_grad(set_to_none=True)
        loss = accumulate_gradients(model, tokens, offsets, valence, arousal, weights, pad_id, cfg.micro_batch,
                                    amp_dtype, scaler)
        if scaler is not None:
            scaler.unscale_(opt)
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            scaler.step(opt)
            scaler.update()
        else:
            torch.nn.utils.clip_grad_norm_(model.parameters(), cfg.grad_clip)
            opt.step()
        value = float(loss.detach())
        if not math.isfinite(value):
            raise FloatingPointError(f"training loss became {value} at step {step} (lr {lr}); lower the lr or check the data")
        tokens_seen += int((tokens[:, 1:] != pad_id).sum())
        window.append(value)
        done = step + 1
        if done % cfg.log_every == 0 or done == cfg.steps:
            history.append({"step": done, "loss": float(np.mean(window)), "lr": lr})
            window = []
        bar.set_postfix(loss=f"{value:.3f}", lr=f"{lr:.1e}")
        if state_path and (done % cfg.checkpoint_every == 0 or done == cfg.steps):
            save_state(state_path, snapshot(done))
        if on_step is not None:
            on_step(done, value)
    bar.close()
    model.eval()
    return TrainResult(
        model_state={k: v.detach().cpu() for k, v in model.state_dict().items()},
        history=history,
        steps=cfg.steps,
        resumed_from=start,
        seconds=round(time.time() - t0, 3),
        tokens_seen=tokens_seen,
        device=str(device),
    )


def _vocab_size(model, model_config) -> int:
    for obj in (getattr(model, "cfg", None), getattr(model, "config", None), model_config or {}):
        v = obj.get("vocab_size") if isinstance(obj, dict) else getattr(obj, "vocab_size", None)
        if v:
            return int(v)
    raise ValueError("cannot tell the model's vocabulary size (expected cfg.vocab_size)")
