"""The ViT + AST baseline's two-stage training (thesis §5.2.3.2, Fig. 5.7) through the one engine,
on frame features with a planted genre signal: stage 1 trains the frame MLPs, stage 2 keeps them
exactly as stage 1 left them and learns the fusion; the result ranks the planted genres."""

import dataclasses

import numpy as np
import torch

from emsync.classify.features import VideoFeatures
from emsync.classify.stage import engine_config, evaluate, make_task, train_classifier
from emsync.classify.tasks import BaselineFrameTask, ClassifierData
from emsync.core.config import Params
from emsync.models.classifier_blocks import GENRES
from emsync.training.engine import train

D = 16
MODEL = {"d_model": 16, "n_heads": 2, "max_positions": 64, "dropout": 0.0}


def _data(n=36, seed=0):
    """Videos of one of 3 genres; the genre shifts the mean of some image and audio dimensions.
    Every 6th video has no audio stream (its audio frames masked)."""
    rng = np.random.default_rng(seed)
    genres = [0, 4, 11]  # action, comedy, horror
    items, y, split = [], [], []
    for i in range(n):
        g = i % 3
        x = {}
        valid = {}
        for m, k in (("image", 0), ("audio", 1)):
            T = int(rng.integers(3, 9))
            a = rng.normal(0, 1, (T, D)).astype(np.float32)
            a[:, 3 * g + k] += 2.0
            x[m], valid[m] = a, np.ones(T, bool)
        if i % 6 == 5:
            valid["audio"][:] = False
        items.append(VideoFeatures(f"v{i:02d}", x, valid))
        t = np.zeros(len(GENRES), np.float32)
        t[genres[g]] = 1
        y.append(t)
        split.append("test" if i % 4 == 3 else "train")
    return ClassifierData(items, np.stack(y), split, {"image": D, "audio": D})


def _c(**over):
    return dataclasses.replace(
        Params().classify, **{"steps": 150, "lr": 3e-3, "batch_size": 8, "seed": 0, "device": "cpu", "eval_every": 0, **over}
    )


def test_two_stages_freeze_the_frame_mlps_and_learn_the_planted_genres():
    data, c = _data(), _c()
    out = train_classifier("baseline", data, c, MODEL)
    assert [h["stage"] for h in out["history"]][:1] == [1] and out["history"][-1]["stage"] == 2
    assert out["steps"] == 2 * c.steps
    # stage 1 alone, same engine settings: its MLP weights are the final model's, bit for bit
    t1 = BaselineFrameTask("baseline", data, dict(MODEL), batch_size=c.batch_size, seed=c.seed, pos_weight=c.pos_weight, emotion=False)
    r1 = train(t1, engine_config(c, False, False), progress=False)
    for k, v in r1.model_state.items():
        if k.startswith(("mlps.", "frame_heads.")):
            assert torch.equal(v.cpu(), out["state_dict"][k].cpu()), k
    stage1_loss = [h["loss"] for h in out["history"] if h["stage"] == 1]
    assert stage1_loss[-1] < stage1_loss[0]
    from emsync.models.classifiers import from_checkpoint_dict

    model = from_checkpoint_dict(out)
    preds, m = evaluate(make_task("baseline", data, c, {}), model, splits=("train", "test"))
    # 3 planted genres, 3 positives among 9 test videos each: random scores give mAP 0.50 (mean of 200 draws)
    assert m["test"]["map"] > 0.85, m["test"]["map"]
    assert set(preds["video_id"]) == {it.video_id for it in data.items}


def test_a_masked_modality_changes_nothing():
    data = _data()
    out = train_classifier("baseline", data, _c(steps=5), MODEL)
    from emsync.models.classifiers import from_checkpoint_dict

    model = from_checkpoint_dict(out)
    task = make_task("baseline", data, _c(), {})
    i = [k for k, it in enumerate(data.items) if not it.valid["audio"].any()][0]
    x, mask, _ = task._make([i], None)
    before = model(x, mask)
    x["audio"] = x["audio"] + 100.0
    assert torch.allclose(before, model(x, mask), atol=1e-6)
