"""The classifier stages' library side (thesis §5.2.2, §5.2.3): datasets from the feature store,
evaluation, predictions keyed by `video_id`, reports. The flows only wire these together.

- `build_dataset(task, labels, features_dir, videos_dir)` reads every labelled video's feature
  tables; a video whose table is missing is a recorded skip (`skips`), not a crash.
- `evaluate(...)` predicts every split and returns the prediction rows (probability per class) plus
  metrics: accuracy and the confusion matrix normalised over true labels (emotion, Fig. 5.2);
  P@0.5, R@0.5, mAP macro and per genre (genre, Tables 5.2, 5.3).
"""

import functools
from pathlib import Path

import numpy as np
import pandas as pd

from emsync.classify.datasets import multi_hot
from emsync.classify.features import MissingFeatures, infer_dims, read_tables, sources, video_features
from emsync.classify.metrics import accuracy, confusion, genre_metrics
from emsync.classify.tasks import ClassifierData
from emsync.core.errors import InputError
from emsync.models.classifier_blocks import GENRES


@functools.lru_cache(maxsize=8)
def _video_paths(videos_dir: str, mtime_ns: int) -> dict:
    """{video_id: path} of every video under the folder, subfolders (one per dataset) included."""
    from emsync.classify.datasets import VIDEO_EXTS

    out: dict = {}
    for p in sorted(Path(videos_dir).rglob("*")):
        if p.suffix.lower() in VIDEO_EXTS and p.is_file():
            out.setdefault(p.stem, p)
    return out


def has_audio_stream(videos_dir, video_id: str) -> bool:
    """Whether the video file has an audio stream (True when the file is not at hand)."""
    from emsync.video.probe import probe

    d = Path(videos_dir)
    p = _video_paths(str(d), d.stat().st_mtime_ns).get(video_id) if d.is_dir() else None
    if p is None:
        return True
    try:
        return bool(probe(p).has_audio)
    except Exception:  # an unreadable file: the feature stage has recorded it already
        return True


def faces_width(params) -> int:
    """Width of the face-expression vectors: 128 for `pkg:fer`, the expression ViT's hidden size (its
    config.json when the model is a local folder), else 768 (the thesis's ViT-B)."""
    import json

    ref = params.features.models.get("faces")
    ref = ref.get("classifier") if isinstance(ref, dict) else ref
    if ref == "pkg:fer":  # the FER-2013 mini-Xception: 128-d pooled features
        from emsync.models.fer import FerConfig

        return int(FerConfig().block_filters[-1])
    cfg = params.path(str(ref)) / "config.json" if ref else None
    if cfg is not None and cfg.exists():
        return int(json.loads(cfg.read_text()).get("hidden_size", 768))
    return 768


def build_dataset(task: str, labels: pd.DataFrame, features_dir, videos_dir=None, default_dims=None, inputs=None) -> tuple:
    """(ClassifierData, skips DataFrame[video_id, reason]) for `task` ("emotion" | "genre") from a
    label table (`video_id, split` + `label` for emotion or `genres` for genre). `inputs` names the
    modalities (features.sources; None: the demo set's). `default_dims` gives widths for modalities
    no video has a row of (e.g. faces when no face was ever found)."""
    ids = labels["video_id"].tolist()
    srcs = sources(task, inputs)
    dims = infer_dims(features_dir, ids, task, inputs)  # in the order found (the models' layer order)
    dims.update({m: (default_dims or {}).get(m) for m in srcs if m not in dims})
    missing = [m for m, w in dims.items() if w is None]
    if missing:
        raise InputError(f"no feature rows of {missing} in {features_dir} to size the {task} classifier")
    items, targets, split, skips = [], [], [], []
    for row in labels.itertuples(index=False):
        try:
            tables = read_tables(features_dir, row.video_id, task, inputs)
        except MissingFeatures as e:
            skips.append({"video_id": row.video_id, "reason": str(e)})
            continue
        audio = has_audio_stream(videos_dir, row.video_id) if videos_dir else True
        try:
            items.append(video_features(tables, row.video_id, task, dims, has_audio=audio))
        except InputError as e:  # a table with the wrong width: skip the video, say why
            skips.append({"video_id": row.video_id, "reason": str(e)})
            continue
        targets.append(row.label if task == "emotion" else multi_hot(row.genres))
        split.append(row.split)
    y = np.asarray(targets, dtype=np.int64 if task == "emotion" else np.float32)
    if task != "emotion" and not len(y):
        y = np.zeros((0, len(GENRES)), np.float32)
    return ClassifierData(items, y, split, dims), pd.DataFrame(skips, columns=["video_id", "reason"])


def evaluate(task, model, splits=("train", "val", "test")) -> tuple:
    """(predictions DataFrame, metrics {split: {...}}) for a ClassifierTask and a trained model."""
    emotion = task.emotion
    labels = list(model.cfg.labels)
    rows, metrics = [], {}
    for split in splits:
        idx = task.data.index(split)
        if not len(idx):
            continue
        probs, y = task.predict(model, split)
        for i, p, t in zip(idx, probs, y):
            row = {"video_id": task.data.items[i].video_id, "split": split}
            row.update({lab: float(v) for lab, v in zip(labels, p)})
            if emotion:
                row.update(label=labels[int(t)], predicted=labels[int(p.argmax())])
            else:
                row.update(label=[g for g, b in zip(labels, t) if b > 0], predicted=[g for g, v in zip(labels, p) if v >= 0.5])
            row["masked"] = ",".join(sorted(task.data.items[i].notes)) or None
            rows.append(row)
        if emotion:
            metrics[split] = {
                "accuracy": accuracy(y, probs.argmax(1)),
                "n": int(len(y)),
                "confusion": confusion(y, probs.argmax(1), len(labels)).round(4).tolist(),
            }
        else:
            metrics[split] = genre_metrics(y, probs, labels)
    return pd.DataFrame(rows), metrics


def confusion_png(matrix, labels, path, title: str):
    """Fig. 5.2 style: rows = true label, normalised over each row."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emsync.core.io import atomic_path

    m = np.asarray(matrix)
    fig, ax = plt.subplots(figsize=(5.2, 4.4))
    ax.imshow(m, vmin=0, vmax=1, cmap="Blues")
    ax.set_xticks(range(len(labels)), labels, rotation=45, ha="right")
    ax.set_yticks(range(len(labels)), labels)
    for i in range(len(labels)):
        for j in range(len(labels)):
            ax.text(j, i, f"{m[i, j]:.2f}", ha="center", va="center", fontsize=7, color="white" if m[i, j] > 0.5 else "black")
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)


# --- labels per dataset -------------------------------------------------------------------------


def emotion_labels(params) -> tuple:
    """(labels `video_id, emotion, label, split`, blacklisted rows with `reason`) of the emotion
    dataset; the blacklist (§5.2.2.4) is applied to both splits when classify.blacklist is on
    (the thesis's soundtrack model), recorded either way."""
    from emsync.classify.cleaning import apply_blacklist
    from emsync.classify.datasets import demo_table, ekman6_table

    c = params.classify
    if c.emotion_dataset == "demo":
        table = demo_table(params.path(c.demo_ground_truth))
    elif c.emotion_dataset == "ekman6":
        if not c.ekman6_dir:
            raise InputError("classify.ekman6_dir is empty: point it at an Ekman-6 copy (see emsync/classify/datasets.py)")
        table = ekman6_table(params.path(c.ekman6_dir))
    else:
        raise InputError(f"classify.emotion_dataset {c.emotion_dataset!r}: choose demo or ekman6")
    kept, dropped = apply_blacklist(table)
    return (kept if c.blacklist else table), dropped


def genre_dataset(params) -> tuple:
    """(`video_id, genres, split` of the genre dataset, the trailers the §5.2.3.3 duration filter
    dropped with a `reason`). MovieNet: its published split, classify.movienet_duration_filter."""
    from emsync.classify.datasets import demo_table, duration_filter, movienet_table

    c = params.classify
    if c.genre_dataset == "demo":
        table = demo_table(params.path(c.demo_ground_truth))
        return table, table.iloc[:0]
    if c.genre_dataset == "movienet":
        splits = params.path(c.movienet_splits) if c.movienet_splits else None  # "": the split computed (§5.2.3.3)
        table = movienet_table(params.path(c.movienet_csv), splits)
        return duration_filter(table, c.movienet_duration_filter)
    raise InputError(f"classify.genre_dataset {c.genre_dataset!r}: choose demo or movienet")


def genre_labels(params) -> pd.DataFrame:
    """`video_id, genres, split` of the genre dataset after the duration filter (genre_dataset)."""
    return genre_dataset(params)[0]


def features_digest(features_dir, video_ids, task: str, inputs=None) -> str:
    """Digest of the feature tables a classifier reads (the training cache key)."""
    from emsync.classify.features import tables_for
    from emsync.core.io import file_digest

    import hashlib

    h = hashlib.md5()
    for vid in sorted(video_ids):
        for t in tables_for(task, inputs):
            p = Path(features_dir) / t / f"{vid}.parquet"
            h.update(f"{t}/{vid}:{file_digest(p) if p.exists() else 'missing'};".encode())
    return h.hexdigest()


# --- training through the engine ----------------------------------------------------------------


def make_task(kind: str, data: ClassifierData, c, model_cfg: dict):
    """The ClassifierTask for registry `kind` with the classify params `c`."""
    from emsync.classify.tasks import ClassifierTask

    emotion = kind == "vemoclap"
    return ClassifierTask(
        kind,
        data,
        dict(model_cfg),
        batch_size=c.batch_size,
        seed=c.seed,
        n_frames=c.n_frames if emotion else None,
        pos_weight=c.pos_weight,
        emotion=emotion,
    )


def train_classifier(kind: str, data: ClassifierData, c, model_cfg: dict, state_path=None, log_dir=None, progress: bool = False) -> dict:
    """Train one classifier through the engine; returns {"kind", "config", "state_dict", "history",
    "evals", "steps", "best_step", "seconds", "stats", "max_len"} (the best validation weights when
    validation runs, else the last)."""
    from emsync.training.engine import fingerprint, train

    if kind == "baseline":
        return train_baseline(data, c, model_cfg, state_path=state_path, log_dir=log_dir, progress=progress)
    task = make_task(kind, data, c, model_cfg)
    cfg = engine_config(c, task.emotion, len(data.index("val")) > 0)
    fp = fingerprint(
        kind, model_cfg, c.steps, c.seed, c.lr, c.batch_size, c.n_frames, c.pos_weight, [it.video_id for it in data.items], data.split
    )
    res = train(task, cfg, state_path=state_path, fingerprint=fp, log_dir=log_dir, progress=progress)
    model = task.build_model()
    model.load_state_dict(res.best_state if res.best_state is not None else res.model_state)
    return {
        "kind": kind,
        "config": model.cfg.to_dict(),
        "state_dict": model.state_dict(),
        "history": res.history,
        "evals": res.evals,
        "steps": res.steps,
        "best_step": res.best_step,
        "seconds": round(res.seconds, 3),
        "stopped_early": res.stopped_early,
        "device": res.device,
        "max_len": task.max_len,
    }


def engine_config(c, emotion: bool, has_val: bool):
    """The engine settings of a classifier run from the classify params."""
    from emsync.training.engine import EngineConfig

    monitor = "accuracy" if emotion else "map"
    has_val = has_val and c.eval_every > 0
    return EngineConfig(
        steps=c.steps,
        seed=c.seed,
        device=c.device,
        lr=c.lr,
        grad_clip=1.0,
        checkpoint_every=max(1, min(c.steps, 500)),
        eval_every=c.eval_every if has_val else 0,
        monitor=monitor if has_val else "",
        mode="max",
        patience=c.patience if has_val else 0,
    )


def train_baseline(data: ClassifierData, c, model_cfg: dict, state_path=None, log_dir=None, progress: bool = False) -> dict:
    """The ViT + AST baseline's two-stage training (§5.2.3.2), both stages through the engine:
    1. the image- and audio-MLPs with per-frame heads on single frames (each frame carries its
       video's genres; the two MLPs share no parameter, so one run with the summed loss trains each
       exactly as a run of its own would on the same batches);
    2. the MLPs frozen, the fusion transformers + output layer on whole videos.
    `classify.steps` optimizer steps per stage. Returns train_classifier's dict; history and evals
    rows carry `stage` 1 / 2 and the steps count both stages."""
    from pathlib import Path

    from emsync.classify.tasks import BaselineFrameTask
    from emsync.training.engine import fingerprint, train

    has_val = len(data.index("val")) > 0
    base = [
        "baseline",
        model_cfg,
        data.dims,
        c.steps,
        c.seed,
        c.lr,
        c.batch_size,
        c.pos_weight,
        [it.video_id for it in data.items],
        data.split,
    ]
    paths = [None, None] if state_path is None else [Path(state_path).with_suffix(f".stage{k}.pt") for k in (1, 2)]
    logs = [None, None] if log_dir is None else [Path(log_dir) / f"stage{k}" for k in (1, 2)]

    t1 = BaselineFrameTask("baseline", data, dict(model_cfg), batch_size=c.batch_size, seed=c.seed, pos_weight=c.pos_weight, emotion=False)
    r1 = train(
        t1, engine_config(c, False, has_val), state_path=paths[0], fingerprint=fingerprint(*base, 1), log_dir=logs[0], progress=progress
    )
    stage1 = r1.best_state if r1.best_state is not None else r1.model_state

    t2 = make_task("baseline", data, c, model_cfg)
    t2.init_state, t2.freeze_frames = stage1, True
    fp2 = fingerprint(*base, 2, r1.steps, r1.best_step)
    r2 = train(t2, engine_config(c, False, has_val), state_path=paths[1], fingerprint=fp2, log_dir=logs[1], progress=progress)
    model = t2.build_model()
    model.load_state_dict(r2.best_state if r2.best_state is not None else r2.model_state)
    return {
        "kind": "baseline",
        "config": model.cfg.to_dict(),
        "state_dict": model.state_dict(),
        "history": [{**h, "stage": 1} for h in r1.history] + [{**h, "stage": 2} for h in r2.history],
        "evals": [{**e, "stage": 1} for e in r1.evals] + [{**e, "stage": 2} for e in r2.evals],
        "steps": r1.steps + r2.steps,
        "best_step": r2.best_step,
        "seconds": round(r1.seconds + r2.seconds, 3),
        "stopped_early": r1.stopped_early or r2.stopped_early,
        "device": r2.device,
        "max_len": t2.max_len,
    }
