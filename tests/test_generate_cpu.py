"""CPU generation speed paths: the written-out one-query attention equals SDPA,
int8 Linear layers stay close to fp32 (also through the KV cache), the thread setting is scoped
to the call, and the benchmark prints its JSON shape (modes, strides, settings)."""

import argparse
import json

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from emsync.music.generator import make_primer, token_ids
from emsync.music import vocab as V
from emsync.models.generation import Condition, Int8Linear, SamplingConfig, generate, quantize_int8
from emsync.models.music_transformer import MusicTransformer, MusicTransformerConfig, relative_logits

from _model_helpers import one_thread  # noqa: F401 (autouse fixture)

TOK = token_ids()  # the vocabulary's ids, passed into the engine


def small(**kw):
    torch.manual_seed(0)
    cfg = MusicTransformerConfig(n_layers=2, n_heads=4, d_model=128, d_ff=256, max_len=48, **kw)
    return MusicTransformer(cfg).eval()


def tv(logits_a, logits_b, temperature=1.2):
    """Total variation between the sampling distributions (§4.4 temperature), per position."""
    pa, pb = (logits_a / temperature).softmax(-1), (logits_b / temperature).softmax(-1)
    return 0.5 * (pa - pb).abs().sum(-1)


@pytest.mark.parametrize("n_keys", [1, 7, 40])
def test_one_query_attention_equals_sdpa_with_the_relative_bias(n_keys):
    attn = small().blocks[0].attn
    g = torch.Generator().manual_seed(n_keys)
    q, k, v = (torch.randn(3, 4, n, 32, generator=g) for n in (1, n_keys, n_keys))
    bias = relative_logits(q, attn.rel_emb, n_keys) * 32**-0.5
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=bias)
    torch.testing.assert_close(attn._attend_one(q, k, v), ref, atol=1e-6, rtol=1e-5)


def test_int8_replaces_every_linear_and_keeps_sampling_distributions_close():
    model = small()
    q = quantize_int8(model)
    assert not any(isinstance(m, torch.nn.Linear) for m in q.modules())
    assert sum(isinstance(m, Int8Linear) for m in q.modules()) == sum(isinstance(m, torch.nn.Linear) for m in model.modules())
    g = torch.Generator().manual_seed(0)
    tok, off = torch.randint(16, V.SIZE, (2, 40), generator=g), torch.rand(2, 40, generator=g) * 12
    with torch.no_grad():
        d = tv(model(tok, 0.4, -0.6, off), q(tok, 0.4, -0.6, off))
    assert d.max() < 0.02  # measured 0.004 here; two differently seeded fp32 models differ by ~0.1
    assert isinstance(model.head, torch.nn.Linear)  # the fp32 model is left as it was


def test_int8_cached_decoding_stays_close_to_its_uncached_pass():
    """Activations are quantized per call, so one token through the cache is not bit-equal to the
    full pass, but the next-token distributions agree closely."""
    q = quantize_int8(small())
    g = torch.Generator().manual_seed(1)
    tok, off = torch.randint(16, V.SIZE, (2, 30), generator=g), torch.rand(2, 30, generator=g) * 12
    val, aro = torch.tensor([0.5, float("nan")]), torch.tensor([-0.2, 0.9])
    with torch.no_grad():
        full = q(tok, val, aro, off)
        cache = q.new_cache(2)
        out, cache = q(tok[:, :10], val, aro, off[:, :10], cache=cache)
        steps = [out]
        for t in range(10, 30):
            out, cache = q(tok[:, t : t + 1], val, aro, off[:, t : t + 1], cache=cache)
            steps.append(out)
    assert tv(torch.cat(steps, 1), full).max() < 0.015  # measured 0.004


def test_int8_generation_is_deterministic_per_seed():
    q = quantize_int8(small())
    conds = [Condition(0.5, -0.5, (1.0, 3.0)), Condition()]
    cfg = SamplingConfig(tokens=TOK, slide_stride=8)
    a, b = (generate(q, conds, make_primer(), max_new_tokens=70, cfg=cfg, seed=4) for _ in range(2))
    c = generate(q, conds, make_primer(), max_new_tokens=70, cfg=cfg, seed=5)
    assert len(a.tokens[0]) == 73 > q.cfg.max_len  # the window slid
    assert all(np.array_equal(x, y) for x, y in zip(a.tokens, b.tokens))
    assert not all(np.array_equal(x, y) for x, y in zip(a.tokens, c.tokens))


def test_cpu_threads_apply_during_the_call_and_are_restored():
    model = small()
    seen = []
    model.register_forward_pre_hook(lambda *_: seen.append(torch.get_num_threads()))
    torch.set_num_threads(2)
    generate(model, [Condition()], make_primer(), max_new_tokens=5, cfg=SamplingConfig(tokens=TOK, cpu_threads=1))
    assert set(seen) == {1} and torch.get_num_threads() == 2
    seen.clear()
    generate(model, [Condition()], make_primer(), max_new_tokens=5, cfg=SamplingConfig(tokens=TOK, cpu_threads=0))
    assert set(seen) == {2}
    with pytest.raises(ValueError, match="cpu_threads"):
        SamplingConfig(tokens=TOK, cpu_threads=-1)


def test_bench_generate_prints_its_json_shape():
    from emsync.benchmarks import generate as bench

    p = argparse.ArgumentParser()
    bench.add_args(p)
    args = p.parse_args(
        ["--config", "tiny", "--window", "32", "--slide-stride", "8", "--full-tokens", "3", "--tokens", "16", "--batch", "2"]
    )
    out = json.loads(json.dumps(bench.run(args)))
    assert out["config"] == "tiny" and out["device"].startswith("cpu")
    modes = out["modes"]
    assert set(modes) == {"full_recompute", "kv_cache", "kv_cache_batched"}
    assert modes["kv_cache"]["tokens"] == 16 and modes["kv_cache_batched"]["batch"] == 2
    assert modes["kv_cache_batched"]["tokens"] == 2 * 8
    assert all(m["tokens_per_s"] > 0 and m["tokens_per_cpu_s"] > 0 for m in modes.values())
    assert out["settings"]["int8"] is True and out["settings"]["slide_stride"] == 8


def test_bench_generate_stride_study_pairs_each_stride_with_stride_1():
    """Per stride: tokens/s and the NLL of the same continuation tokens with that stride's context;
    stride 1 is the reference (delta 0), the mean context follows window - (stride - 1) / 2."""
    from emsync.benchmarks import generate as bench

    p = argparse.ArgumentParser()
    bench.add_args(p)
    args = p.parse_args(
        [
            "--config",
            "tiny",
            "--window",
            "32",
            "--full-tokens",
            "2",
            "--tokens",
            "16",
            "--batch",
            "2",
            "--strides",
            "exact,4,16",
            "--nll-targets",
            "3",
        ]
    )
    rows = bench.run(args)["strides"]
    assert [r["stride"] for r in rows] == [1, 4, 16]
    assert [r["mean_context"] for r in rows] == [32.0, 30.5, 24.5]
    assert rows[0]["delta_nll_vs_stride_1"] == 0.0 and all(r["targets"] == 3 for r in rows)
    assert all(r["tokens_per_s"] > 0 and r["nll"] > 0 for r in rows)
    assert rows[2]["nll"] != rows[0]["nll"]  # a shorter context changes what the model predicts
