"""Generation speed (issue 5): tokens/s at batch 1 for the upstream way (re-run the whole <= 1216
token window every step) vs the KV-cache engine, plus batched KV-cache throughput, measured in one
run on random weights of the chosen config, each mode in its steady state: full_recompute starts
with the window already full (every step re-runs `window` tokens); the cache engine starts from
window - stride tokens, so a run of k * stride tokens holds exactly k (re-)prefills.

    emsync bench generate --device cpu --config 37m
    emsync bench generate --device cuda --config 37m --batch 256 --dtype bfloat16
"""
import os
import time

# On a shared, oversubscribed CPU, OpenMP threads that spin-wait at every barrier make 2 threads
# ~10x slower than 1; passive waiting avoids that (read when OpenMP starts, so set before torch).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import numpy as np  # noqa: E402
import torch  # noqa: E402

from emsync.errors import InputError


def add_args(p):
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--config", default="37m", help="model config: tiny | 37m | 145m")
    p.add_argument("--conditioning", default="continuous_token")
    p.add_argument("--window", type=int, default=1216, help="music tokens the model sees (§4.4)")
    p.add_argument("--slide-stride", type=int, default=256, help="KV engine: tokens dropped per slide")
    p.add_argument("--full-tokens", type=int, default=0, help="tokens for full_recompute (0: 6 on cpu, 64 on cuda)")
    p.add_argument("--tokens", type=int, default=0,
                   help="tokens per kv_cache run, best a multiple of the stride (0: 512 on cpu, 2048 on cuda; batched: half)")
    p.add_argument("--batch", type=int, default=0, help="batched run size (0: 8 on cpu, 256 on cuda)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0: torch's default)")
    p.add_argument("--no-cuda-graph", action="store_true", help="eager decode steps on CUDA")
    p.add_argument("--int8", action="store_true", help="CPU: int8 dynamic-quantized Linear layers in every mode")
    p.add_argument("--seed", type=int, default=0)


def run(args) -> dict:
    from emsync.music import vocab as V
    from models.generation import Condition, SamplingConfig, generate, make_primer
    from models.music_transformer import MusicTransformer, MusicTransformerConfig

    if args.device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available on this machine")
    if args.threads:
        torch.set_num_threads(args.threads)
    cuda = args.device == "cuda"
    dev = torch.device(args.device)
    torch.manual_seed(args.seed)
    cfg = MusicTransformerConfig.from_name(args.config, conditioning=args.conditioning, boundaries=True,
                                           max_len=max(args.window, 2), dropout=0.0)
    model = MusicTransformer(cfg).to(dev, getattr(torch, args.dtype)).eval()
    n_params = model.num_parameters()
    if args.int8:
        if cuda:
            raise InputError("--int8 is a CPU option")
        from models.generation import quantize_int8

        model = quantize_int8(model)
    window = cfg.max_len
    stride = min(args.slide_stride, max(1, window // 2))  # as the engine caps it
    rng = np.random.default_rng(args.seed)
    body = rng.integers(V.ON_OFFSET, V.SIZE, size=window - 3)  # random notes and shifts
    full_primer = make_primer("start_bar", "more") + body.tolist()  # fills the window: every step is a full one
    kv_primer = full_primer[: window - stride]  # steady state: one (re-)prefill per `stride` tokens
    n_full = args.full_tokens or (64 if cuda else 6)
    n_kv = args.tokens or (2048 if cuda else 512)
    batch = args.batch or (256 if cuda else 8)
    cond = Condition(0.5, -0.2, boundaries=tuple(np.arange(5.0, 600.0, 5.0)))

    def measure(primer, n, b, **kw):
        sc = SamplingConfig(window=window, slide_stride=stride, cuda_graph=cuda and not args.no_cuda_graph, **kw)
        generate(model, [cond] * b, primer[:16], max_new_tokens=2, cfg=sc, seed=args.seed)  # warm-up (allocations, graph)
        if cuda:
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        res = generate(model, [cond] * b, primer, max_new_tokens=n, cfg=sc, seed=args.seed)
        if cuda:
            torch.cuda.synchronize()
        dt = time.perf_counter() - t0
        return {"tokens_per_s": round(res.n_generated * b / dt, 2), "tokens": res.n_generated * b, "seconds": round(dt, 3)}

    full = measure(full_primer, n_full, 1, use_cache=False)
    kv = measure(kv_primer, n_kv, 1)
    kvb = measure(kv_primer, max(n_kv // 2, stride), batch)
    kv["speedup_vs_full_recompute"] = round(kv["tokens_per_s"] / full["tokens_per_s"], 2)
    kvb = {"batch": batch, **kvb, "speedup_vs_full_recompute": round(kvb["tokens_per_s"] / full["tokens_per_s"], 2)}
    device = torch.cuda.get_device_name(dev) if cuda else f"cpu ({torch.get_num_threads()} threads)"
    return {
        "device": device,
        "config": args.config,
        "modes": {"full_recompute": full, "kv_cache": kv, "kv_cache_batched": kvb},
        "settings": {"window": window, "slide_stride": stride, "dtype": args.dtype,
                     "params_m": round(n_params / 1e6, 2), "int8": args.int8,
                     "load_avg_1m": round(os.getloadavg()[0], 2),
                     "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "cuda_graph": cuda and not args.no_cuda_graph},
    }
