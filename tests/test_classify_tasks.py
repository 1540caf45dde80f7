"""The classifier task objects the training engine drives: seeded batches, losses, metrics."""

import numpy as np
import torch

from emsync.classify.features import VideoFeatures
from emsync.classify.tasks import ClassifierData, ClassifierTask, carve_validation

DIMS = {"clip": 6, "audio": 4, "faces": 5, "asr": 3, "ocr": 3}


def _items(n, rng):
    items = []
    for i in range(n):
        T = 10 + i
        x = {
            "clip": rng.normal(size=(T, 6)).astype(np.float32),
            "audio": rng.normal(size=(T, 4)).astype(np.float32),
            "faces": rng.normal(size=(3, 5)).astype(np.float32),
            "asr": rng.normal(size=3).astype(np.float32),
            "ocr": rng.normal(size=3).astype(np.float32),
        }
        valid = {
            "clip": np.ones(T, bool),
            "audio": np.ones(T, bool),
            "faces": np.array([True, False, True]),
            "asr": np.array(i % 2 == 0),
            "ocr": np.array(True),
        }
        items.append(VideoFeatures(f"v{i}", x, valid))
    return items


def _emotion_task(**kw):
    rng = np.random.default_rng(0)
    data = ClassifierData(_items(12, rng), np.arange(12) % 6, ["train"] * 9 + ["test"] * 3, DIMS)
    return ClassifierTask("vemoclap", data, {"d_model": 8, "n_heads": 2}, batch_size=4, n_frames=4, **kw)


def test_batches_depend_only_on_seed_and_step():
    a, b = _emotion_task(seed=3), _emotion_task(seed=3)
    for step in (0, 5, 2, 5):
        xa, ma, ya = a.batch(step)
        xb, mb, yb = b.batch(step)
        assert torch.equal(ya, yb) and all(torch.equal(xa[m], xb[m]) for m in xa)
    assert a.batch(0)[0]["clip"].shape == (4, 4, 6)  # 16 -> n_frames steps at random positions
    # every training video appears once per epoch (9 videos, batches of 4: 3 steps an epoch)
    seen = torch.cat([a.batch(s)[2] for s in range(3)])
    assert len(seen) == 9
    assert not torch.equal(_emotion_task(seed=4).batch(0)[0]["clip"], a.batch(0)[0]["clip"])


def test_minmax_stats_come_from_training_videos_only():
    task = _emotion_task()
    train = [task.data.items[i] for i in task.data.index("train")]
    assert task.stats["clip"]["max"] == max(float(it.x["clip"].max()) for it in train)
    model = task.build_model()
    assert model.stats()["clip"] == task.stats["clip"]


def test_losses():
    task = _emotion_task()
    model = task.build_model().eval()  # no dropout: the two forwards agree
    batch = task.batch(0)
    x, mask, y = batch
    assert torch.isclose(task.loss(model, batch), torch.nn.functional.cross_entropy(model(x, mask), y))
    # genre: BCE with the positive term weighted 0.25 (§5.2.3.3)
    rng = np.random.default_rng(1)
    y = (rng.random((12, 21)) < 0.3).astype(np.float32)
    data = ClassifierData(_items(12, rng), y, ["train"] * 12, {"clip": 6, "audio": 4})
    gtask = ClassifierTask("mlp", data, {}, batch_size=5, emotion=False)
    gmodel = gtask.build_model().eval()
    x, mask, yb = gtask.batch(0)
    p = torch.sigmoid(gmodel(x, mask))
    manual = -(0.25 * yb * torch.log(p) + (1 - yb) * torch.log(1 - p)).mean()
    assert torch.isclose(gtask.loss(gmodel, (x, mask, yb)), manual, atol=1e-6)
    assert gtask.max_len == {"clip": 21, "audio": 21}  # upper whisker of lengths 10..21
    probs, targets = gtask.predict(gmodel, "train")
    assert probs.shape == (12, 21) and np.array_equal(targets, y)
    assert set(gtask.metrics(gmodel, "train")) == {"map", "precision", "recall"}


def test_carve_validation_is_seeded_and_sized():
    split = ["train"] * 20 + ["test"] * 5
    v = carve_validation(split, 0.1, seed=1)
    assert v.count("val") == 2 and v.count("test") == 5 and v == carve_validation(split, 0.1, seed=1)
    assert carve_validation(split, 0.0, seed=1) == split
