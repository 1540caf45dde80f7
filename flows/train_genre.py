"""train_genre stage: the trailer genre classifiers on pretrained features (thesis §5.2.3).

    python -m flows.train_genre              # every model in classify.genre_models

Reads the genre label table (demo: planted genres; MovieNet: trailers_genres_clean.csv and its
published split) and the feature tables in classify.features_dir; trains each model of
classify.genre_models (mlp, single_transformer, multi_transformer, baseline) through the engine with
the positive-weighted BCE; writes <classify.genre_dir>/<model>/checkpoint.pt, reports/train_genre.json
(`dvc metrics`) and reports/runs/train_genre.json (skipped videos). The ViT + AST baseline reads the
`vit` / `ast` feature tables and trains in its two stages (emsync.classify.stage.train_baseline).
"""

from prefect import flow

from emsync.core.config import Params
from emsync.pipeline.flowkit import RunReport, run_task


@flow(name="train_genre")
def train_genre_flow(params: Params) -> dict:
    import dataclasses
    from pathlib import Path

    from emsync.classify.inference import save_classifier
    from emsync.classify.stage import features_digest, genre_dataset
    from emsync.core.errors import InputError
    from emsync.core.io import write_json
    from emsync.models.classifiers import REGISTRY, from_checkpoint_dict
    from emsync.core.provenance import classifier_record
    from emsync.tasks.classify import train_classifier_task
    from emsync.pipeline.stages import stage_digest

    c = params.classify
    unknown = set(c.genre_models) - (set(REGISTRY) - {"vemoclap"})
    if unknown:
        raise InputError(
            f"classify.genre_models: unknown model(s) {sorted(unknown)} (mlp, single_transformer, multi_transformer, baseline)"
        )
    report = RunReport("train_genre")
    labels, dropped = genre_dataset(params)
    for row in dropped.itertuples():  # §5.2.3.3: too short or too long for the genre models
        report.skip(row.video_id, row.reason)
    features = params.path(c.features_dir)
    metrics = {}
    for kind, cfg in c.genre_models.items():
        inputs = "baseline" if kind == "baseline" else "genre"  # the baseline reads the vit / ast tables
        digest = features_digest(features, labels["video_id"], inputs)
        ckpt = params.path(c.genre_dir) / kind / "checkpoint.pt"
        out = run_task(
            train_classifier_task,
            report,
            kind,
            inputs,
            labels.to_dict("records"),
            str(features),
            str(params.path(params.features.videos_dir)),
            digest,
            dataclasses.asdict(c),
            dict(cfg),
            {},
            str(Path(ckpt).with_suffix(".train_state.pt")),
            stage_digest("train_genre"),
        )
        model = from_checkpoint_dict(out)
        m = {
            "steps": out["steps"],
            "best_step": out["best_step"],
            "seconds": out["seconds"],
            "first_loss": out["history"][0]["loss"] if out["history"] else None,
            "final_loss": out["history"][-1]["loss"] if out["history"] else None,
            "videos": out["split_counts"],
            "max_len": out["max_len"],
            "parameters": sum(p.numel() for p in model.parameters()),
            "evals": out["evals"],
        }
        kept = {k: v for k, v in m.items() if k != "seconds"}  # no wall seconds in the checkpoint: same training, same file
        save_classifier(
            ckpt, model, kind, extra={"classify": dataclasses.asdict(c), "metrics": kept, "weights": classifier_record("genre", c)}
        )
        metrics[kind] = m
    for s in out["skips"]:
        report.skip(s["video_id"], s["reason"])
    write_json(params.path(params.paths.reports_dir) / "train_genre.json", metrics)
    report.write(params.path(params.paths.reports_dir))
    return metrics


def _summary(models: dict, p) -> str:
    return "\n".join(
        f"trained {kind} ({m['parameters']:,} parameters) for {m['steps']} steps: loss {m['first_loss']:.3f} -> "
        f"{m['final_loss']:.3f}; {m['videos']}"
        for kind, m in models.items()
    )


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main("train_genre", train_genre_flow, summary=_summary)
