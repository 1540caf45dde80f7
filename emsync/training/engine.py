"""The one training engine every network trains through (audiocraft's solvers are the model: the
loop is shared, each network supplies a small task object).

A task is any object with these methods (`Task` below documents them; subclassing it is optional):

    build_model()            -> nn.Module                       the network, freshly initialised
    batch(step)              -> batch                           the global batch of optimizer step `step`;
                                                                 must depend only on (the task's seed, step)
    loss(model, batch)       -> scalar tensor                   mean loss over the batch (call model(...) only)

and, optionally:

    metrics(model)           -> {name: float}                   validation metrics (model in eval mode, no grad)
    batch_part(step, rank, world_size) -> batch                 this rank's rows of batch(step), built without
                                                                 the other ranks' rows (DDP; default: slice batch(step))
    batch_weight(batch)      -> float                           what the loss is a mean over (default: rows);
                                                                 micro-batches and ranks are combined with it
    batch_units(batch)       -> int                             items counted in `units_seen` (default: rows)
    configure_optimizers(model) -> optimizer | (optimizer, scheduler)
                                                                 default: Adam(cfg.lr, cfg.weight_decay), no scheduler;
                                                                 a scheduler is stepped once per optimizer step

`train(task, cfg, state_path=...)` then runs `cfg.steps` optimizer steps with:

- seeded batches: before step k the Python/numpy/torch RNGs are reseeded from (cfg.seed, k), so a
  batch depends on nothing but (seed, k), whatever the history of interruptions or the world size;
- resumable atomic state every `checkpoint_every` steps (weights, optimizer, scheduler, scaler, RNG,
  step, history, validation/early-stopping state); a killed run started again ends with the same
  weights as an uninterrupted one (bit-exact on CPU);
- validation every `eval_every` steps, the best weights kept for `monitor`, early stopping after
  `patience` evaluations without improvement;
- AMP (bf16 on CUDA; fp16 + grad scaler on GPUs without bf16), optional `torch.compile`, gradient
  accumulation (`micro_batch` rows per forward/backward), gradient clipping, a tqdm bar, loss CSV
  and plot (`log_dir`);
- data parallelism (DDP over torch.distributed, launched by torchrun): each rank draws its slice of
  the step's global batch, gradients are combined so the step equals the single-process step with
  the same global batch, rank 0 alone writes the state, and a state resumes with any world size.

Plain PyTorch; docs/training.md says why not Lightning Fabric or Accelerate.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import hashlib
import io
import json
import math
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import torch

from emsync.core.device import resolve_device
from emsync.core.errors import InputError
from emsync.core.io import atomic_path, write_text

STATE_FORMAT = "emsync-train-state-v1"
ENGINE_VERSION = 2  # a state written by another version of the loop is not resumed (the run starts over)


# --------------------------------------------------------------------------------------------
# configuration and result


@dataclasses.dataclass(frozen=True)
class EngineConfig:
    steps: int  # optimizer steps in all (a resumed run continues up to this)
    seed: int = 0  # batches and initial weights depend on it
    device: str = "auto"  # auto | cpu | cuda | cuda:N (under torchrun: cuda:LOCAL_RANK)
    lr: float = 1e-3  # the default optimizer's (tasks may bring their own)
    weight_decay: float = 0.0
    grad_clip: float = 1.0  # max gradient norm; 0 = no clipping
    micro_batch: int = 0  # rows per forward/backward on each rank (gradient accumulation); 0 = all
    amp: str = "auto"  # auto (bf16 on CUDA, fp32 on CPU) | off | bf16 | fp16
    compile: bool = False  # torch.compile the model for training
    prefetch: bool = False  # build step k+1's batch in a thread while step k computes; only for tasks whose
    #                         batches draw from their own seeded generators, not the global RNG
    checkpoint_every: int = 100  # steps between state saves (and always at the end)
    log_every: int = 1  # steps averaged into one history row
    eval_every: int = 0  # steps between task.metrics calls (and at the end); 0 = never
    monitor: str = ""  # metric of task.metrics that picks the best weights / stops early
    mode: str = "min"  # min | max: which direction of `monitor` is better
    patience: int = 0  # evaluations without improvement before stopping; 0 = never stop early

    def __post_init__(self):
        if self.steps < 0:
            raise ValueError(f"steps must be >= 0, got {self.steps}")
        if self.amp not in ("auto", "off", "bf16", "fp16"):
            raise ValueError(f"amp must be auto, off, bf16 or fp16, got {self.amp!r}")
        if self.mode not in ("min", "max"):
            raise ValueError(f"mode must be min or max, got {self.mode!r}")
        if self.checkpoint_every < 1 or self.log_every < 1 or self.eval_every < 0 or self.micro_batch < 0:
            raise ValueError("checkpoint_every and log_every must be >= 1; eval_every and micro_batch >= 0")
        if self.patience and not (self.monitor and self.eval_every):
            raise ValueError("patience needs a monitor metric and eval_every > 0")

    @classmethod
    def from_params(cls, params, **overrides) -> EngineConfig:
        """Build from any object (or dict) having some of the field names; others are ignored."""
        names = [f.name for f in dataclasses.fields(cls)]
        get = params.get if isinstance(params, dict) else (lambda n, d=None: getattr(params, n, d))
        kw = {n: get(n) for n in names if get(n, None) is not None}
        kw.update(overrides)
        return cls(**kw)


@dataclasses.dataclass
class TrainResult:
    model_state: dict  # final weights, CPU tensors
    history: list  # [{"step", "loss", "lr"}], one row per log_every steps
    evals: list  # [{"step", <metric>: value, ...}], one row per evaluation
    steps: int  # optimizer steps done (fewer than cfg.steps when stopped early)
    resumed_from: int  # 0 for a fresh run
    seconds: float
    units_seen: int  # sum of task.batch_units over all steps and ranks
    device: str
    world_size: int
    stopped_early: bool = False
    best_step: int | None = None  # the evaluation step with the best `monitor` value
    best_metrics: dict | None = None
    best_state: dict | None = None  # weights at best_step (CPU), when a monitor is set


class Task:
    """Optional base class of a training task: documents the hooks and gives the defaults.
    Subclasses must define build_model, batch and loss."""

    name = "train"

    def build_model(self) -> torch.nn.Module:
        raise NotImplementedError

    def batch(self, step: int) -> Any:
        raise NotImplementedError

    def loss(self, model, batch) -> torch.Tensor:
        raise NotImplementedError

    def metrics(self, model) -> dict:
        return {}


# --------------------------------------------------------------------------------------------
# devices, seeds, RNG


def step_seed(seed: int, step) -> int:
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


def amp_dtype_for(amp: str, device: torch.device):
    """The autocast dtype for cfg.amp on `device` (None = fp32)."""
    if amp == "off" or (amp == "auto" and device.type != "cuda"):
        return None
    if amp == "auto":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.bfloat16 if amp == "bf16" else torch.float16


# --------------------------------------------------------------------------------------------
# batches: rows, slices, devices


def n_rows(batch) -> int:
    """Rows of a batch: the first dimension of its first tensor (tuples, lists, dicts nest)."""
    if isinstance(batch, torch.Tensor):
        return int(batch.shape[0])
    items = batch.values() if isinstance(batch, dict) else batch if isinstance(batch, (tuple, list)) else ()
    for b in items:
        n = n_rows(b)
        if n >= 0:
            return n
    return -1


def slice_rows(batch, sl: slice):
    """The rows `sl` of every tensor in a (nested tuple/list/dict) batch; other leaves unchanged."""
    if isinstance(batch, torch.Tensor):
        return batch[sl]
    if isinstance(batch, dict):
        return {k: slice_rows(v, sl) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(slice_rows(b, sl) for b in batch)
    return batch


def to_device(batch, device: torch.device):
    if isinstance(batch, torch.Tensor):
        return batch.to(device, non_blocking=True)
    if isinstance(batch, dict):
        return {k: to_device(v, device) for k, v in batch.items()}
    if isinstance(batch, (tuple, list)):
        return type(batch)(to_device(b, device) for b in batch)
    return batch


def rank_rows(n: int, rank: int, world_size: int) -> slice:
    """Rank `rank`'s contiguous share of a global batch of `n` rows (sizes differ by at most 1)."""
    return slice(n * rank // world_size, n * (rank + 1) // world_size)


# --------------------------------------------------------------------------------------------
# distributed


@dataclasses.dataclass(frozen=True)
class Dist:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def main(self) -> bool:
        return self.rank == 0


def init_distributed() -> Dist:
    """The process group this process belongs to: joined from torchrun's environment (RANK,
    WORLD_SIZE, LOCAL_RANK, MASTER_ADDR/PORT) when WORLD_SIZE > 1; NCCL on CUDA, else gloo.
    A group the caller already initialised is used as it is."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        return Dist(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return Dist()
    local = int(os.environ.get("LOCAL_RANK", "0"))
    backend = "nccl" if torch.cuda.is_available() else "gloo"
    if backend == "nccl":
        torch.cuda.set_device(local)
    dist.init_process_group(backend)
    return Dist(dist.get_rank(), dist.get_world_size(), local)


# --------------------------------------------------------------------------------------------
# state files and logs


def save_state(path, state: dict):
    """torch.save `state` atomically (a kill leaves the previous state or the new one), through an
    open file: given a path, torch names the archive after the temp file, so the same state would
    give different bytes on every run."""
    with atomic_path(path) as tmp, open(tmp, "wb") as fh:
        torch.save(state, fh)


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


def history_csv(history, evals=()) -> str:
    """`step,loss,lr[,<metric>...]`: one row per history row, validation metrics on their steps."""
    by_step = {e["step"]: e for e in evals}
    names = sorted({k for e in evals for k in e if k != "step"})
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["step", "loss", "lr", *names])
    for r in history:
        e = by_step.get(r["step"], {})
        w.writerow([r["step"], f"{r['loss']:.6f}", f"{r['lr']:.3g}", *(_fmt(e.get(n)) for n in names)])
    return buf.getvalue()


def _fmt(v):
    return "" if v is None else f"{v:.6g}" if isinstance(v, float) else v


def plot_history(history, path, evals=(), title="training loss", ylabel="loss"):
    """PNG of the loss (log scale) against step, the lr and validation metrics on a second axis."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = [r["step"] for r in history]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(steps, [max(r["loss"], 1e-12) for r in history], lw=1, label="train loss")
    ax.set_yscale("log")
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    ax.set_title(title)
    ax2 = ax.twinx()
    ax2.plot(steps, [r["lr"] for r in history], color="tab:orange", lw=1, alpha=0.7, label="lr")
    for name in sorted({k for e in evals for k in e if k != "step"}):
        pts = [(e["step"], e[name]) for e in evals if isinstance(e.get(name), (int, float))]
        if pts:
            ax2.plot(*zip(*pts), marker="o", ms=3, lw=1, label=f"val {name}")
    ax2.legend(loc="upper right", fontsize=7)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


# --------------------------------------------------------------------------------------------
# the loop


def _optimizers(task, model, cfg):
    hook = getattr(task, "configure_optimizers", None)
    if hook is None:
        fused = all(p.is_cuda for p in model.parameters()) or None  # one kernel for all parameters on GPU
        return torch.optim.Adam(model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay, fused=fused), None
    made = hook(model)
    return made if isinstance(made, tuple) else (made, None)


def _better(value, best, mode) -> bool:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return False
    return best is None or (value < best if mode == "min" else value > best)


def backward_batch(
    task, model, batch, device, *, micro_batch: int = 0, amp_dtype=None, scaler=None, world_size: int = 1
) -> tuple[torch.Tensor, int]:
    """Backward this rank's `batch` through `task.loss`, `micro_batch` rows at a time (0: all at
    once); return (the loss of the global batch, its units). Part i contributes
    loss_i * weight_i / total weight (all ranks, `task.batch_weight`, default rows), so the summed
    gradient is the global batch's mean whatever the split; with DDP (`model` wrapped,
    world_size > 1) gradients sync only on the last part."""
    weight_of = getattr(task, "batch_weight", None) or (lambda b: float(n_rows(b)))
    units_of = getattr(task, "batch_units", None) or n_rows
    n = n_rows(batch)
    mb = micro_batch or max(n, 1)
    parts = [slice_rows(batch, slice(i, i + mb)) for i in range(0, n, mb)] if n > mb else [batch]
    weights = [float(weight_of(p)) for p in parts]
    totals = torch.tensor([sum(weights), float(sum(units_of(p) for p in parts))], dtype=torch.float64)
    if world_size > 1:
        torch.distributed.all_reduce(totals)
    total_w = max(float(totals[0]), 1e-12)
    loss_sum = torch.zeros((), device=device)
    for i, p in enumerate(parts):
        p = to_device(p, device)
        sync = contextlib.nullcontext() if world_size == 1 or i == len(parts) - 1 else model.no_sync()
        with sync:
            with torch.autocast(device.type, dtype=amp_dtype, enabled=amp_dtype is not None):
                loss = task.loss(model, p)
            part = loss.float() * (weights[i] / total_w)  # this part's share of the global mean
            scaled = part * world_size  # DDP averages gradients over ranks; the shares already sum
            (scaler.scale(scaled) if scaler is not None else scaled).backward()
        loss_sum += part.detach()
    if world_size > 1:
        torch.distributed.all_reduce(loss_sum)
    return loss_sum, int(totals[1])


@dataclasses.dataclass
class Run:
    """Everything one training run holds and its state file saves: the network and its optimizer,
    where it runs, and the progress so far (history, evaluations, the best weights)."""

    task: Any
    cfg: EngineConfig
    dist: Dist
    device: torch.device
    model: torch.nn.Module  # the network itself (weights are read and saved from here)
    opt: torch.optim.Optimizer
    sched: Any  # an lr scheduler or None
    amp_dtype: Any  # autocast dtype, None = fp32
    scaler: Any  # GradScaler for fp16, else None
    fwd: torch.nn.Module | None = None  # what the step calls: the model, DDP-wrapped and/or compiled
    step: int = 0  # optimizer steps done
    start: int = 0  # the step this process started from (> 0 after a resume)
    history: list = dataclasses.field(default_factory=list)
    window: list = dataclasses.field(default_factory=list)  # losses not yet averaged into history
    evals: list = dataclasses.field(default_factory=list)
    units_seen: int = 0
    best: dict = dataclasses.field(
        default_factory=lambda: {"value": None, "step": None, "metrics": None, "state": None, "bad": 0, "stopped": False}
    )

    @property
    def name(self) -> str:
        return getattr(self.task, "name", type(self.task).__name__)


def set_up(task, cfg: EngineConfig) -> Run:
    """Join the process group, pick the device, build the seeded model, its optimizer and AMP."""
    dist_info = init_distributed()
    device = resolve_device(cfg.device)
    if dist_info.world_size > 1 and device.type == "cuda":
        device = torch.device("cuda", dist_info.local_rank)
    seed_everything(cfg.seed)  # the initial weights
    model = task.build_model().to(device)
    opt, sched = _optimizers(task, model, cfg)
    amp_dtype = amp_dtype_for(cfg.amp, device)
    scaler = torch.amp.GradScaler(device.type) if amp_dtype == torch.float16 else None
    return Run(task, cfg, dist_info, device, model, opt, sched, amp_dtype, scaler)


def resume(run: Run, state: dict | None, fingerprint: str) -> None:
    """Continue from a saved state of the same engine version, fingerprint and at most cfg.steps
    steps (weights, optimizer, scheduler, scaler, RNG, progress); any other state is ignored."""
    if state is None or state.get("engine") != ENGINE_VERSION or state.get("fingerprint") != fingerprint or state["step"] > run.cfg.steps:
        return
    run.model.load_state_dict(state["model"])
    run.opt.load_state_dict(state["optimizer"])
    if run.sched is not None and state.get("scheduler") is not None:
        run.sched.load_state_dict(state["scheduler"])
    if run.scaler is not None and state.get("scaler"):
        run.scaler.load_state_dict(state["scaler"])
    set_rng_state(state["rng"])
    run.start = run.step = state["step"]
    run.history, run.window, run.evals = list(state["history"]), list(state["window"]), list(state["evals"])
    run.units_seen, run.best = int(state["units_seen"]), dict(state["best"])


def wrap(run: Run) -> None:
    """run.fwd: the model under DDP on several ranks, compiled with cfg.compile."""
    fwd = run.model
    if run.dist.world_size > 1:
        from torch.nn.parallel import DistributedDataParallel as DDP

        fwd = DDP(run.model, device_ids=[run.device.index] if run.device.type == "cuda" else None)
    run.fwd = torch.compile(fwd) if run.cfg.compile else fwd


def rank_batch(task, step: int, dist_info: Dist):
    """This rank's rows of step `step`'s global batch (task.batch_part, or a slice of task.batch)."""
    part = getattr(task, "batch_part", None)
    if part is not None:
        return part(step, dist_info.rank, dist_info.world_size)
    b = task.batch(step)
    if dist_info.world_size == 1:
        return b
    n = n_rows(b)
    if n < dist_info.world_size:
        raise InputError(f"the global batch of step {step} has {n} rows, fewer than the {dist_info.world_size} ranks")
    return slice_rows(b, rank_rows(n, dist_info.rank, dist_info.world_size))


class Batches:
    """The batch of each step, built in a thread one step ahead with cfg.prefetch."""

    def __init__(self, run: Run):
        self.run = run
        self.pool = ThreadPoolExecutor(1, thread_name_prefix="prefetch") if run.cfg.prefetch else None
        self.pending = None  # (step, future) of a batch being built ahead

    def get(self, step: int):
        run = self.run
        batch = self.pending[1].result() if self.pending is not None and self.pending[0] == step else rank_batch(run.task, step, run.dist)
        if self.pool is not None and step + 1 < run.cfg.steps:
            self.pending = (step + 1, self.pool.submit(rank_batch, run.task, step + 1, run.dist))
        return batch

    def close(self):
        if self.pool is not None:
            self.pool.shutdown(wait=True, cancel_futures=True)


def optimizer_step(run: Run, batch, step: int) -> tuple[float, float]:
    """One optimizer step on this rank's batch: backward (micro-batches, ranks), unscale, clip,
    step, schedule; return (the global batch's loss, the lr it used)."""
    cfg, opt, scaler = run.cfg, run.opt, run.scaler
    lr = opt.param_groups[0]["lr"]
    opt.zero_grad(set_to_none=True)
    loss_sum, units = backward_batch(
        run.task,
        run.fwd,
        batch,
        run.device,
        micro_batch=cfg.micro_batch,
        amp_dtype=run.amp_dtype,
        scaler=scaler,
        world_size=run.dist.world_size,
    )
    if scaler is not None:
        scaler.unscale_(opt)
    if cfg.grad_clip:
        torch.nn.utils.clip_grad_norm_(run.model.parameters(), cfg.grad_clip)
    if scaler is not None:
        scaler.step(opt)
        scaler.update()
    else:
        opt.step()
    if run.sched is not None:
        run.sched.step()
    value = float(loss_sum)
    if not math.isfinite(value):
        raise FloatingPointError(f"training loss became {value} at step {step} (lr {lr}); lower the lr or check the data")
    run.units_seen += units
    return value, lr


def log_loss(run: Run, value: float, lr: float) -> None:
    """Average the losses of every cfg.log_every steps (and the last) into one history row."""
    run.window.append(value)
    if run.step % run.cfg.log_every == 0 or run.step == run.cfg.steps:
        run.history.append({"step": run.step, "loss": float(np.mean(run.window)), "lr": lr})
        run.window = []


def evaluate(run: Run) -> None:
    """task.metrics on rank 0 (shared with every rank); keep the best weights for cfg.monitor and
    stop after cfg.patience evaluations without improvement."""
    cfg, model, best = run.cfg, run.model, run.best
    out = [None]
    if run.dist.main:
        was = model.training
        model.eval()
        with torch.no_grad():
            out[0] = {k: float(v) for k, v in (run.task.metrics(model) or {}).items()}
        model.train(was)
    if run.dist.world_size > 1:
        torch.distributed.broadcast_object_list(out, src=0)
    metrics = out[0]
    run.evals.append({"step": run.step, **metrics})
    if not cfg.monitor:
        return
    if cfg.monitor not in metrics:
        raise KeyError(f"monitor metric {cfg.monitor!r} not among task.metrics' {sorted(metrics)}")
    if _better(metrics[cfg.monitor], best["value"], cfg.mode):
        state = {k: v.detach().cpu().clone() for k, v in model.state_dict().items()}
        best.update(value=metrics[cfg.monitor], step=run.step, metrics=metrics, bad=0, state=state)
    else:
        best["bad"] += 1
        if cfg.patience and best["bad"] >= cfg.patience:
            best["stopped"] = True


def snapshot(run: Run, fingerprint: str, model_config: dict | None) -> dict:
    """The resumable state of the run (CPU weights, optimizer, scheduler, scaler, RNG, progress)."""
    return {
        "format": STATE_FORMAT,
        "engine": ENGINE_VERSION,
        "fingerprint": fingerprint,
        "model": {k: v.detach().cpu() for k, v in run.model.state_dict().items()},
        "model_config": model_config,
        "optimizer": run.opt.state_dict(),
        "scheduler": run.sched.state_dict() if run.sched is not None else None,
        "scaler": run.scaler.state_dict() if run.scaler is not None else None,
        "step": run.step,
        "history": run.history,
        "window": list(run.window),  # losses not yet averaged into history
        "evals": run.evals,
        "units_seen": run.units_seen,
        "best": run.best,
        "world_size": run.dist.world_size,  # informative: any world size resumes it
        "rng": rng_state(),
    }


def save(run: Run, state_path, fingerprint: str, model_config: dict | None, log_dir) -> None:
    """Rank 0 writes the state (and loss.csv); every rank waits for it."""
    if state_path and run.dist.main:
        save_state(state_path, snapshot(run, fingerprint, model_config))
        if log_dir:
            write_text(Path(log_dir) / "loss.csv", history_csv(run.history, run.evals))
    if run.dist.world_size > 1:
        torch.distributed.barrier()


def progress_bar(run: Run, progress: bool):
    """A tqdm bar over the steps still to run (rank 0 only)."""
    from tqdm.auto import tqdm

    disable = not (progress and run.dist.main)
    return tqdm(range(run.start, run.cfg.steps), initial=run.start, total=run.cfg.steps, desc=run.name, unit="step", disable=disable)


def write_logs(run: Run, log_dir) -> None:
    """Rank 0's loss.csv and loss.png in `log_dir` (nothing without one or without history)."""
    if log_dir and run.dist.main and run.history:
        write_text(Path(log_dir) / "loss.csv", history_csv(run.history, run.evals))
        plot_history(run.history, Path(log_dir) / "loss.png", run.evals, title=f"{run.name} loss")


def result(run: Run, seconds: float) -> TrainResult:
    """The final weights, the logs and the best evaluation, as the caller gets them."""
    best = run.best
    return TrainResult(
        model_state={k: v.detach().cpu() for k, v in run.model.state_dict().items()},
        history=run.history,
        evals=run.evals,
        steps=run.step,
        resumed_from=run.start,
        seconds=round(seconds, 3),
        units_seen=run.units_seen,
        device=str(run.device),
        world_size=run.dist.world_size,
        stopped_early=bool(best["stopped"]),
        best_step=best["step"],
        best_metrics=best["metrics"],
        best_state=best["state"],
    )


def train(
    task,
    cfg: EngineConfig,
    *,
    state_path=None,
    fingerprint: str = "",
    model_config: dict | None = None,
    log_dir=None,
    on_step: Callable[[int, float], None] | None = None,
    progress: bool = True,
) -> TrainResult:
    """Train `task.build_model()` for `cfg.steps` optimizer steps and return the result.

    With `state_path`, the whole state is saved every `cfg.checkpoint_every` steps and at the end
    (rank 0 only), and a saved state with the same `fingerprint` is resumed (another fingerprint
    is ignored and overwritten). `model_config` is stored in the state as it is. With `log_dir`,
    rank 0 writes `loss.csv` (history_csv) at every save and `loss.png` at the end. `on_step(step,
    loss)` runs after each optimizer step (tests use it to interrupt a run). Under torchrun the
    process group is joined from the environment (init_distributed)."""
    run = set_up(task, cfg)
    resume(run, load_state(state_path) if state_path else None, fingerprint)
    wrap(run)
    t0 = time.time()
    run.model.train()
    bar = progress_bar(run, progress)
    batches = Batches(run)
    for step in bar if not run.best["stopped"] else ():
        seed_everything(step_seed(cfg.seed, step))  # the batch depends on (seed, step) only
        batch = batches.get(step)
        if run.dist.world_size > 1:  # dropout etc. differ between ranks; the batch above does not depend on the rank
            torch.manual_seed(step_seed(cfg.seed, f"{step}:{run.dist.rank}"))
        value, lr = optimizer_step(run, batch, step)
        run.step = step + 1
        log_loss(run, value, lr)
        bar.set_postfix(loss=f"{value:.3f}", lr=f"{lr:.1e}")
        if cfg.eval_every and (run.step % cfg.eval_every == 0 or run.step == cfg.steps):
            evaluate(run)
        if run.step % cfg.checkpoint_every == 0 or run.step == cfg.steps or run.best["stopped"]:
            save(run, state_path, fingerprint, model_config, log_dir)
        if on_step is not None:
            on_step(run.step, value)
        if run.best["stopped"]:
            break
    bar.close()
    batches.close()
    write_logs(run, log_dir)
    run.model.eval()
    return result(run, time.time() - t0)
