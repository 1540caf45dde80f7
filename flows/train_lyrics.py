"""train_lyrics stage (§3.2.1, §3.2.3.1): the 7- and 28-label lyrics emotion classifiers on GoEmotions.

    python -m flows.train_lyrics          # what `dvc repro train_lyrics` runs

Reads `train_lyrics.data_dir` ({train,dev,test}.tsv, GoEmotions' original layout; the 7 labels are
the 28 under Table 3.2). Each label set trains through the one training engine
(emsync/training/engine.py) with early stopping on dev macro-F1 and the cut-off searched on dev.
Writes `train_lyrics.out_dir`/{7,28}/ (weights, config.json, tokenizer, emsync.json with the
cut-off: what the lyrics stage loads), reports/lyrics_classifier.md (Tables 3.3 / 3.4 beside the
thesis, baselines), reports/lyrics_classifier_metrics.json (`dvc metrics`) and
reports/lyrics_train_loss_{7,28}.csv/.png. A killed run resumes from
<out_dir>_{7,28}.train_state.pt.
"""

import dataclasses
from pathlib import Path

from prefect import flow

from emsync.core.config import Params
from emsync.core.errors import InputError
from emsync.pipeline.flowkit import RunReport, run_task
from emsync.core.io import write_json, write_text
from emsync.pipeline.stages import stage_digest
from emsync.tasks import lyrics as T


@flow(name="train_lyrics")
def train_lyrics_flow(params: Params, reports_dir: str | None = None) -> dict:
    from emsync.core.device import resolve_device
    from emsync.lyrics.model import tokenizer_from_json
    from emsync.lyrics.report import summary, training_report
    from emsync.lyrics.train import LyricsTrainConfig, data_digest, save
    from emsync.training import engine
    from emsync.models.lyrics_classifier import LyricsClassifierConfig, build

    tp = params.train_lyrics
    report = RunReport("train_lyrics")
    reports = Path(reports_dir) if reports_dir else params.path(params.paths.reports_dir)
    data_dir = params.path(tp.data_dir)
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        if not (data_dir / name).exists():
            raise InputError(
                f"{data_dir / name}: GoEmotions split not found (train_lyrics.data_dir; run `dvc repro demo_data` for the demo set)"
            )
    out = params.path(tp.out_dir)
    device = str(resolve_device(tp.device))
    results = {}
    for n in (7, 28):
        cfg = LyricsTrainConfig.from_params(tp, n, data_dir=str(data_dir), device=device)
        state = out.parent / f"{out.name}_{n}.train_state.pt"
        res = run_task(
            T.train_classifier_task, report, dataclasses.asdict(cfg), data_digest(data_dir), str(state), stage_digest("train_lyrics")
        )
        r = res["result"]
        model = build(LyricsClassifierConfig(**r["model_config"]), res["labels"])
        model.load_state_dict(res["state_dict"])
        save(model.eval(), tokenizer_from_json(res["tokenizer"]), out / str(n), cfg, r, weights=_weights_record(params, n))
        write_text(reports / f"lyrics_train_loss_{n}.csv", engine.history_csv(r["history"], r["evals"]))
        engine.plot_history(r["history"], reports / f"lyrics_train_loss_{n}.png", r["evals"], title=f"lyrics {n}-label loss")
        results[n] = r
    from emsync.core import provenance as P

    weights = [P.from_extra({"weights": _weights_record(params, n)}, f"lyrics classifier ({n} labels)") for n in results]
    write_text(reports / "lyrics_classifier.md", training_report(results, tp.init, tp.data_dir) + "\n" + P.markdown(weights))
    metrics = {str(n): summary(r) for n, r in results.items()}
    write_json(reports / "lyrics_classifier_metrics.json", metrics)
    report.write(reports)
    return metrics


def _summary(m: dict, p) -> str:
    return "\n".join(
        f"train_lyrics {n}-label: test macro-F1 {s['test_macro_f1']:.3f} (dev {s['dev_macro_f1']:.3f}, cut-off {s['cutoff']}; "
        f"majority {s['baseline_majority_f1']:.3f}, frequency {s['baseline_frequency_f1']:.3f}; thesis {s['thesis_test_macro_f1']})"
        for n, s in m.items()
    )


def _weights_record(params: Params, n: int) -> dict:
    """demo when trained on the demo GoEmotions-format set, else real (GoEmotions itself)."""
    from emsync.core.provenance import data_kind, weights_record

    tp = params.train_lyrics
    kind = data_kind([params.path(tp.data_dir)], params.path(params.demo_data.out_dir))
    start = tp.init or "random weights"
    return weights_record(kind, f"train_lyrics {n}-label classifier from {start}", f"GoEmotions-format data in {tp.data_dir}")


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main("train_lyrics", train_lyrics_flow, summary=_summary)
