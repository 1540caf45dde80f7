"""Generation speed: tokens/s at batch 1 for the upstream way (re-run the whole <= 1216
token window every step) vs the KV-cache engine, plus batched KV-cache throughput, measured in one
run on random weights of the chosen config, each mode in its steady state: full_recompute starts
with the window already full (every step re-runs `window` tokens); the cache engine starts from
window - stride tokens, so a run of k * stride tokens holds exactly k (re-)prefills (on CPU the
default run is one stride: one re-prefill, amortised as in a long generation).

CPU defaults are the engine's (emsync.core.config.GenerateParams): int8 Linear layers in every mode (so
the ratios isolate the engine; --fp32 for fp32 weights), stride 608 (the "cpu" preset; the default
generation stride is 64, see the stride study below), 1 thread. The machine is
usually shared: each mode also reports `tokens_per_cpu_s` (tokens per second of this process's
CPU time), which is what the run gets from a core of its own, beside the wall-clock `tokens_per_s`.

Stride study (§4.4 slides the 1216-token window by one token; the engine slides by a stride): for
each of --strides, batch-1 tokens/s in steady state and the NLL the model assigns to its own
continuation when it sees the context that stride gives, next to stride 1 (full context). The
continuation is generated once (stride 608); then --nll-targets of its tokens, each the last token
of a full window, are scored with the full window (stride 1) and, per stride s, with the context a
token has at --nll-phases evenly spread points of the s-token cycle (window - s + 1 .. window
tokens). The NLL columns are means over the same target tokens, so "delta_nll" is paired. Random
weights score every token near log(1021) = 6.93 whatever the context; pass --checkpoint for a
trained generator.

    emsync bench generate --device cpu --config 37m
    emsync bench generate --device cpu --checkpoint data/models/music/checkpoint.pt --nll-targets 32
    emsync bench generate --device cuda --config 37m --batch 256 --dtype bfloat16
"""

import os
import time

import numpy as np
import torch

from emsync.core.errors import InputError


def add_args(p):
    p.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    p.add_argument("--config", default="37m", help="model config: tiny | 37m | 145m")
    p.add_argument("--conditioning", default="continuous_token")
    p.add_argument("--window", type=int, default=1216, help="music tokens the model sees (§4.4)")
    p.add_argument(
        "--slide-stride",
        type=int,
        default=608,
        help="KV engine modes: tokens dropped per slide (default: the cpu preset, 608; the stride study covers the others)",
    )
    p.add_argument("--full-tokens", type=int, default=0, help="tokens for full_recompute (0: 6 on cpu, 64 on cuda)")
    p.add_argument(
        "--tokens",
        type=int,
        default=0,
        help="tokens per kv_cache run, best a multiple of the stride (0: the stride on cpu, 2048 on cuda; batched: half)",
    )
    p.add_argument("--batch", type=int, default=0, help="batched run size (0: 8 on cpu, 256 on cuda)")
    p.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "float16"])
    p.add_argument("--threads", type=int, default=-1, help="torch CPU threads (-1: generate.cpu_threads' default, 1; 0: torch's default)")
    p.add_argument("--no-cuda-graph", action="store_true", help="eager decode steps on CUDA")
    p.add_argument("--int8", action="store_true", help="CPU: int8 Linear layers in every mode (the CPU default)")
    p.add_argument("--fp32", action="store_true", help="CPU: keep fp32 Linear layers (no int8 quantization)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--strides", default="1,16,64,152,608", help="stride study: comma-separated strides (or presets exact, thesis, cpu); '' skips it"
    )
    p.add_argument("--nll-targets", type=int, default=0, help="stride study: tokens scored (0: 4 on cpu, 64 on cuda)")
    p.add_argument("--nll-phases", type=int, default=2, help="stride study: contexts sampled per stride cycle")
    p.add_argument("--checkpoint", default=None, help="a trained generator checkpoint instead of random weights")


def run(args) -> dict:
    from emsync.music import vocab as V
    from emsync.music.generator import make_primer
    from emsync.models.generation import Condition, resolve_stride

    if args.device == "cuda" and not torch.cuda.is_available():
        raise InputError("--device cuda: no CUDA GPU is available on this machine")
    cuda = args.device == "cuda"
    model, cfg, n_params, int8 = _bench_model(args, cuda)
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
    measure = _measurer(model, cond, window, stride, cuda and not args.no_cuda_graph, cuda, args.seed)

    load = [os.getloadavg()[0]]
    full = measure(full_primer, n_full, 1, use_cache=False)
    kv = measure(kv_primer, n_kv, 1)
    load.append(os.getloadavg()[0])
    kvb = measure(kv_primer, max(n_kv // 2, stride), batch)
    load.append(os.getloadavg()[0])
    kv["speedup_vs_full_recompute"] = round(kv["tokens_per_s"] / full["tokens_per_s"], 2)
    kvb = {"batch": batch, **kvb, "speedup_vs_full_recompute": round(kvb["tokens_per_s"] / full["tokens_per_s"], 2)}
    strides = [resolve_stride(x.strip()) for x in args.strides.split(",") if x.strip()]
    study = None
    if strides:
        n_targets = args.nll_targets or (64 if cuda else 4)
        study = stride_study(
            model, window, strides, cond, full_primer, measure, n_targets, max(1, args.nll_phases), n_exact=n_full, seed=args.seed
        )
        load.append(os.getloadavg()[0])
    device = torch.cuda.get_device_name(torch.device(args.device)) if cuda else f"cpu ({torch.get_num_threads()} threads)"
    return {
        "device": device,
        "config": args.checkpoint or args.config,
        "modes": {"full_recompute": full, "kv_cache": kv, "kv_cache_batched": kvb},
        "strides": study,
        "settings": {
            "window": window,
            "slide_stride": stride,
            "dtype": args.dtype,
            "params_m": round(n_params / 1e6, 2),
            "int8": int8,
            "load_avg_1m": [round(x, 2) for x in load],
            "cpu_count": os.cpu_count(),
            "omp_wait_policy": os.environ.get("OMP_WAIT_POLICY"),
            "cuda_graph": cuda and not args.no_cuda_graph,
        },
    }


def _bench_model(args, cuda: bool):
    """(model, its config, parameters, int8?): the checkpoint or seeded random weights of --config,
    on --device in --dtype, int8 on CPU unless --fp32; torch threads set as the engine sets them."""
    from emsync.core.config import GenerateParams
    from emsync.models.music_transformer import MusicTransformer, MusicTransformerConfig

    threads = GenerateParams().cpu_threads if args.threads < 0 else args.threads
    if threads and not cuda:
        torch.set_num_threads(threads)
    int8 = not cuda and not args.fp32 and (args.int8 or GenerateParams().cpu_int8)
    dev = torch.device(args.device)
    torch.manual_seed(args.seed)
    if args.checkpoint:
        from emsync.models.music_transformer import load_checkpoint

        model, _ = load_checkpoint(args.checkpoint, map_location="cpu")
        cfg = model.cfg
        model = model.to(dev, getattr(torch, args.dtype)).eval()
    else:
        cfg = MusicTransformerConfig.from_name(
            args.config, conditioning=args.conditioning, boundaries=True, max_len=max(args.window, 2), dropout=0.0
        )
        model = MusicTransformer(cfg).to(dev, getattr(torch, args.dtype)).eval()
    n_params = model.num_parameters()
    if args.int8 and cuda:
        raise InputError("--int8 is a CPU option")
    if int8:
        from emsync.models.generation import quantize_int8

        model = quantize_int8(model)
    return model, cfg, n_params, int8


def _measurer(model, cond, window: int, stride: int, cuda_graph: bool, cuda: bool, seed: int):
    """measure(primer, n, batch, **sampling) -> tokens/s (wall and CPU) of one warm generation."""
    from emsync.music.generator import token_ids
    from emsync.models.generation import SamplingConfig, generate

    def measure(primer, n, b, **kw):
        sc = SamplingConfig(tokens=token_ids(), window=window, cuda_graph=cuda_graph, **{"slide_stride": stride, **kw})
        generate(model, [cond] * b, primer[:16], max_new_tokens=2, cfg=sc, seed=seed)  # warm-up (allocations, graph)
        if cuda:
            torch.cuda.synchronize()
        t0, c0 = time.perf_counter(), time.process_time()
        res = generate(model, [cond] * b, primer, max_new_tokens=n, cfg=sc, seed=seed)
        if cuda:
            torch.cuda.synchronize()
        dt, dc = time.perf_counter() - t0, time.process_time() - c0
        k = res.n_generated * b
        return {
            "tokens_per_s": round(k / dt, 2),
            "tokens": k,
            "seconds": round(dt, 3),
            "tokens_per_cpu_s": round(k / dc, 2),
            "cpu_seconds": round(dc, 3),
        }

    return measure


def stride_study(model, window, strides, cond, full_primer, measure, n_targets, n_phases, n_exact=6, seed=0) -> list:
    """Per stride: tokens/s (steady state, batch 1) and the mean NLL of `n_targets` tokens of the
    model's own continuation given the context that stride leaves, beside stride 1's."""
    import torch.nn.functional as F

    from emsync.music.generator import token_ids
    from emsync.models.generation import SamplingConfig, effective_stride, generate, mean_context

    dev = next(model.parameters()).device
    # the continuation: a full window of the model's own tokens, then n_targets more
    res = generate(
        model,
        [cond],
        full_primer[:3],
        max_new_tokens=window + n_targets,
        cfg=SamplingConfig(tokens=token_ids(), window=window, slide_stride=window // 2),
        seed=seed,
    )
    seq = torch.as_tensor(res.tokens[0], device=dev)  # (N,) head token first
    offs = torch.as_tensor(res.offsets[0], device=dev)
    head, n = seq[:1], len(seq)
    targets = list(range(n - n_targets, n))

    @torch.inference_mode()
    def nll(t: int, ctx: int) -> float:
        """-log p(seq[t]) when the model sees ctx tokens: the head + the ctx - 1 tokens before t."""
        lo = t - (ctx - 1)
        tok = torch.cat([head, seq[lo:t]])[None]  # (1, ctx)
        off = torch.cat([offs[lo : lo + 1], offs[lo:t]])[None] if model.cfg.boundaries else None  # head: first body offset
        v = torch.tensor([cond.valence], device=dev)
        a = torch.tensor([cond.arousal], device=dev)
        logits = model(tok, v, a, off)[:, -1].float()  # (1, V)
        return float(F.cross_entropy(logits, seq[t : t + 1]))

    exact = [nll(t, window) for t in targets]  # stride 1: always the full window
    base = float(np.mean(exact))
    rows = []
    for s in dict.fromkeys(strides):
        s_eff = effective_stride(window, s)
        if s_eff == 1:
            scores = exact
        else:  # contexts window - s + 1 .. window: n_phases evenly spread points of the cycle
            ctxs = [window - s_eff + 1 + int((k + 0.5) * s_eff / n_phases) for k in range(n_phases)]
            scores = [float(np.mean([nll(t, c) for c in ctxs])) for t in targets]
        primer = full_primer if s_eff == 1 else full_primer[: window - s_eff]
        n_tok = n_exact if s_eff == 1 else s_eff * max(1, -(-64 // s_eff))  # whole cycles, >= 64 tokens
        speed = measure(primer, n_tok, 1, slide_stride=s_eff) if s_eff > 1 else measure(primer, n_tok, 1, use_cache=False)
        mean_nll = float(np.mean(scores))
        rows.append(
            {
                "stride": s_eff,
                "mean_context": mean_context(window, s_eff),
                "mean_context_pct": round(100 * mean_context(window, s_eff) / window, 1),
                "tokens_per_s": speed["tokens_per_s"],
                "tokens_per_cpu_s": speed["tokens_per_cpu_s"],
                "nll": round(mean_nll, 4),
                "delta_nll_vs_stride_1": round(mean_nll - base, 4),
                "targets": len(targets),
            }
        )
    return rows
