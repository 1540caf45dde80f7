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

from emsync.core.config import Params
from emsync.pipeline.flowkit import RunReport


@flow(name="evaluate_classifiers")
def evaluate_classifiers_flow(params: Params) -> dict:
    import pandas as pd

    from emsync.classify import evaluation as E
    from emsync.core.io import write_parquet

    report = RunReport("evaluate_classifiers")
    reports = params.path(params.paths.reports_dir)
    out_dir = params.path(params.paths.data_dir) / "classify"
    emotion, skips, emotion_labels = E.evaluate_emotion(params, out_dir, reports)
    genre, genre_skips, labels, gdata = E.evaluate_genre(params, out_dir)
    skips += genre_skips
    write_parquet(out_dir / "skips.parquet", pd.DataFrame(skips, columns=["task", "video_id", "reason"]))
    for s in skips:
        report.skip(f"{s['task']}:{s['video_id']}", s["reason"])
    metrics = {"emotion": emotion, "genre": genre}
    ablation_md = E.ablation(params, labels, gdata, reports, metrics)  # Table 5.4
    summary = E.write_reports(params, reports, metrics, emotion_labels, ablation_md)
    report.write(reports)
    return summary


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main(
        "evaluate_classifiers",
        evaluate_classifiers_flow,
        summary=lambda s, p: "  ".join(f"{k} {v:.3f}" for k, v in s.items() if v is not None),
    )
