"""train_emotion stage: VEMOCLAP on the emotion dataset's pretrained features (thesis §5.2.2).

    python -m flows.train_emotion            # params.yaml's classify section

Reads the label table (demo: planted emotions in data/demo/ground_truth/videos.json; Ekman-6: its
split lists) minus the §5.2.2.4 blacklist when classify.blacklist is on, and the feature tables in
classify.features_dir; trains through the engine (emsync/training/engine.py) and writes
classify.emotion_checkpoint (config + weights + min-max statistics + run info),
reports/train_emotion.json (`dvc metrics`) and reports/runs/train_emotion.json (skipped videos).
"""

from prefect import flow

from emsync.core.config import Params
from emsync.pipeline.flowkit import RunReport, run_task


@flow(name="train_emotion")
def train_emotion_flow(params: Params) -> dict:
    import dataclasses

    from emsync.classify.inference import save_classifier
    from emsync.classify.stage import emotion_labels, faces_width, features_digest
    from emsync.core.io import write_json
    from emsync.models.classifiers import from_checkpoint_dict
    from emsync.core.provenance import classifier_record
    from emsync.tasks.classify import train_classifier_task
    from emsync.pipeline.stages import stage_digest

    c = params.classify
    report = RunReport("train_emotion")
    labels, blacklisted = emotion_labels(params)
    if c.blacklist:
        for row in blacklisted.itertuples():
            report.skip(row.video_id, f"blacklist v{_blacklist_version()}: {row.reason}")
    features = params.path(c.features_dir)
    ckpt = params.path(c.emotion_checkpoint)
    out = run_task(
        train_classifier_task,
        report,
        "vemoclap",
        "emotion",
        labels.to_dict("records"),
        str(features),
        str(params.path(params.features.videos_dir)),
        features_digest(features, labels["video_id"], "emotion", c.emotion_inputs),
        dataclasses.asdict(c),
        dict(c.emotion_model),
        {"faces": faces_width(params)},
        str(ckpt.with_suffix(".train_state.pt")),
        stage_digest("train_emotion"),
    )
    for s in out["skips"]:
        report.skip(s["video_id"], s["reason"])
    model = from_checkpoint_dict(out)
    metrics = {
        "steps": out["steps"],
        "best_step": out["best_step"],
        "seconds": out["seconds"],
        "first_loss": out["history"][0]["loss"] if out["history"] else None,
        "final_loss": out["history"][-1]["loss"] if out["history"] else None,
        "videos": out["split_counts"],
        "skipped": len(out["skips"]),
        "blacklist": c.blacklist,
        "blacklisted": int(len(blacklisted)),
        "parameters": sum(p.numel() for p in model.parameters()),
        "evals": out["evals"],
    }
    # no wall seconds in the checkpoint: the same training must give the same file (the report keeps them)
    kept = {k: v for k, v in metrics.items() if k != "seconds"}
    extra = {"classify": dataclasses.asdict(c), "metrics": kept, "blacklist_version": _blacklist_version()}
    save_classifier(ckpt, model, "vemoclap", extra=extra | {"weights": classifier_record("emotion", c)})
    write_json(params.path(params.paths.reports_dir) / "train_emotion.json", metrics)
    report.write(params.path(params.paths.reports_dir))
    return metrics


def _blacklist_version() -> int:
    from emsync.classify.cleaning import load_blacklist

    return int(load_blacklist()["version"])


def _summary(m: dict, p) -> str:
    return (
        f"trained VEMOCLAP ({m['parameters']:,} parameters) for {m['steps']} steps: loss {m['first_loss']:.3f} -> "
        f"{m['final_loss']:.3f}; {m['videos']}; checkpoint {p.classify.emotion_checkpoint}"
    )


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main("train_emotion", train_emotion_flow, summary=_summary)
