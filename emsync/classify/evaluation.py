"""The evaluate_classifiers stage (§5.2.2.6, §5.2.3.4): the trained classifiers on every split,
predictions into the feature store, accuracy / confusion and P@0.5 / R@0.5 / mAP, the optional
Table 5.4 ablation, and the reports. flows/evaluate_classifiers.py runs these steps in order."""

import dataclasses

import pandas as pd

from emsync.core.io import write_json, write_parquet, write_text


def evaluate_emotion(params, out_dir, reports) -> tuple[dict, list, list]:
    """(metrics, skips, class labels) of VEMOCLAP on every labelled video (blacklisted ones too:
    they are scored, and the test split is reported both ways); writes its predictions and Fig. 5.2."""
    from emsync.classify.cleaning import apply_blacklist, load_blacklist
    from emsync.classify.datasets import demo_table, ekman6_table
    from emsync.classify.inference import load_classifier
    from emsync.classify.metrics import accuracy
    from emsync.classify.report import blacklist_counts
    from emsync.classify.stage import build_dataset, confusion_png, evaluate, faces_width, make_task

    c = params.classify
    features, videos = params.path(c.features_dir), params.path(params.features.videos_dir)
    model, ckpt = load_classifier(params.path(c.emotion_checkpoint))
    table = demo_table(params.path(c.demo_ground_truth)) if c.emotion_dataset == "demo" else ekman6_table(params.path(c.ekman6_dir))
    data, sk = build_dataset("emotion", table, features, videos, {"faces": faces_width(params)}, inputs=list(model.cfg.dims))
    skips = [{"task": "emotion", **s} for s in sk.to_dict("records")]
    preds, m = evaluate(make_task("vemoclap", data, c, {}), model, splits=("train", "test"))
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
    preds.insert(1, "model", "vemoclap")
    write_parquet(out_dir / "emotion_predictions.parquet", preds)
    if "test" in m:
        title = f"VEMOCLAP, test split ({m['test']['n']} videos)"
        confusion_png(m["test"]["confusion"], list(model.cfg.labels), reports / "classifiers_confusion.png", title)
    return m, skips, list(model.cfg.labels)


def evaluate_genre(params, out_dir) -> tuple[dict, list, object, object]:
    """({model kind: metrics}, skips, the genre labels table, the genre dataset) of every trained
    genre model; writes their predictions (column `model`)."""
    from emsync.classify.inference import load_classifier
    from emsync.classify.stage import build_dataset, evaluate, genre_labels, make_task

    c = params.classify
    features, videos = params.path(c.features_dir), params.path(params.features.videos_dir)
    labels = genre_labels(params)
    gdata, gsk = build_dataset("genre", labels, features, videos)
    skips = [{"task": "genre", **s} for s in gsk.to_dict("records")]
    rows, metrics, bdata = [], {}, None
    for kind in c.genre_models:
        gmodel, _ = load_classifier(params.path(c.genre_dir) / kind / "checkpoint.pt")
        if kind == "baseline" and bdata is None:  # the ViT + AST baseline reads the vit / ast tables
            bdata, bsk = build_dataset("baseline", labels, features, videos)
            skips += [{"task": "genre_baseline", **s} for s in bsk.to_dict("records")]
        gpreds, gm = evaluate(make_task(kind, bdata if kind == "baseline" else gdata, c, {}), gmodel, splits=("train", "val", "test"))
        gpreds.insert(1, "model", kind)
        rows.append(gpreds)
        metrics[kind] = gm
    write_parquet(out_dir / "genre_predictions.parquet", pd.concat(rows, ignore_index=True))
    return metrics, skips, labels, gdata


def ablation(params, labels, gdata, reports, metrics: dict) -> list:
    """Table 5.4 with classify.ablation (one engine run per feature set): its metrics into
    `metrics` and its markdown lines ([] when off)."""
    c = params.classify
    if not c.ablation:
        return []
    from emsync.classify import ablation as A
    from emsync.core.io import read_json

    timing_json = reports / "features.json"
    seconds = A.seconds_per_video(read_json(timing_json)) if timing_json.exists() else {}
    metrics["ablation"] = A.run(labels, params.path(c.features_dir), params.path(params.features.videos_dir), c, seconds)
    chance = A.chance_map(gdata.targets[gdata.index("test")]) if len(gdata.index("test")) else None
    metrics["ablation_chance_map"] = chance
    return A.markdown(metrics["ablation"], chance)


def write_reports(params, reports, metrics: dict, emotion_labels: list, ablation_md: list) -> dict:
    """reports/classifiers_metrics.json and reports/classifiers.md; returns the flat summary."""
    from emsync.classify.report import classifiers_markdown

    summary = _summary(metrics)
    write_json(reports / "classifiers_metrics.json", {"summary": summary, **metrics})
    md = classifiers_markdown(metrics, dataclasses.asdict(params.classify), emotion_labels)
    md += "\n" + classifier_weights_markdown(params)
    write_text(reports / "classifiers.md", md + ("\n" + "\n".join(ablation_md) if ablation_md else ""))
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

    from emsync.core import provenance as P
    from emsync.core.config import project_root

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
