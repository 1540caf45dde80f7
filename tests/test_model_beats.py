"""BEATs (models/beats.py): Kaldi fbank against an outside Kaldi implementation, the official
checkpoint layout ({"cfg", "model"}, microsoft/unilm key names) on a tiny random model saved the
same way, and the thesis set's audio extractor."""

import numpy as np
import pytest
import torch

from emsync.models.beats import (
    BEATs,
    BEATsConfig,
    WeightNormConv1d,
    beats_bytes,
    kaldi_fbank,
    load_beats,
)

TINY = {
    "embed_dim": 16,
    "encoder_layers": 2,
    "encoder_embed_dim": 32,
    "encoder_ffn_embed_dim": 64,
    "encoder_attention_heads": 4,
    "conv_pos": 16,
    "conv_pos_groups": 4,
    "num_buckets": 32,
    "max_distance": 64,
    "finetuned_model": True,
    "predictor_class": 7,
}


def _wave(seconds=1.0, seed=0):
    rng = np.random.default_rng(seed)
    t = np.arange(int(16000 * seconds)) / 16000
    return (0.3 * np.sin(2 * np.pi * 440 * t) + 0.02 * rng.standard_normal(len(t))).astype(np.float32)


def test_fbank_matches_kaldi():
    knf = pytest.importorskip("kaldi_native_fbank")
    w = _wave()
    opts = knf.FbankOptions()
    opts.frame_opts.dither = 0.0
    opts.mel_opts.num_bins = 128
    fb = knf.OnlineFbank(opts)
    fb.accept_waveform(16000, (w * 32768).tolist())
    fb.input_finished()
    ref = np.stack([fb.get_frame(i) for i in range(fb.num_frames_ready)])
    ours = kaldi_fbank(torch.from_numpy(w) * 32768).numpy()
    assert ours.shape == ref.shape == (98, 128)
    np.testing.assert_allclose(ours, ref, atol=2e-3)


def test_position_conv_is_torchs_weight_norm_over_dims_0_and_1():
    torch.manual_seed(0)
    conv = torch.nn.utils.parametrizations.weight_norm(torch.nn.Conv1d(8, 8, 4, padding=2, groups=2), dim=2)
    ours = WeightNormConv1d(8, 4, 2)
    with torch.no_grad():
        ours.weight_g.copy_(conv.parametrizations.weight.original0)
        ours.weight_v.copy_(conv.parametrizations.weight.original1)
        ours.bias.copy_(conv.bias)
    x = torch.randn(2, 8, 10)
    torch.testing.assert_close(ours(x), conv(x))


def test_tiny_random_checkpoint_in_the_official_layout_round_trips(tmp_path):
    torch.manual_seed(0)
    model = BEATs(BEATsConfig(**TINY)).eval()
    path = tmp_path / "BEATs_tiny.pt"
    path.write_bytes(beats_bytes(model))
    assert beats_bytes(model) == path.read_bytes()  # reproducible bytes
    raw = torch.load(path, weights_only=True)
    assert set(raw) == {"cfg", "model"} and raw["cfg"]["encoder_layers"] == 2
    keys = set(raw["model"])
    for k in (
        "patch_embedding.weight",
        "layer_norm.weight",
        "post_extract_proj.weight",
        "encoder.pos_conv.0.weight_g",
        "encoder.pos_conv.0.weight_v",
        "encoder.pos_conv.0.bias",
        "encoder.layer_norm.bias",
        "encoder.layers.0.self_attn.relative_attention_bias.weight",
        "encoder.layers.1.self_attn.relative_attention_bias.weight",  # the shared table, under every layer
        "encoder.layers.1.self_attn.grep_linear.weight",
        "encoder.layers.1.self_attn.grep_a",
        "encoder.layers.1.self_attn.q_proj.bias",
        "encoder.layers.1.self_attn_layer_norm.weight",
        "encoder.layers.1.fc1.weight",
        "encoder.layers.1.fc2.bias",
        "encoder.layers.1.final_layer_norm.weight",
        "predictor.weight",
    ):
        assert k in keys, k
    assert "patch_embedding.bias" not in keys  # conv_bias False, as in the official configs
    # an official cfg also carries training-only keys: they load and are ignored
    raw["cfg"].update(dropout=0.1, attention_dropout=0.1, encoder_layerdrop=0.05, layer_wise_gradient_decay_ratio=0.6)
    torch.save(raw, path)
    with open(path, "rb") as f:
        loaded = load_beats(f)
    wave = torch.from_numpy(np.stack([_wave(1.0, 0), _wave(1.0, 1)]))
    feats, probs = loaded(wave)
    ref_feats, _ = model(wave)
    # 1 s -> 98 fbank frames -> 6 x 8 patches of 16 x 16
    assert feats.shape == (2, 6 * 8, 32) and probs.shape == (2, 7)
    torch.testing.assert_close(feats, ref_feats)
    assert bool(((probs > 0) & (probs < 1)).all()) and not torch.allclose(feats[0], feats[1])


def test_a_file_that_does_not_fit_its_cfg_is_refused(tmp_path):
    model = BEATs(BEATsConfig(**TINY))
    sd = model.state_dict()
    del sd["encoder.layers.1.fc1.weight"]
    torch.save({"cfg": model.cfg.to_dict(), "model": sd}, tmp_path / "bad.pt")
    with (
        pytest.raises(ValueError, match=r"bad.pt: state dict does not fit.*missing.*encoder.layers.1.fc1.weight"),
        open(tmp_path / "bad.pt", "rb") as f,
    ):
        load_beats(f)
    torch.save({"model": sd}, tmp_path / "nocfg.pt")
    with pytest.raises(ValueError, match="not a BEATs checkpoint"):
        load_beats((tmp_path / "nocfg.pt").read_bytes())
    with pytest.raises(ValueError, match="unknown BEATs cfg keys"):
        BEATsConfig.from_dict({"encoder_layers": 2, "flux_capacitor": 1})


def test_relative_bias_is_gated_per_query_and_changes_the_output():
    torch.manual_seed(0)
    model = BEATs(BEATsConfig(**TINY)).eval()
    wave = torch.from_numpy(_wave()[None])
    base, _ = model(wave)
    with torch.no_grad():
        model.encoder.layers[0].self_attn.relative_attention_bias.weight.mul_(5.0)
    assert not torch.allclose(model(wave)[0], base)  # the (shared) table reaches the output
    assert model.encoder.layers[1].self_attn.relative_attention_bias is model.encoder.layers[0].self_attn.relative_attention_bias


def test_beats_extractor_one_vector_per_frame_and_thesis_set_uses_it():
    from _extractor_models import handle

    from emsync.core.config import load_params

    from _root import ROOT
    from emsync.video import extractors
    from emsync.video.sampling import VideoSample

    times = np.array([1.0, 3.0, 5.0])
    t = np.arange(6 * 16000) / 16000
    wav = (0.3 * np.sin(2 * np.pi * 440 * t) * (t < 3)).astype(np.float32)  # tone, then silence
    s = VideoSample("v1", "/nowhere/v1.mp4", 6.0, 25.0, times, np.zeros((3, 8, 8, 3), np.uint8), wav, 16000)
    df = extractors.get("beats").extract(handle("beats"), s)
    assert list(df.columns) == extractors.get("beats").COLUMNS and len(df) == 3
    emb = np.stack(df["embedding"])
    assert emb.shape == (3, 32) and np.abs(emb[0] - emb[2]).max() > 1e-4  # tone vs silence differ
    thesis = load_params(ROOT / "params" / "thesis.yaml")
    assert "beats" in thesis.features.extractors  # audio stays too: the genre models read Audiotag (§5.2.3)
    assert "beats" in thesis.classify.emotion_inputs and "audio" not in thesis.classify.emotion_inputs  # §5.2.2.1
    assert thesis.features.models["beats"] == "data/pretrained/beats"
    demo = load_params(ROOT / "params" / "demo.yaml").features
    assert "audio" in demo.extractors and "beats" not in demo.extractors  # the demo keeps the small tagger
