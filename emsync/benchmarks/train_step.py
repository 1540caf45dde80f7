"""Training throughput of the music transformer: optimizer steps per second and target tokens
per second on random batches (no data loading), fp32 against AMP where a GPU is present, and
full batch against micro-batches (gradient accumulation). Ratios come from the same run.

    emsync bench train_step --config tiny --batch 8 --steps 5
    emsync bench train_step --config 37m --batch 64 --micro-batch 16 --device cuda
"""
import time


def add_args(p):
    p.add_argument("--config", default="tiny", help="tiny | 37m | 145m")
    p.add_argument("--conditioning", default="continuous_token")
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--seq-len", type=int, default=0, help="tokens per row (default: the model's window)")
    p.add_argument("--micro-batch", type=int, default=0, help="also time this micro-batch size (0: skip)")
    p.add_argument("--steps", type=int, default=5, help="timed steps per mode (after 2 warm-up steps)")
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")


def _time_mode(cfg, args, device, amp_dtype, micro_batch):
    import torch

    from emsync.music import vocab
    from emsync.training.loop import accumulate_gradients, class_weights
    from emsync.models.music_transformer import MusicTransformer

    torch.manual_seed(0)
    model = MusicTransformer(cfg).to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-4)
    w = class_weights(cfg.vocab_size, vocab.CHORD, 10.0, device)
    L = (args.seq_len or cfg.max_len) + 1
    B = args.batch
    g = torch.Generator().manual_seed(0)
    tokens = torch.randint(vocab.ON_OFFSET, vocab.SIZE, (B, L), generator=g).to(device)
    offsets = (torch.rand(B, L, generator=g) * 10).to(device)
    va = (torch.rand(B, generator=g) * 2 - 1).to(device)

    def step():
        opt.zero_grad(set_to_none=True)
        accumulate_gradients(model, tokens, offsets, va, va, w, vocab.PAD, micro_batch, amp_dtype)
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize()

    for _ in range(2):
        step()
    sync()
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    t0 = time.perf_counter()
    for _ in range(args.steps):
        step()
    sync()
    dt = (time.perf_counter() - t0) / args.steps
    out = {"s_per_step": round(dt, 4), "tokens_per_s": round(B * (L - 1) / dt, 1)}
    if device.type == "cuda":
        out["peak_gib"] = round(torch.cuda.max_memory_allocated() / 2**30, 2)
    return out


def run(args) -> dict:
    import torch

    from emsync.device import resolve_device
    from emsync.models.music_transformer import MusicTransformerConfig

    device = resolve_device(args.device)
    cfg = MusicTransformerConfig.from_name(args.config, conditioning=args.conditioning)
    modes = {"fp32": _time_mode(cfg, args, device, None, 0)}
    if device.type == "cuda":
        amp = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
        modes["amp"] = _time_mode(cfg, args, device, amp, 0)
        modes["amp"]["speedup_vs_fp32"] = round(modes["fp32"]["s_per_step"] / modes["amp"]["s_per_step"], 2)
    if args.micro_batch:
        modes[f"micro_batch_{args.micro_batch}"] = _time_mode(cfg, args, device, None, args.micro_batch)
    return {"device": str(device), "config": args.config, "batch": args.batch,
            "seq_len": args.seq_len or cfg.max_len, "threads": torch.get_num_threads(), "modes": modes}
