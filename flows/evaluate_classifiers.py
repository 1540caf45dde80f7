"""evaluate_classifiers stage: the trained classifiers on every split (thesis §5.2.2.6, §5.2.3.4).

    python -m flows.evaluate_classifiers

Writes the predictions to the feature store, keyed by video_id (one probability column per class):
data/classify/emotion_predictions.parquet and data/classify/genre_predictions.parquet (column
`model` per genre model), data/classify/skips.parquet (videos without their feature tables);
reports/classifiers.md, reports/classifiers_metrics.json (`dvc metrics`) and
reports/classifiers_confusion.png (Fig. 5.2, `dvc plots`). Emotion accuracy is reported on the test
split as labelled and with the §5.2.2.4 blacklist applied to it (with / without cleaning). With
classify.ablation, Table 5.4 (emsync/classify/ablation.py): the genre classifier retrained per
feature set through the engine, its test mAP and seconds per video (extraction times from
reports/features.json), in the same report and metrics.
"""

from prefect import flow

from emsync.config import Params
from emsync.flowkit import RunReport


@flow(name="evaluate_classifiers")
def evaluate_classifiers_flow(params: Params) -> dict:
    import dataclasses

    import pandas as pd

    from emsync.classify.cleaning import apply_blacklist, load_blacklist
    from emsync.classify.datasets import demo_table, ekman6_table
    from emsync.classify.inference import load_classifier
    from emsync.classify.metrics import accuracy
    from emsync.classify.report import blacklist_counts, classifiers_markdown
    from emsync.classify.stage import build_dataset, confusion_png, evaluate, faces_width, genre_labels, make_task
    from emsync.io import write_json, write_parquet, write_text

    c = params.classify
    report = RunReport("evaluate_classifiers")
    reports = params.path(params.paths.reports_dir)
    out_dir = params.path(params.paths.data_dir) / "classify"
    features, videos = params.path(c.features_dir), params.path(params.features.videos_dir)
    metrics, skips = {}, []

    # emotion: every labelled video (blacklisted ones too: they are scored, and reported both ways)
    model, ckpt = load_classifier(params.path(c.emotion_checkpoint))
    table = demo_table(params.path(c.demo_ground_truth)) if c.emotion_dataset == "demo" else ekman6_table(params.path(c.ekman6_dir))
    data, sk = build_dataset("emotion", table, features, videos, {"faces": faces_width(params)}, inputs=list(model.cfg.dims))
    skips += [{"task": "emotion", **s} for s in sk.to_dict("records")]
    task = make_task("vemoclap", data, c, {})
    preds, m = evaluate(task, model, splits=("train", "test"))
    _, dropped = apply_blacklist(table)
    test = preds[preds["split"] == "test"]
    clean = test[~test["video_id"].isin(set(dropped["video_id"]))]
    m["test_cleaned"] = {
        "accuracy": accuracy(clean["label"], clean["predicted"]) if len(clean) else float("nan"),
        "n": int(len(clean)),
        "blacklist_version": int(load_blacklist()["version"]),
    }
    m["trained_on_cleaned"] = bool(ckpt["extra"].get("classify", {}).get("blacklist", False))
    m["blacklist_removed"] = blacklist_counts(table, dropped)
    metrics["emotion"] = m
    preds.insert(1, "model", "vemoclap")
    write_parquet(out_dir / "emotion_predictions.parquet", preds)
    if "test" in m:
        confusion_png(
            m["test"]["confusion"],
            list(model.cfg.labels),
            reports / "classifiers_confusion.png",
            f"VEMOCLAP, test split ({m['test']['n']} videos)",
        )

    # genre: every trained model
    labels = genre_labels(params)
    gdata, gsk = build_dataset("genre", labels, features, videos)
    skips += [{"task": "genre", **s} for s in gsk.to_dict("records")]
    rows = []
    metrics["genre"] = {}
    bdata = None
    for kind in c.genre_models:
        gmodel, _ = load_classifier(params.path(c.genre_dir) / kind / "checkpoint.pt")
        if kind == "baseline":  # the ViT + AST baseline reads the vit / ast tables
            if bdata is None:
                bdata, bsk = build_dataset("baseline", labels, features, videos)
                skips += [{"task": "genre_baseline", **s} for s in bsk.to_dict("records")]
            gpreds, gm = evaluate(make_task(kind, bdata, c, {}), gmodel, splits=("train", "val", "test"))
        else:
            gpreds, gm = evaluate(make_task(kind, gdata, c, {}), gmodel, splits=("train", "val", "test"))
        gpreds.insert(1, "model", kind)
        rows.append(gpreds)
        metrics["genre"][kind] = gm
    write_parquet(out_dir / "genre_predictions.parquet", pd.concat(rows, ignore_index=True))
    write_parquet(out_dir / "skips.parquet", pd.DataFrame(skips, columns=["task", "video_id", "reason"]))
    for s in skips:
        report.skip(f"{s['task']}:{s['video_id']}", s["reason"])

    # Table 5.4: the feature ablation with runtimes (one engine run per feature set)
    ablation_md = []
    if c.ablation:
        from emsync.classify import ablation
        from emsync.io import read_json

        timing_json = reports / "features.json"
        seconds = ablation.seconds_per_video(read_json(timing_json)) if timing_json.exists() else {}
        metrics["ablation"] = ablation.run(labels, features, videos, c, seconds)
        chance = ablation.chance_map(gdata.targets[gdata.index("test")]) if len(gdata.index("test")) else None
        metrics["ablation_chance_map"] = chance
        ablation_md = ablation.markdown(metrics["ablation"], chance)

    summary = _summary(metrics)
    write_json(reports / "classifiers_metrics.json", {"summary": summary, **metrics})
    md = classifiers_markdown(metrics, dataclasses.asdict(c), list(model.cfg.labels))
    md += "\n" + classifier_weights_markdown(params)
    write_text(reports / "classifiers.md", md + ("\n" + "\n".join(ablation_md) if ablation_md else ""))
    report.write(reports)
    return summary


def _summary(metrics: dict) -> dict:
    """Flat numbers for `dvc metrics show`."""
    e = metrics["emotion"]
    out = {"emotion_test_accuracy": e.get("test", {}).get("accuracy"), "emotion_test_cleaned_accuracy": e["test_cleaned"]["accuracy"]}
    for kind, m in metrics["genre"].items():
        t = m.get("test", {})
        out.update(
            {
                f"genre_{kind}_test_map": t.get("map"),
                f"genre_{kind}_test_p05": t.get("precision"),
                f"genre_{kind}_test_r05": t.get("recall"),
            }
        )
    for row, r in metrics.get("ablation", {}).items():
        out.update({f"ablation_{row}_map": r.get("map"), f"ablation_{row}_runtime_s": r.get("runtime_s")})
    return out


def classifier_weights_markdown(params) -> str:
    """The weights behind the report's numbers: each classifier's and each extractor's it read."""
    import torch

    from emsync import provenance as P
    from emsync.config import project_root

    c = params.classify
    ckpts = {"emotion classifier (VEMOCLAP)": params.path(c.emotion_checkpoint)}
    ckpts |= {f"genre {kind}": params.path(c.genre_dir) / kind / "checkpoint.pt" for kind in c.genre_models}
    weights = []
    for role, path in ckpts.items():
        extra = torch.load(path, map_location="cpu", weights_only=False, mmap=True).get("extra") if path.exists() else None
        weights.append(P.from_extra(extra, role, path))
    root = project_root(required=False)
    weights += [P.of_model_ref(params.features.models.get(n), f"{n} features", root) for n in params.features.extractors]
    return P.markdown(weights)


if __name__ == "__main__":
    from emsync import flowkit

    flowkit.main(
        "evaluate_classifiers",
        evaluate_classifiers_flow,
        summary=lambda s, p: "  ".join(f"{k} {v:.3f}" for k, v in s.items() if v is not None),
    )
