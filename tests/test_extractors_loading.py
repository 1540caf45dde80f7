"""load_pretrained: one loading path for local folders, hub ids (offline) and packaged weights."""

import numpy as np
import pytest
import torch

from emsync.core.errors import InputError
from emsync.video.extractors.audio import load_tagger_dir
from emsync.video.loading import dir_version, load_pretrained, model_version, resolve
from _extractor_models import model_dir


def _tagger(seed, out):
    from emsync.models.audio_tagger import AudioTagger, AudioTaggerConfig

    torch.manual_seed(seed)
    m = AudioTagger(AudioTaggerConfig(channels=[4, 8], n_mels=16, d_embed=12, n_classes=5)).eval()
    m.save_pretrained(out)
    return m


def test_local_dir_roundtrip_gives_the_same_outputs(tmp_path):
    original = _tagger(0, tmp_path / "tagger")
    loaded = load_pretrained(str(tmp_path / "tagger"), "audio_tagger", loader=load_tagger_dir)
    wav = torch.from_numpy(np.random.default_rng(0).normal(0, 0.1, (2, 16000)).astype(np.float32))
    with torch.inference_mode():
        e0, p0 = original(wav)
        e1, p1 = loaded.model(wav)
    assert e1.shape == (2, 12) and p1.shape == (2, 5)
    torch.testing.assert_close(e1, e0, rtol=0, atol=1e-6)
    assert loaded.path == str((tmp_path / "tagger").resolve())
    assert len(loaded.version) == 12 and loaded.version == dir_version(tmp_path / "tagger")


def test_version_follows_the_weights(tmp_path):
    _tagger(0, tmp_path / "a")
    _tagger(0, tmp_path / "b")
    _tagger(1, tmp_path / "c")
    assert dir_version(tmp_path / "a") == dir_version(tmp_path / "b") != dir_version(tmp_path / "c")


def test_relative_dir_is_found_from_the_working_directory(tmp_path, monkeypatch):
    _tagger(0, tmp_path / "models" / "tagger")
    monkeypatch.chdir(tmp_path)
    assert load_pretrained("models/tagger", "audio_tagger", loader=load_tagger_dir).model.config.d_embed == 12


def test_uncached_hub_id_fails_offline_naming_the_id_and_the_fix():
    with pytest.raises(InputError) as e:
        load_pretrained("emsync-test/no-such-model", "hf_sequence_classifier")
    msg = str(e.value)
    assert "emsync-test/no-such-model" in msg and "not available offline" in msg
    assert "local directory" in msg and "features.models" in msg


def test_missing_local_dir_and_bad_refs_fail_clearly(tmp_path):
    with pytest.raises(InputError, match="model directory 'data/no/such/model' not found"):
        resolve("data/no/such/model")
    with pytest.raises(InputError, match="unknown packaged model 'pkg:nope'.*pkg:rapidocr"):
        resolve("pkg:nope")
    with pytest.raises(InputError, match="cannot serve as a open_clip model"):
        load_pretrained("pkg:rapidocr", "open_clip")
    with pytest.raises(InputError, match="unknown model kind"):
        load_pretrained("pkg:rapidocr", "ocr_v9")
    _tagger(0, tmp_path / "tagger")
    with pytest.raises(InputError, match="open_clip_config.json"):
        load_pretrained(str(tmp_path / "tagger"), "open_clip")


def test_packaged_weights_load_offline():
    import cv2

    haar = load_pretrained("pkg:opencv-haar", "face_detector")
    assert isinstance(haar.model, cv2.CascadeClassifier) and haar.version.startswith("opencv-python==4.")
    lid = load_pretrained("pkg:py3langid", "langid")
    assert lid.model.classify("Die Katze schläft auf dem warmen Sofa und träumt")[0] == "de"


def test_the_ocr_pool_takes_the_omp_thread_budget(monkeypatch):
    """onnxruntime sizes its pool to the cores and ignores OMP_NUM_THREADS; PP-OCRv4 is given that
    budget where it is set (a test worker's 1: the same wall time on the demo frames, half the CPU)."""

    def threads():
        ocr = load_pretrained("pkg:rapidocr", "ocr").model
        return {s.get_session_options().intra_op_num_threads for s in (ocr.text_det.infer.session, ocr.text_rec.session.session)}

    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    assert threads() == {1}
    monkeypatch.delenv("OMP_NUM_THREADS")
    assert threads() == {0}  # onnxruntime's own choice


def test_model_version_of_a_role_mapping(tmp_path):
    _tagger(0, tmp_path / "tagger")
    v = model_version({"detector": "pkg:opencv-haar", "classifier": str(tmp_path / "tagger"), "spell": "none"})
    assert (
        v == f"classifier={dir_version(tmp_path / 'tagger')};detector=opencv-python=={resolve('pkg:opencv-haar')[2].split('==')[1]};spell="
    )


def test_hf_folder_loads_and_penultimate_is_the_classifier_input():
    """§5.2.1: features are the activations entering the final classification layer."""
    from emsync.video.extractors import penultimate

    m = load_pretrained(str(model_dir("sentiment")), "hf_sequence_classifier")
    enc = m.processor(["what a great film", "sad"], return_tensors="pt", padding=True)
    feats, logits = penultimate(m.model, **enc)
    with torch.inference_mode():
        cls = m.model.roberta(**enc).last_hidden_state[:, 0]  # (B, d)
        manual = torch.tanh(m.model.classifier.dense(cls))
        torch.testing.assert_close(feats, manual, rtol=0, atol=1e-6)
        torch.testing.assert_close(m.model.classifier.out_proj(feats), logits, rtol=0, atol=1e-6)
    assert feats.shape == (2, m.model.config.hidden_size) and logits.shape == (2, 3)
