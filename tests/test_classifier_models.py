"""Video classifiers (thesis §5.2.2.2, §5.2.3.2): parameter counts at the thesis's input sizes,
variable-length shapes, and masking (a masked modality's values change nothing)."""

import numpy as np
import pytest
import torch

from emsync.models.classifier_blocks import THESIS_DIMS, count
from emsync.models.classifiers import REGISTRY, build, checkpoint_dict, from_checkpoint_dict

TINY = {
    "vemoclap": {"dims": {"clip": 12, "audio": 8, "faces": 10, "asr": 6, "ocr": 6}, "d_model": 16, "n_heads": 4},
    "mlp": {"dims": {"clip": 12, "audio": 8, "ocr": 6}, "n_layers": 2, "d_hidden": 16},
    "single_transformer": {"dims": {"clip": 12, "audio": 8, "ocr": 6}, "d_model": 16, "n_heads": 4, "max_positions": 64},
    "multi_transformer": {
        "dims": {"clip": 12, "audio": 8, "ocr": 6},
        "d_model": 16,
        "n_heads": 4,
        "max_positions": 64,
        "averaged": ["ocr"],
    },
    "baseline": {"dims": {"image": 12, "audio": 8}, "d_model": 16, "n_heads": 4, "max_positions": 64},
}


def _inputs(model, B, lengths, seed=0):
    g = torch.Generator().manual_seed(seed)
    x, mask = {}, {}
    singular = getattr(model.cfg, "singular", ())
    for m, w in model.cfg.dims.items():
        if m in singular:
            x[m], mask[m] = torch.randn(B, w, generator=g), torch.ones(B, dtype=torch.bool)
        else:
            T = lengths.get(m, 5)
            x[m], mask[m] = torch.randn(B, T, w, generator=g), torch.ones(B, T, dtype=torch.bool)
    return x, mask


# --- parameter counts against the thesis --------------------------------------------------------


def test_vemoclap_thesis_inputs_about_11m():
    """§5.2.2.3: "around 11M trainable parameters" with BEATs (768-d) audio."""
    m = build("vemoclap", {"dims": {"clip": 512, "beats": 768, "faces": 768, "asr": 768, "ocr": 768}})
    assert count(m) == 10_535_942  # the thesis's network (its rounded figure: 11M)
    assert round(count(m) / 1e6) == 11
    assert m.trainable_parameters() - count(m) == 8 * 512  # our learned "absent" vectors
    # with the landed 128-d audio tagger instead of BEATs: 640 x 512 fewer encoder weights
    assert count(build("vemoclap")) == 10_535_942 - 640 * 512


def test_genre_transformers_at_the_stated_widths():
    """§5.2.3.3 states single: 2 layers, 8 heads, d 256, "8.56M"; multi: 1 layer, 8 heads, d 128,
    "6.98M". The stated widths with the author's 530-entry position tables (the thesis set) give
    2.84M / 1.10M; the stated totals are reached only with 5000-entry tables and, for multi, every
    modality at its own width instead of 128 (README "Where emsync differs")."""
    from emsync.core.config import load_params
    from tests._root import ROOT

    sizes = load_params(ROOT / "params" / "thesis.yaml").classify.genre_models
    single = build("single_transformer", {**sizes["single_transformer"], "dims": dict(THESIS_DIMS)})
    multi = build("multi_transformer", {**sizes["multi_transformer"], "dims": dict(THESIS_DIMS)})
    assert (single.cfg.d_model, single.cfg.n_layers, single.cfg.max_positions) == (256, 2, 530)
    assert (multi.cfg.d_model, multi.cfg.n_layers, multi.cfg.max_positions) == (128, 1, 530)
    assert sum(p.numel() for p in single.parameters()) == 2_840_085
    assert sum(p.numel() for p in multi.parameters()) == 1_100_565
    big = build("single_transformer", {"max_positions": 5000, "dims": dict(THESIS_DIMS)})
    own = build("multi_transformer", {"d_model": None, "max_positions": 5000, "dims": dict(THESIS_DIMS)})
    assert abs(count(big) - 8.56e6) / 8.56e6 < 0.001 and abs(count(own) - 6.98e6) / 6.98e6 < 0.002


def test_sequences_past_the_position_table_are_thinned():
    from emsync.classify.features import VideoFeatures, crop
    from emsync.models.classifiers import max_steps

    assert max_steps("multi_transformer") == 529 and max_steps("vemoclap") is None and max_steps("mlp") is None
    small = {"dims": {"clip": 16, "audio": 8}, "n_heads": 4, "d_model": 16, "max_positions": 10, "averaged": []}
    m = build("multi_transformer", small)
    with pytest.raises(ValueError, match="longer than the 10 learned positions"):
        m(
            {"clip": torch.zeros(1, 12, 16), "audio": torch.zeros(1, 3, 8)},
            {"clip": torch.ones(1, 12, dtype=torch.bool), "audio": torch.ones(1, 3, dtype=torch.bool)},
        )
    assert m({"clip": torch.zeros(1, 9, 16)}, {"clip": torch.ones(1, 9, dtype=torch.bool)}).shape == (1, 21)  # 9 = max_steps fits

    vf = VideoFeatures("v", {"clip": np.arange(12 * 16, dtype=np.float32).reshape(12, 16)}, {"clip": np.ones(12, bool)})
    thin = crop(vf, max_steps("multi_transformer", small))
    assert len(thin.x["clip"]) == 9 and thin.x["clip"][0, 0] == 0 and thin.x["clip"][-1, 0] == 11 * 16  # first to last


def test_genre_mlp_counts():
    """§5.2.3.3 "1 layer, a model dimension of 256, and a total of 57k parameters" is ambiguous: no
    reading gives 57k with the §5.2.1 widths (CLIP 512, Audiotag 128, Music 64, OCR and ASR DistilBERT
    768 = 2,240 averaged dims). "1 layer" = one linear layer (the width then unused): 47,061; one
    256-wide hidden layer: 579,093 ("579k"); adding the taggers' 527 + 50 label outputs: 59,178.
    The thesis set uses the first (see README "Where emsync differs")."""
    assert sum(THESIS_DIMS.values()) == 2240
    assert count(build("mlp", {"n_layers": 1})) == 47_061 == 2240 * 21 + 21
    assert count(build("mlp", {"n_layers": 2, "d_hidden": 256})) == 579_093 == 2240 * 256 + 256 + 256 * 21 + 21
    taggers = {**THESIS_DIMS, "audio": 128 + 527, "music": 64 + 50}
    assert count(build("mlp", {"n_layers": 1, "dims": taggers})) == 59_178
    for n in (47_061, 579_093, 59_178):
        assert abs(n - 57_000) / 57_000 > 0.02  # none within 2 % of the thesis's figure


def test_thesis_set_mlp_is_the_one_linear_layer():
    """The thesis parameter set's genre MLP at the thesis's feature sizes: 47,061 (+ 2,240 learned
    "absent" vectors for missing modalities, which the thesis's model did not have)."""
    from emsync.core.config import load_params
    from tests._root import ROOT

    cfg = load_params(ROOT / "params" / "thesis.yaml").classify.genre_models["mlp"]
    m = build("mlp", {**cfg, "dims": dict(THESIS_DIMS)})
    assert count(m) == 47_061
    assert sum(p.numel() for p in m.parameters()) - count(m) == 2240


# --- shapes, variable length, masking -------------------------------------------------------------


@pytest.mark.parametrize("kind", list(REGISTRY))
@pytest.mark.parametrize(
    "lengths", [{"clip": 1, "audio": 1, "faces": 1, "ocr": 1, "image": 1}, {"clip": 37, "audio": 11, "faces": 3, "ocr": 50, "image": 23}]
)
def test_variable_length_shapes(kind, lengths):
    model = build(kind, TINY[kind]).eval()
    x, mask = _inputs(model, 3, lengths)
    out = model(x, mask)
    assert out.shape == (3, model.cfg.n_classes) and torch.isfinite(out).all()
    p = model.probs(x, mask)
    assert ((p >= 0) & (p <= 1)).all()


@pytest.mark.parametrize("kind", list(REGISTRY))
def test_full_length_equals_padded(kind):
    """Inference on a full-length sequence without padding equals the padded batch row."""
    model = build(kind, TINY[kind]).eval()
    x, mask = _inputs(model, 2, {m: 9 for m in model.cfg.dims})
    for m in x:
        if x[m].dim() == 3:
            mask[m][0, 6:] = False  # row 0: 6 real steps, 3 padding
    batched = model(x, mask)[0]
    short = {m: (v[:1, :6] if v.dim() == 3 else v[:1]) for m, v in x.items()}
    smask = {m: (v[:1, :6] if v.dim() == 2 else v[:1]) for m, v in mask.items()}
    assert torch.allclose(model(short, smask)[0], batched, atol=1e-5)


@pytest.mark.parametrize("kind", list(REGISTRY))
def test_masked_modality_values_change_nothing(kind):
    model = build(kind, TINY[kind]).eval()
    x, mask = _inputs(model, 2, {m: 7 for m in model.cfg.dims})
    for m in list(x):
        mk = {k: v.clone() for k, v in mask.items()}
        mk[m][:] = False  # modality m missing entirely
        ref = model(x, mk)
        noisy = dict(x)
        noisy[m] = torch.randn_like(x[m]) * 100
        assert torch.allclose(model(noisy, mk), ref, atol=1e-5), m
        nan = dict(x)
        nan[m] = torch.full_like(x[m], float("nan"))
        assert torch.allclose(model(nan, mk), ref, atol=1e-5), m
        dropped = {k: v for k, v in x.items() if k != m}
        assert torch.allclose(model(dropped, {k: v for k, v in mk.items() if k != m}), ref, atol=1e-5), m
        # and the modality matters when present (the mask is not a no-op)
        assert not torch.allclose(model(noisy, mask), model(x, mask), atol=1e-4), m


def test_vemoclap_missing_face_frames_masked():
    """Faces found in some frames only: the faceless frames' values are ignored."""
    model = build("vemoclap", TINY["vemoclap"]).eval()
    x, mask = _inputs(model, 1, {"clip": 8, "audio": 8, "faces": 8})
    mask["faces"][0, 3:] = False
    ref = model(x, mask)
    x2 = dict(x)
    x2["faces"] = x["faces"].clone()
    x2["faces"][0, 3:] = 1e6
    assert torch.allclose(model(x2, mask), ref, atol=1e-5)


def test_vemoclap_minmax_stats_travel_in_checkpoint():
    model = build("vemoclap", TINY["vemoclap"]).eval()
    stats = {m: {"min": -float(i + 1), "max": float(i + 2)} for i, m in enumerate(model.cfg.dims)}
    model.set_stats(stats)
    x, mask = _inputs(model, 2, {})
    again = from_checkpoint_dict(checkpoint_dict("vemoclap", model))
    assert again.stats() == stats
    assert torch.equal(again(x, mask), model(x, mask))
    # the statistics are used: other stats give other outputs
    other = from_checkpoint_dict(checkpoint_dict("vemoclap", model))
    other.set_stats({m: {"min": 0.0, "max": 1.0} for m in model.cfg.dims})
    assert not torch.allclose(other(x, mask), model(x, mask))


def test_baseline_two_stage_freezing():
    model = build("baseline", TINY["baseline"])
    x, mask = _inputs(model, 2, {})
    assert model.frame_logits("image", x["image"]).shape == (2, 5, model.cfg.n_classes)
    model.freeze_frames()
    model(x, mask).sum().backward()
    assert all(p.grad is None for p in model.mlps.parameters())
    assert model.head.weight.grad is not None


def test_bad_configs_fail_loudly():
    with pytest.raises(ValueError, match="divisible"):
        build("vemoclap", {"d_model": 10, "n_heads": 4})
    with pytest.raises(ValueError, match="averaged"):
        build("multi_transformer", {"averaged": ["nope"]})
    with pytest.raises(ValueError, match="unknown classifier"):
        build("resnet")
