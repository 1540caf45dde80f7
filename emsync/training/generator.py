"""Training the music generator from the tokenized corpus (§4.4, §6.2): params in, weights out.

`train_generator` is what the `train` stage runs (tasks/train.py wraps it in a cached Prefect
task; flows/train.py writes the checkpoint and reports from what it returns).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from emsync.core.config import TokensParams, TrainParams
from emsync.core.errors import ParamsError
from emsync.music import vocab
from emsync.training.loop import LoopConfig, fingerprint, train_loop

# fields that may change between a killed run and its resumption without invalidating the state
_RESUMABLE_CHANGES = ("steps", "checkpoint_every", "device", "checkpoint", "micro_batch")


def model_config(tp: TrainParams):
    """The MusicTransformerConfig the train params ask for (§6.2 37m, §4.4 145m, or tiny)."""
    from emsync.models.music_transformer import MusicTransformerConfig

    try:
        return MusicTransformerConfig.from_name(tp.config, conditioning=tp.conditioning, boundaries=tp.use_boundaries, dropout=tp.dropout)
    except ValueError as e:
        raise ParamsError(f"train: {e}") from None


def state_path_for(checkpoint) -> Path:
    """The resumable training state lives beside the checkpoint (not a DVC out)."""
    checkpoint = Path(checkpoint)
    return checkpoint.with_name(checkpoint.stem + ".train_state.pt")


@dataclasses.dataclass
class TrainingSetup:
    """Everything a generator training run is made of, before it runs (train_generator runs it;
    the real-music pilot runs it under a CPU-time probe)."""

    model: object  # MusicTransformer, freshly initialised from the seed
    cfg: object  # MusicTransformerConfig
    loop: LoopConfig
    make_batch: object  # step -> batch
    make_part: object  # (step, rank, world_size) -> this rank's rows
    dataset: object  # ChunkDataset of the train split
    seq_len: int
    fingerprint: str


def build_training(tokens_dir, tokens_digest: str, train: dict, tokens: dict, batches=None) -> TrainingSetup:
    """Model, batches and loop config of a training run from the train and tokens params.
    `batches(dataset, batch_size, seed)` draws the step batches (default: StepBatches, one chunk
    per song per epoch, §4.4); another sampler is part of the run's fingerprint."""
    import torch

    from emsync.music.dataset import ChunkConfig, ChunkDataset
    from emsync.training.data import StepBatches
    from emsync.models.music_transformer import MusicTransformer

    tp, tk = TrainParams(**train), TokensParams(**tokens)
    cfg = model_config(tp)
    seq_len = tp.seq_len or cfg.max_len
    if seq_len > cfg.max_len:
        raise ParamsError(f"train.seq_len {seq_len} exceeds the {tp.config} model's window of {cfg.max_len} tokens")
    chunk = ChunkConfig.from_params(tk, chunk_len=seq_len + 1)  # seq_len inputs + 1 for the last target
    ds = ChunkDataset(tokens_dir, split="train", cfg=chunk, seed=tp.seed)
    sampler = batches or StepBatches
    batches = sampler(ds, tp.batch_size, tp.seed)

    def make_batch(step):
        t, o, v, a = batches(step)
        return t, (o if tp.use_boundaries else None), v, a

    def make_part(step, rank, world_size):  # one DDP rank's rows
        t, o, v, a = batches.part(step, rank, world_size)
        return t, (o if tp.use_boundaries else None), v, a

    torch.manual_seed(tp.seed)  # the initial weights
    model = MusicTransformer(cfg)
    stable = {k: v for k, v in train.items() if k not in _RESUMABLE_CHANGES}
    extra = () if sampler is StepBatches else (sampler.__name__,)
    run_fp = fingerprint(tokens_digest, stable, cfg.to_dict(), dataclasses.asdict(chunk), vocab.VOCAB_VERSION, *extra)
    loop = LoopConfig.from_params(tp, prefetch=True)
    return TrainingSetup(model, cfg, loop, make_batch, make_part, ds, seq_len, run_fp)


def train_generator(
    tokens_dir, tokens_digest: str, train: dict, tokens: dict, state_path=None, progress=True, on_step=None, batches=None
) -> dict:
    """Train for train["steps"] steps (resuming a matching saved state) and return
    {"config", "state_dict", "history", "n_params", ...} (tensors on CPU). `on_step(step, loss)`
    runs after every optimizer step; `batches`: see build_training."""
    run = build_training(tokens_dir, tokens_digest, train, tokens, batches)
    res = train_loop(
        run.model,
        run.make_batch,
        run.loop,
        pad_id=vocab.PAD,
        chord_id=vocab.CHORD,
        state_path=state_path,
        run_fingerprint=run.fingerprint,
        model_config=run.cfg.to_dict(),
        progress=progress,
        make_part=run.make_part,
        on_step=on_step,
    )
    return {
        "config": run.cfg.to_dict(),
        "state_dict": res.model_state,
        "history": res.history,
        "steps": res.steps,
        "resumed_from": res.resumed_from,
        "seconds": res.seconds,
        "tokens_seen": res.tokens_seen,
        "device": res.device,
        "n_params": sum(p.numel() for p in run.model.parameters()),
        "n_train_songs": len(run.dataset),
        "seq_len": run.seq_len,
        "fingerprint": run.fingerprint,
    }


def save_run(result: dict, tp: TrainParams, checkpoint, tokens_digest: str, weights: dict | None = None) -> dict:
    """Write the checkpoint of a training run (config + weights + run info); return the metrics."""
    from emsync.music.generator import save_generator
    from emsync.models.music_transformer import MusicTransformer, MusicTransformerConfig

    model = MusicTransformer(MusicTransformerConfig.from_dict(result["config"]))
    model.load_state_dict(result["state_dict"])
    metrics = train_metrics(result, tp)
    save_generator(
        checkpoint,
        model,
        extra={
            "vocab_version": vocab.VOCAB_VERSION,
            "train": dataclasses.asdict(tp),
            "tokens_digest": tokens_digest,
            "metrics": {k: v for k, v in metrics.items() if k != "seconds"},  # no wall time: same run, same bytes
            **({"weights": weights} if weights else {}),
        },
    )
    return metrics


def write_run_reports(history: list, metrics: dict, tp: TrainParams, reports_dir) -> None:
    """reports/train_metrics.json, train_loss.csv and train_loss.png of a training run."""
    from emsync.core.io import write_json, write_text
    from emsync.training.engine import history_csv, plot_history

    reports = Path(reports_dir)
    write_json(reports / "train_metrics.json", metrics)
    write_text(reports / "train_loss.csv", history_csv(history))
    plot_history(history, reports / "train_loss.png", title=f"{tp.config} {tp.conditioning}", ylabel="weighted cross-entropy")


def finish_run(result: dict, tp: TrainParams, checkpoint, reports_dir, tokens_digest: str, weights: dict | None = None) -> dict:
    """Write what a training run leaves: the checkpoint, reports/train_metrics.json,
    train_loss.csv and train_loss.png; return the metrics."""
    metrics = save_run(result, tp, checkpoint, tokens_digest, weights)
    write_run_reports(result["history"], metrics, tp, reports_dir)
    return metrics


def train_to_checkpoint(
    tokens_dir, tokens_digest: str, train: dict, tokens: dict, checkpoint, state_path=None, weights: dict | None = None
) -> dict:
    """Train, write the checkpoint, and return what a cached task should hold: the checkpoint's
    path and md5 (to check it is still there), the metrics and the loss history; no weights."""
    from emsync.core.io import file_digest

    result = train_generator(tokens_dir, tokens_digest, train, tokens, state_path=state_path)
    metrics = save_run(result, TrainParams(**train), checkpoint, tokens_digest, weights)
    return {"checkpoint": str(checkpoint), "md5": file_digest(checkpoint), "metrics": metrics, "history": result["history"]}


def weights_kind(params) -> dict:
    """extra["weights"] of a train-stage checkpoint (emsync.core.provenance): "demo" when its corpus is
    the demo_data stage's synthetic one, else "real" (the thesis set's LPD-5), and what it learnt."""
    from emsync.core.provenance import DEMO_DATA, data_kind, weights_record

    kind = data_kind([params.path(params.tokens.midi_dir)], params.path(params.demo_data.out_dir))
    trained_on = f"{DEMO_DATA} ({params.tokens.midi_dir})" if kind == "demo" else f"{params.tokens.midi_dir} (tokens stage)"
    return weights_record(kind, f"train stage ({params.train.checkpoint})", trained_on)


def checkpoint_matches(result: dict) -> bool:
    """Whether the checkpoint a (possibly cached) train_to_checkpoint result names is on disk unchanged."""
    from emsync.core.io import file_digest

    path = Path(result["checkpoint"])
    return path.is_file() and file_digest(path) == result["md5"]


def train_distributed(tokens_dir, checkpoint, reports_dir, train: dict, tokens: dict, weights: dict | None = None) -> dict | None:
    """Data-parallel training under torchrun (docs/training.md): every rank trains (drawing its
    rows of each step's batch), rank 0 writes the state, the checkpoint and the reports. No
    Prefect cache here: a cached rank would leave the others waiting. Returns the metrics on
    rank 0, None on the others."""
    import torch.distributed as dist

    from emsync.training.engine import init_distributed
    from emsync.training.tokens import tokens_digest as digest_of

    info = init_distributed()
    try:
        digest = digest_of(Path(tokens_dir))
        result = train_generator(tokens_dir, digest, train, tokens, state_path=state_path_for(checkpoint), progress=info.main)
        metrics = finish_run(result, TrainParams(**train), checkpoint, reports_dir, digest, weights) if info.main else None
        if info.world_size > 1:
            dist.barrier()
        return metrics
    finally:
        if dist.is_initialized():
            dist.destroy_process_group()


def train_metrics(result: dict, tp: TrainParams) -> dict:
    """The `dvc metrics` summary of a training run."""
    hist = result["history"]
    tail = hist[-max(1, len(hist) // 10) :]
    return {
        "final_loss": hist[-1]["loss"] if hist else None,
        "first_loss": hist[0]["loss"] if hist else None,
        "mean_loss_last_10pct": sum(r["loss"] for r in tail) / len(tail) if hist else None,
        "steps": result["steps"],
        "final_lr": hist[-1]["lr"] if hist else None,
        "tokens_seen": result["tokens_seen"],
        "n_params": result["n_params"],
        "n_train_songs": result["n_train_songs"],
        "config": tp.config,
        "conditioning": tp.conditioning,
        "use_boundaries": tp.use_boundaries,
        "device": result["device"],
        "seconds": result["seconds"],
    }
