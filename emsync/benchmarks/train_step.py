"""Training speed of the music transformer through the training engine: per optimizer step, the
time spent building the batch from the memory-mapped token shards (data) next to the time of
forward + backward + optimizer step (compute), and target tokens per second. fp32 against bf16
AMP (and torch.compile with --compile) where a GPU is present; ratios come from the same run.

    emsync bench train_step --device cpu
    emsync bench train_step --config 37m --batch 64 --device cuda            # §6.2: batch 64 x 1216 tokens
    emsync bench train_step --config 37m --batch 64 --device cuda --compile
    emsync bench train_step --tokens data/tokens --config tiny --batch 8     # a real tokenized corpus
    emsync bench train_step --config 37m --batch 64 --data-only             # can the CPU feed that GPU step?

Without --tokens, a synthetic corpus in the data/tokens format (random tokens, int16 shards,
index.parquet) is written to a temp folder; the batches come from it exactly as in training
(StepBatches -> ChunkDataset: seeded chunk, transposition, CHORD dropout, boundary offsets).
"""

import tempfile
import time
from pathlib import Path


def add_args(p):
    p.add_argument("--config", default="tiny", help="tiny | 37m | 145m")
    p.add_argument("--conditioning", default="continuous_token")
    p.add_argument("--batch", type=int, default=8, help="global batch (rows per step)")
    p.add_argument("--seq-len", type=int, default=0, help="tokens per row (default: the model's window)")
    p.add_argument("--micro-batch", type=int, default=0, help="rows per forward/backward (0: the whole batch)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per mode (after --warmup steps)")
    p.add_argument("--warmup", type=int, default=2, help="untimed steps first (compilation, allocator)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--compile", action="store_true", help="also time torch.compile (with AMP on CUDA)")
    p.add_argument("--tokens", default=None, help="a tokenized corpus folder (default: a synthetic one)")
    p.add_argument(
        "--prefetch", action="store_true", help="build the next batch in a thread during the step, as `emsync train` does (data overlapped)"
    )
    p.add_argument(
        "--data-only", action="store_true", help="time only the batch building (e.g. the 37m batch 64 x 1216 on a CPU-only machine)"
    )
    p.add_argument("--songs", type=int, default=64, help="synthetic corpus: songs")
    p.add_argument("--song-tokens", type=int, default=4000, help="synthetic corpus: tokens per song")


def synthetic_corpus(root, n_songs: int, song_tokens: int, seed: int = 0) -> Path:
    """A random corpus in the data/tokens format: [MORE, START, random events with a CHORD every
    ~40 tokens and time shifts between], one int16 shard, all songs in the train split."""
    import numpy as np
    import pandas as pd

    from emsync.core.io import write_json
    from emsync.music import vocab as V

    root = Path(root)
    rng = np.random.default_rng(seed)
    ids = rng.integers(V.ON_OFFSET, V.SIZE, size=(n_songs, song_tokens)).astype(np.int16)  # (S, T)
    ids[:, 0], ids[:, 1] = V.MORE, V.START
    ids[:, 2::40] = V.CHORD
    (root / "shards").mkdir(parents=True, exist_ok=True)
    np.save(root / "shards" / "00000.npy", ids.reshape(-1))
    pd.DataFrame(
        {
            "midi_id": [f"synthetic{i:05d}" for i in range(n_songs)],
            "split": "train",
            "valence": rng.uniform(-1, 1, n_songs),
            "arousal": rng.uniform(-1, 1, n_songs),
            "shard": 0,
            "offset": np.arange(n_songs) * song_tokens,
            "n_tokens": song_tokens,
        }
    ).to_parquet(root / "index.parquet", index=False)
    write_json(root / "vocab.json", V.to_json())
    return root


def _batches(cfg, tokens_dir, args):
    from emsync.core.config import TokensParams
    from emsync.music.dataset import ChunkConfig, ChunkDataset
    from emsync.training.data import StepBatches

    L = args.seq_len or cfg.max_len
    ds = ChunkDataset(tokens_dir, split="train", cfg=ChunkConfig.from_params(TokensParams(), chunk_len=L + 1), seed=0)
    return StepBatches(ds, args.batch, seed=0)


def _time_data(cfg, tokens_dir, args) -> dict:
    import numpy as np

    batches = _batches(cfg, tokens_dir, args)
    times = []
    for step in range(args.warmup + args.steps):
        t0 = time.perf_counter()
        batches(step)
        times.append(time.perf_counter() - t0)
    return {"data_s_per_step": round(float(np.mean(times[args.warmup :])), 5)}


def _time_mode(cfg, tokens_dir, args, device, amp: str, compile_: bool) -> dict:
    import numpy as np
    import torch

    from emsync.models.music_transformer import MusicTransformer
    from emsync.music import vocab
    from emsync.training import engine
    from emsync.training.loop import LoopConfig, MusicLMTask

    batches = _batches(cfg, tokens_dir, args)
    data_s, marks = [], []

    def make_batch(step):
        t0 = time.perf_counter()
        b = batches(step)
        data_s.append(time.perf_counter() - t0)
        return b

    torch.manual_seed(0)
    model = MusicTransformer(cfg)
    n = args.warmup + args.steps
    loop_cfg = LoopConfig(steps=n, lr=1e-4, device=str(device), micro_batch=args.micro_batch)
    task = MusicLMTask(model, make_batch, loop_cfg, pad_id=vocab.PAD, chord_id=vocab.CHORD, vocab_size=cfg.vocab_size)
    ecfg = engine.EngineConfig(
        steps=n,
        device=str(device),
        lr=1e-4,
        micro_batch=args.micro_batch,
        amp=amp,
        compile=compile_,
        checkpoint_every=n,
        prefetch=args.prefetch,
    )
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    marks.append(time.perf_counter())
    res = engine.train(task, ecfg, progress=False, on_step=lambda step, loss: marks.append(time.perf_counter()))
    step_s = np.diff(marks)[args.warmup :]  # (steps,) wall time per step (the loss is read back each step: synced)
    data = np.asarray(data_s[args.warmup :])
    compute = step_s if args.prefetch else step_s - data  # prefetched batches are built during the step
    tok = res.units_seen / n  # target tokens per step (non-PAD)
    out = {
        "s_per_step": round(float(step_s.mean()), 4),
        "data_s_per_step": round(float(data.mean()), 5),
        "compute_s_per_step": round(float(compute.mean()), 4),
        "data_share": None if args.prefetch else round(float(data.sum() / step_s.sum()), 4),
        "tokens_per_s": round(tok / float(step_s.mean()), 1),
    }
    if device.type == "cuda":
        out["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def run(args) -> dict:
    import torch

    from emsync.core.device import resolve_device
    from emsync.models.music_transformer import MusicTransformerConfig

    device = resolve_device(args.device)
    cfg = MusicTransformerConfig.from_name(args.config, conditioning=args.conditioning)
    with tempfile.TemporaryDirectory(prefix="emsync-bench-") as tmp:
        tokens_dir = Path(args.tokens) if args.tokens else synthetic_corpus(tmp, args.songs, args.song_tokens)
        if args.data_only:
            modes = {"data_only": _time_data(cfg, tokens_dir, args)}
        else:
            modes = {"fp32": _time_mode(cfg, tokens_dir, args, device, "off", False)}
        if device.type == "cuda" and not args.data_only:
            modes["amp"] = _time_mode(cfg, tokens_dir, args, device, "auto", False)
            modes["amp"]["speedup_vs_fp32"] = round(modes["fp32"]["s_per_step"] / modes["amp"]["s_per_step"], 2)
        if args.compile and not args.data_only:
            name = "amp_compiled" if device.type == "cuda" else "fp32_compiled"
            modes[name] = _time_mode(cfg, tokens_dir, args, device, "auto", True)
            modes[name]["speedup_vs_fp32"] = round(modes["fp32"]["s_per_step"] / modes[name]["s_per_step"], 2)
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "config": args.config,
        "batch": args.batch,
        "prefetch": args.prefetch,
        "seq_len": args.seq_len or cfg.max_len,
        "micro_batch": args.micro_batch,
        "threads": torch.get_num_threads(),
        "corpus": str(args.tokens or "synthetic"),
        "modes": modes,
    }
