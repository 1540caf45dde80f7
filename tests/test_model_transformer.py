"""The music transformer (§2.3, §4.2, §4.4, §6.2): relative attention against an O(L^2) reference,
parameter counts of the thesis configs, conditioning behaviour and checkpoints."""

import math

import pytest
import torch
import torch.nn.functional as F

from emsync.music import vocab
from emsync.models.music_transformer import (
    CONDITIONING_MODES,
    MusicTransformer,
    MusicTransformerConfig,
    load_checkpoint,
    naive_relative_logits,
    relative_logits,
)

from emsync.music.generator import save_generator

from _model_helpers import one_thread  # noqa: F401 (autouse fixture)
from _model_helpers import tiny_model as tiny


@pytest.mark.parametrize("tq,nk", [(1, 1), (1, 9), (6, 6), (4, 11), (11, 11)])
def test_skewed_relative_logits_equal_the_naive_loop(tq, nk):
    torch.manual_seed(tq * 100 + nk)
    q, E = torch.randn(2, 3, tq, 8), torch.randn(12, 8)
    got, ref = relative_logits(q, E, nk), naive_relative_logits(q, E, nk)
    allowed = torch.arange(nk)[None, :] <= torch.arange(tq)[:, None] + (nk - tq)  # causal entries
    torch.testing.assert_close(got[..., allowed], ref[..., allowed], atol=1e-5, rtol=1e-5)


def test_attention_layer_equals_naive_relative_attention():
    """The whole layer against softmax((QK^T + S_rel) / sqrt(Dh) + causal) V written out by hand."""
    model = tiny()
    attn = model.blocks[0].attn
    x = torch.randn(2, 13, model.cfg.d_model)
    B, T, C, H, Dh = 2, 13, model.cfg.d_model, attn.n_heads, attn.d_head
    q, k, v = attn.qkv(x).view(B, T, 3, H, Dh).permute(2, 0, 3, 1, 4)
    L = attn.rel_emb.shape[0]
    scores = torch.full((B, H, T, T), float("-inf"))
    for i in range(T):
        for j in range(i + 1):
            scores[:, :, i, j] = ((q[:, :, i] * k[:, :, j]).sum(-1) + (q[:, :, i] * attn.rel_emb[L - 1 - (i - j)]).sum(-1)) / math.sqrt(Dh)
    ref = attn.proj((F.softmax(scores, -1) @ v).transpose(1, 2).reshape(B, T, C))
    torch.testing.assert_close(attn(x), ref, atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize(
    "name,target,overrides",
    [
        ("37m", 37e6, dict(conditioning="continuous_token", boundaries=True)),  # §6.2 generator
        ("145m", 145e6, dict(conditioning="continuous_concat", boundaries=False)),  # §4.4 models
        ("145m", 145e6, dict(conditioning="discrete_token", boundaries=False)),
    ],
)
def test_parameter_counts_match_the_thesis_within_2_percent(name, target, overrides):
    with torch.device("meta"):  # no memory, no init cost
        model = MusicTransformer(MusicTransformerConfig.from_name(name, **overrides))
    n = model.num_parameters()
    assert abs(n - target) / target < 0.02, f"{name}: {n / 1e6:.2f}M vs {target / 1e6:.0f}M"


def test_continuous_concat_splits_features_as_in_section_4_4():
    with torch.device("meta"):
        model = MusicTransformer(MusicTransformerConfig.from_name("145m", conditioning="continuous_concat"))
    assert model.tok_emb.embedding_dim == 576 and model.cfg.cond_width == 192


def test_model_is_causal():
    model = tiny()
    tok = torch.randint(16, vocab.SIZE, (1, 30))
    other = tok.clone()
    other[0, 20:] = vocab.BAR
    a, b = model(tok, 0.5, 0.5), model(other, 0.5, 0.5)
    torch.testing.assert_close(a[:, :20], b[:, :20])
    assert not torch.allclose(a[:, 20:], b[:, 20:])


@pytest.mark.parametrize("mode", CONDITIONING_MODES)
def test_emotion_conditioning_changes_logits_except_vanilla(mode):
    model = tiny(conditioning=mode)
    tok = torch.randint(16, vocab.SIZE, (1, 12))
    lo, hi = model(tok, -0.9, -0.9), model(tok, 0.9, 0.9)
    assert torch.allclose(lo, hi) == (mode == "vanilla")


@pytest.mark.parametrize("mode", ["discrete_token", "continuous_token", "continuous_concat"])
def test_nan_condition_uses_the_learned_missing_embedding(mode):
    model = tiny(conditioning=mode)
    tok = torch.randint(16, vocab.SIZE, (1, 10))
    nan = model(tok, float("nan"), 0.3)
    assert torch.isfinite(nan).all()
    assert not torch.allclose(nan, model(tok, 0.0, 0.3))
    with torch.no_grad():  # the missing embedding is what a NaN reads
        if mode == "discrete_token":
            model.missing_cond[0] += 1.0
        else:
            model.ffn_v.missing += 1.0
    assert not torch.allclose(nan, model(tok, float("nan"), 0.3))


def test_discrete_token_bins_match_the_vocabulary():
    model = tiny(conditioning="discrete_token")
    tok = torch.randint(16, vocab.SIZE, (1, 5))
    for v in (-1.0, -0.61, -0.6, -0.2, 0.0, 0.2, 0.59, 0.6, 1.0):
        emb = model.tok_emb.weight
        with torch.no_grad():
            prefix = model._prefix(torch.tensor([v]), torch.tensor([v]), emb.dtype)
        assert torch.equal(prefix[0, 0], emb[vocab.valence_token(v)]), v
        assert torch.equal(prefix[0, 1], emb[vocab.arousal_token(v)]), v
    assert model(tok, 0.0, 0.0).shape == (1, 5, vocab.SIZE)


def test_offsets_change_logits_and_are_optional():
    model = tiny()
    tok = torch.randint(16, vocab.SIZE, (2, 16))
    near, far = torch.full((2, 16), 0.5), torch.full((2, 16), 9.0)
    assert not torch.allclose(model(tok, 0.1, 0.1, near), model(tok, 0.1, 0.1, far))
    assert model(tok, 0.1, 0.1, None).shape == (2, 16, vocab.SIZE)  # no boundaries: PE repeated
    capped = model(tok, 0.1, 0.1, torch.full((2, 16), 10.0))  # δ_max
    torch.testing.assert_close(capped, model(tok, 0.1, 0.1, torch.full((2, 16), 60.0)))
    with pytest.raises(ValueError, match="offsets"):
        tiny(boundaries=False)(tok, 0.1, 0.1, near)


def test_config_validation_names_the_problem():
    with pytest.raises(ValueError, match="conditioning"):
        MusicTransformerConfig(conditioning="emotion")
    with pytest.raises(ValueError, match="divisible"):
        MusicTransformerConfig(d_model=66, n_heads=4)
    with pytest.raises(ValueError, match="unknown model config"):
        MusicTransformerConfig.from_name("huge")


def test_checkpoint_round_trip_keeps_config_and_logits(tmp_path):
    model = tiny(conditioning="continuous_concat")
    path = tmp_path / "m" / "checkpoint.pt"
    save_generator(path, model, extra={"step": 7})
    loaded, extra = load_checkpoint(path)
    assert loaded.cfg == model.cfg and extra == {"step": 7}
    tok = torch.randint(16, vocab.SIZE, (1, 9))
    torch.testing.assert_close(loaded(tok, 0.2, -0.4, torch.ones(1, 9)), model(tok, 0.2, -0.4, torch.ones(1, 9)))
    assert [p.name for p in path.parent.iterdir()] == ["checkpoint.pt"]  # no temp files left
    first = path.read_bytes()
    save_generator(path, model, extra={"step": 7})
    assert path.read_bytes() == first  # byte-reproducible, so DVC sees an unchanged output
