"""The genre baseline's frozen ViT / AST extractors (thesis §5.2.3.2, Fig. 5.7) on tiny random
models saved with transformers' save_pretrained: schema, shapes, the layer the features come from,
the 10 s / 50 % chunking of the whole audio track, determinism, and real demo / shared videos."""

import hashlib

import numpy as np
import pytest
import torch

from emsync.core.errors import InputError
from emsync.video import extractors
from emsync.video.loading import load_pretrained
from emsync.video.sampling import VideoSample, sample_video
from emsync.video.tiny_models import build

from _videos import demo_set  # noqa: F401 (fixture)

SR = 16000


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    root = tmp_path_factory.mktemp("vit_ast")
    return {n: build(n, root, seed=0) for n in ("vit", "ast")}


def _sample(duration=23.0, n=4, audio=True, vid="v1"):
    frames = np.random.default_rng(0).integers(0, 255, (n, 90, 160, 3), dtype=np.uint8)
    wav = (0.3 * np.sin(2 * np.pi * 440 * np.arange(int(duration * SR)) / SR)).astype(np.float32) if audio else None
    times = (np.arange(n) + 0.5) * duration / n
    return VideoSample(vid, f"/nowhere/{vid}.mp4", duration, 25.0, times, frames, wav, SR)


def _digest(df) -> str:
    return hashlib.md5(np.stack(df["embedding"]).astype(np.float32).tobytes() + np.asarray(df["t"], np.float64).tobytes()).hexdigest()


def test_defaults_are_the_baseline_models_and_load_offline_only():
    assert extractors.get("vit").DEFAULT_MODEL == "google/vit-base-patch16-224"
    assert extractors.get("ast").DEFAULT_MODEL == "MIT/ast-finetuned-audioset-10-10-0.4593"
    with pytest.raises(InputError, match="not available offline"):
        load_pretrained("MIT/no-such-ast-model-here", "hf_audio_classifier")


def test_vit_feature_is_the_classifier_input_per_frame(models):
    h = extractors.get("vit").load(str(models["vit"]))
    s = _sample()
    df = extractors.get("vit").extract(h, s)
    assert list(df.columns) == extractors.get("vit").COLUMNS and len(df) == 4
    np.testing.assert_allclose(df["t"], s.frame_times)
    emb = np.stack(df["embedding"])
    assert emb.shape == (4, 32) and emb.dtype == np.float32
    # outside the hook: the ViT's own layer-normed <CLS> output, and the logits it gives
    m, proc = h["vit"].model, h["vit"].processor
    px = proc(images=list(s.frames), return_tensors="pt")["pixel_values"]
    with torch.no_grad():
        cls = m.vit(pixel_values=px).last_hidden_state[:, 0].numpy()
        logits = m(pixel_values=px).logits.numpy()
    np.testing.assert_allclose(emb, cls, atol=1e-5)
    np.testing.assert_allclose(emb @ m.classifier.weight.detach().numpy().T + m.classifier.bias.detach().numpy(), logits, atol=1e-4)


def test_ast_chunks_cover_the_whole_track_with_half_overlap(models):
    mod = extractors.get("ast")
    assert mod.chunk_starts(4.0).tolist() == [0.0]
    assert mod.chunk_starts(10.0).tolist() == [0.0]
    assert mod.chunk_starts(23.0).tolist() == [0.0, 5.0, 10.0, 15.0]  # the last chunk reaches 25 s >= 23 s
    h = mod.load(str(models["ast"]))
    s = _sample(23.0)
    df = mod.extract(h, s)
    assert list(df.columns) == mod.COLUMNS and df["t"].tolist() == [5.0, 10.0, 15.0, 20.0]
    emb = np.stack(df["embedding"])
    assert emb.shape == (4, 32)
    # outside the hook: AST's pooled (<CLS> + <DIST>) / 2 output through the head's layer norm
    m, fe = h["ast"].model, h["ast"].processor
    chunk = np.zeros(10 * SR, np.float32)
    chunk[: 8 * SR] = s.audio[15 * SR :]  # the last chunk: 15 s .. 23 s, then zero padding
    x = fe([chunk], sampling_rate=SR, return_tensors="pt")["input_values"]
    assert tuple(x.shape) == (1, 1024, 128)  # the AudioSet AST's input layout
    with torch.no_grad():
        pooled = m.audio_spectrogram_transformer(x).pooler_output
        ref = m.classifier.layernorm(pooled).numpy()
    np.testing.assert_allclose(emb[-1], ref[0], atol=1e-4)
    assert np.abs(emb[0] - emb[-1]).max() > 1e-4  # padding changes the last chunk's vector


def test_no_audio_is_silence_and_wrong_rate_is_one_line(models):
    mod = extractors.get("ast")
    h = mod.load(str(models["ast"]))
    silent = mod.extract(h, _sample(12.0, audio=False))
    assert len(silent) == 2 and np.isfinite(np.stack(silent["embedding"])).all()
    s = _sample(5.0)
    s.audio_sr = 44100
    with pytest.raises(ValueError, match="44100 Hz but AST expects 16000 Hz"):
        mod.extract(h, s)


def test_same_seed_same_features_other_seed_other_features(models, tmp_path):
    s = _sample()
    again = {n: build(n, tmp_path / "again", seed=0) for n in ("vit", "ast")}
    other = {n: build(n, tmp_path / "other", seed=1) for n in ("vit", "ast")}
    for n in ("vit", "ast"):
        mod = extractors.get(n)
        a, b, c = (_digest(mod.extract(mod.load(str(d[n])), s)) for d in (models, again, other))
        assert a == b, n
        assert a != c, n


def test_end_to_end_on_demo_videos(models, demo_set):  # noqa: F811
    videos_dir, truth = demo_set
    vit, ast = (extractors.get(n) for n in ("vit", "ast"))
    hv, ha = vit.load(str(models["vit"])), ast.load(str(models["ast"]))
    for vid in sorted(truth):
        path = next(videos_dir.glob(f"{vid}.*"))
        s = sample_video(path, 5, video_id=vid)
        dv, da = vit.extract(hv, s), ast.extract(ha, s)
        assert len(dv) == 5 and (dv["video_id"] == vid).all()
        assert len(da) == len(ast.chunk_starts(s.duration)) >= 1
        assert np.isfinite(np.stack(dv["embedding"])).all() and np.isfinite(np.stack(da["embedding"])).all()
        assert dv["model_version"].iloc[0] and da["model_version"].iloc[0]


@pytest.mark.shared_data
@pytest.mark.parametrize("rel", ["ekman6/disgust.mp4", "ekman6/sadness.mp4", "ekman6/fear.mp4", "video/sintel_5s.mp4"])
def test_ast_chunks_span_the_duration_ffprobe_reports(models, shared_data, rel):
    """Real clips: the AST rows are the 10 s / 5 s-hop chunks over the track length that FFmpeg's
    ffprobe reports (26.7 s -> 5 chunks, 32.0 s -> 6, 10.05 s -> 2, 5.0 s -> 1), centred at start + 5 s."""
    import math
    import subprocess

    path = shared_data / rel
    dur = float(subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                               capture_output=True, text=True, check=True).stdout)  # fmt: skip
    expected = 1 if dur <= 10 else math.ceil((dur - 10) / 5) + 1
    s = sample_video(path, 2, video_id="real")
    df = extractors.get("ast").extract(extractors.get("ast").load(str(models["ast"])), s)
    assert len(df) == expected
    assert df["t"].tolist() == [5.0 + 5 * k for k in range(expected)]
    assert np.isfinite(np.stack(df["embedding"])).all()
