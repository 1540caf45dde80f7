"""§7.4.1 VGG distance: the VGGish layout of the released torch port, a tiny offline model saved
and loaded through the same path, eq. 7.2 on its embeddings."""

import numpy as np
import pytest
import torch

from emsync.bandwidth import filters as F
from emsync.bandwidth.vggish import load_vggish, log_mel_examples, save_vggish, vgg_distance
from emsync.core.errors import InputError
from emsync.models.vggish import Vggish, VggishConfig

TINY = VggishConfig(channels=(4, 4, 8, 8, 8, 8), hidden=32, embedding=16)


def test_full_size_layout_is_the_released_one():
    with torch.device("meta"):
        m = Vggish(VggishConfig())
    assert sum(p.numel() for p in m.parameters()) == 72_141_184  # VGGish's 72.1M
    convs = sorted({int(k.split(".")[1]) for k in m.state_dict() if k.startswith("features.")})
    fcs = sorted({int(k.split(".")[1]) for k in m.state_dict() if k.startswith("embeddings.")})
    assert convs == [0, 3, 6, 8, 11, 13] and fcs == [0, 2, 4]  # the torch port's state-dict keys
    assert m.state_dict()["embeddings.0.weight"].shape == (4096, 512 * 6 * 4)


def test_tiny_model_roundtrip_and_eq_7_2(tmp_path):
    torch.manual_seed(0)
    model = Vggish(TINY).eval()
    t = np.arange(2 * 44100) / 44100
    x = np.stack([np.sin(2 * np.pi * 440 * t) + 0.3 * np.sin(2 * np.pi * 15000 * t)] * 2) * 0.3
    ex = log_mel_examples(x, TINY)
    with torch.no_grad():
        raw = model(torch.from_numpy(ex)).numpy()
    # "PCA" = centre on x's mean embedding and scale: spreads the random tiny model's small
    # differences over the 0..255 code range
    means = raw.mean(axis=0)
    save_vggish(tmp_path / "vggish", model, 3000.0 * np.eye(16), means)
    emb = load_vggish(tmp_path / "vggish")
    assert ex.shape == (2, 1, 96, 64)  # 2 s -> 200 frames of 10 ms -> two 0.96-s examples
    y = emb(x)
    assert y.shape == (2, 16) and y.min() >= 0 and y.max() <= 255 and np.array_equal(y, np.round(y))
    assert np.array_equal(y, np.round((np.clip((raw - means) * 3000.0, -2, 2) + 2) * 255 / 4))
    low = F.lowpass(x, "butter_6")
    d = vgg_distance(emb, x, low)
    assert d == pytest.approx(np.mean(np.abs(emb(x) - emb(low)))) and d > 0
    assert vgg_distance(emb, x, x) == 0.0


def test_released_state_dict_file_loads(tmp_path):
    """The .pth path: a state dict with the port's keys (+ its PCA buffers) loads into the full model."""
    with torch.device("meta"):
        m = Vggish(VggishConfig())
    sd = {k: torch.zeros(v.shape) for k, v in m.state_dict().items()}
    sd["pproc._pca_matrix"], sd["pproc._pca_means"] = torch.eye(128), torch.zeros(128, 1)
    torch.save(sd, tmp_path / "vggish.pth")
    emb = load_vggish(tmp_path / "vggish.pth")
    assert emb.pca_matrix.shape == (128, 128)
    assert np.all(emb(np.zeros((2, 44100))) == 128)  # zero weights -> embedding 0 -> the middle code
    with pytest.raises(InputError, match="cannot load a VGGish model"):
        (tmp_path / "bad.pth").write_bytes(b"nope")
        load_vggish(tmp_path / "bad.pth")
    with pytest.raises(InputError, match="VGGish model not found"):
        load_vggish(tmp_path / "missing.pth")


def test_demo_vggish_is_built_by_demo_models_and_named_by_the_demo_params(tmp_path):
    """The demo set's VGG distance runs offline on the demo_models stage's tiny VGGish (demo weights)."""
    import json

    import yaml

    from _root import ROOT
    from emsync.core.config import load_params
    from emsync.video.tiny_models import build

    demo = load_params(ROOT / "params" / "demo.yaml").bandwidth.vggish_model
    stages = yaml.safe_load((ROOT / "dvc.yaml").read_text())["stages"]
    assert demo == "data/demo_models/vggish" and "data/demo_models" in stages["demo_models"]["outs"]
    assert "${bandwidth.vggish_model}" in stages["bandwidth_report"]["deps"]
    folder = build("vggish", tmp_path)
    assert json.loads((folder / "demo.json").read_text())["weights"] == "demo"
    emb = load_vggish(folder)
    assert emb.pca_matrix.shape == (128, 128) and emb.model.cfg.channels == (8, 16, 32, 32, 64, 64)
    rng = np.random.default_rng(1)
    x = rng.standard_normal((2, 3 * 44100)) * 0.05
    y = emb(x)
    assert y.shape == (3, 128) and y.std() > 20  # the fitted post-processing spreads codes over 0..255
    assert vgg_distance(emb, x, x) == 0.0
    assert vgg_distance(emb, x, F.lowpass(x, "butter_6")) > 5  # band-limiting moves the embedding


def test_the_report_embeds_each_reference_once_for_all_variants_with_the_same_numbers(tmp_path):
    """evaluate_songs with a `references` dict kept across variants (the bandwidth report's eight):
    the same SNR and VGG numbers as without it, and the songs and their band-limited inputs are
    embedded once, not once per variant."""
    from emsync.bandwidth.data import Song
    from emsync.bandwidth.evaluate import evaluate_songs
    from emsync.bandwidth.train import build_model, model_config
    from emsync.core.config import Params

    torch.manual_seed(0)
    vgg = Vggish(TINY).eval()
    x = np.random.default_rng(1).normal(size=(2, 44100)) * 0.1
    with torch.no_grad():
        means = vgg(torch.from_numpy(log_mel_examples(x, TINY))).numpy().mean(axis=0)
    save_vggish(tmp_path / "vggish", vgg, 3000.0 * np.eye(16), means)  # spread the tiny model's codes (as above)
    emb = load_vggish(tmp_path / "vggish")
    calls = []
    counted = lambda x: calls.append(1) or emb(x)  # noqa: E731
    rng = np.random.default_rng(0)
    songs = []
    for i in range(2):
        np.save(tmp_path / f"s{i}.npy", (rng.normal(size=(3 * 44100, 2)) * 3000).astype(np.int16))
        songs.append(Song(f"folder:s{i}", f"s{i}.wav", "folder", "test", 3 * 44100, str(tmp_path / f"s{i}.npy")))
    models = [build_model(model_config(v, Params().bandwidth)).eval() for v in ("unet", "resnet")]
    plain = [evaluate_songs(m, songs, "butter_6", vggish=emb) for m in models]
    refs = {}
    shared = [evaluate_songs(m, songs, "butter_6", vggish=counted, references=refs) for m in models]
    assert shared == plain and plain[0]["vgg"] != plain[1]["vgg"]
    assert len(calls) == 2 * 2 + 2 * 2  # each song and its input once, then one output per (variant, song)
