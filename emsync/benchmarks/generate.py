"""Generation speed (issue 5): tokens/s at batch 1 for the upstream way (re-run the whole <= 1216
token window every step) vs the KV-cache engine, plus batched KV-cache throughput, measured in one
run on random weights of the chosen config, each mode in its steady state: full_recompute starts
with the window already full (every step re-runs `window` tokens); the cache engine starts from
window - stride tokens, so a run of k * stride tokens holds exactly k (re-)prefills (on CPU the
default run is one stride: one re-prefill, amortised as in a long generation).

CPU defaults are the engine's (emsync.config.GenerateParams): int8 Linear layers in every mode (so
the ratios isolate the engine; --fp32 for fp32 weights), stride 608, 1 thread. The machine is
usually shared: each mode also reports `tokens_per_cpu_s` (tokens per second of this process's
CPU time), which is what the run gets from a core of its own, beside the wall-clock `tokens_per_s`.

    emsync bench generate --device cpu --config 37m
    emsync bench generate --device cuda --config 37m --batch 256 --dtype bfloat16
"""
import os
import time

import numpy as np
import torch

from emsync.errors import InputError


def add_args(p):
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--config", default="37m", help="model config: tiny | 37m | 145m")
    p.add_argument("--conditioning", default="continuous_token")
    p.add_argument("--window", type=int, default=1216, help="music tokens the model sees (§4.4)")
    p.add_argument("--slide-stride", type=int, default=608, help="KV engine: tokens dropped per slide")
    p.add_argument("--full-tokens", type=int, default=0, help="tokens for full_recompute (0: 6 on cpu, 64 on cuda)")
    p.add_argument("--tokens", type=int, default=0,
                   help="tokens per kv_cache run, best a multiple of the stride (0: the stride on cpu, 2048 on cuda; batched: half)")
    p.add_argument("--batch", type=int, default=0, help="batched run size (0: 8 on cpu, 256 on cuda)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--threads", type=int, default=-1,
                   help="torch CPU threads (-1: generate.cpu_threads' default, 1; 0: torch's default)")
    p.add_argument("--no-cuda-graph", action="store_true", help="eager decode steps on CUDA")
    p.add_argument("--int8", action="store_true", help="CPU: int8 Linear layers in every mode (the CPU default)")
    p.add_argument("--fp32", action="store_true", help="CPU: keep fp32 Linear layers (no int8 quantization)")
    p.add_argument("--seed", type=int, default=0)


def run(args) -> dict:
    from emsync.music import vocab as V
    from emsync.models.generation import Condition, SamplingConfig, generate, make_primer
    from emsync.models.music_transformer import MusicTransformer, MusicTransformerConfig

    if args.device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available on this machine")
    from emsync.config import GenerateParams

    cuda = args.device == "cuda"
    threads = GenerateParams().cpu_threads if args.threads < 0 else args.threads
    if threads and not cuda:
        torch.set_num_threads(threads)
    int8 = not cuda and not args.fp32 and (args.int8 or GenerateParams().cpu_int8)
    dev = torch.device(args.device)
    torch.manual_seed(args.seed)
    cfg = MusicTransformerConfig.from_name(args.config, conditioning=args.conditioning, boundaries=True,
                                           max_len=max(args.window, 2), dropout=0.0)
    model = MusicTransformer(cfg).to(dev, getattr(torch, args.dtype)).eval()
    n_params = model.num_parameters()
    if args.int8 and cuda:
        raise InputError("--int8 is a CPU option")
    if int8:
        from emsync.models.generation import quantize_int8

        model = quantize_int8(model)
    window = cfg.max_len
    stride = min(args.slide_stride, max(1, window // 2))  # as the engine caps it
    rng = np.random.default_rng(args.seed)
    body = rng.integers(V.ON_OFFSET, V.SIZE, size=window - 3)  # random notes and shifts
    full_primer = make_primer("start_bar", "more") + body.tolist()  # fills the window: every step is a full one
    kv_primer = full_primer[: window - stride]  # steady state: one (re-)prefill per `stride` tokens
    n_full = args.full_tokens or (64 if cuda else 6)
    n_kv = args.tokens or (2048 if cuda else stride)
    batch = args.batch or (256 if cuda else 8)
    cond = Condition(0.5, -0.2, boundaries=tuple(np.arange(5.0, 600.0, 5.0)))

    def measure(primer, n, b, **kw):
        sc = SamplingConfig(window=window, slide_stride=stride, cuda_graph=cuda and not args.no_cuda_graph, **kw)
        generate(model, [cond] * b, primer[:16], max_new_tokens=2, cfg=sc, seed=args.seed)  # warm-up (allocations, graph)
        if cuda:
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        res = generate(model, [cond] * b, primer, max_new_tokens=n, cfg=sc, seed=args.seed)
        if cuda:
            torch.cuda.synchronize()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        k = res.n_generated * b
        return {"tokens_per_s": round(k / dt, 2), "tokens": k, "seconds": round(dt, 3),
                "tokens_per_cpu_s": round(k / dc, 2), "cpu_seconds": round(dc, 3)}

    load = [os.getloadavg()[0]]
    full = measure(full_primer, n_full, 1, use_cache=False)
    kv = measure(kv_primer, n_kv, 1)
    load.append(os.getloadavg()[0])
    kvb = measure(kv_primer, max(n_kv // 2, stride), batch)
    load.append(os.getloadavg()[0])
    kv["speedup_vs_full_recompute"] = round(kv["tokens_per_s"] / full["tokens_per_s"], 2)
    kvb = {"batch": batch, **kvb, "speedup_vs_full_recompute": round(kvb["tokens_per_s"] / full["tokens_per_s"], 2)}
    device = torch.cuda.get_device_name(dev) if cuda else f"cpu ({torch.get_num_threads()} threads)"
    return {
        "device": device,
        "config": args.config,
        "modes": {"full_recompute": full, "kv_cache": kv, "kv_cache_batched": kvb},
        "settings": {"window": window, "slide_stride": stride, "dtype": args.dtype,
                     "params_m": round(n_params / 1e6, 2), "int8": int8,
                     "load_avg_1m": [round(x, 2) for x in load], "cpu_count": os.cpu_count(),
                     "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"), "cuda_graph": cuda and not args.no_cuda_graph},
    }
