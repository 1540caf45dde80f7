"""Cached Prefect tasks of the classifier stages (library code in emsync/classify/).

A task takes the labelled videos, a digest of their feature tables and `code` (a digest of the
library sources it runs), so new features, labels, params or code re-run it and nothing else does."""

from emsync.pipeline.flowkit import cached_task


@cached_task(name="train-classifier")
def train_classifier_task(
    kind: str,
    task: str,
    labels: list,
    features_dir: str,
    videos_dir: str,
    features_digest: str,
    classify: dict,
    model_cfg: dict,
    default_dims: dict,
    state_path: str,
    code: str,
) -> dict:
    """Train classifier `kind` on the labelled videos (through the engine) -> config + weights +
    history, plus the videos skipped for missing tables."""
    import dataclasses

    import pandas as pd

    from emsync.classify.stage import build_dataset, train_classifier
    from emsync.classify.tasks import carve_validation
    from emsync.core.config import ClassifyParams

    c = ClassifyParams(**classify)
    inputs = c.emotion_inputs if task == "emotion" else None  # §5.2.2.1 (thesis set: BEATs audio)
    data, skips = build_dataset(task, pd.DataFrame(labels), features_dir, videos_dir, default_dims, inputs)
    if task == "emotion" and c.val_fraction > 0:
        data = dataclasses.replace(data, split=carve_validation(data.split, c.val_fraction, c.seed))
    out = train_classifier(kind, data, c, model_cfg, state_path=state_path)
    out["skips"] = skips.to_dict("records")
    out["split_counts"] = {s: data.split.count(s) for s in ("train", "val", "test")}
    return out
