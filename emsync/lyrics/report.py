"""Tables 3.3 / 3.4 (§3.2.3.1): per-label and macro precision, recall and F1 on the GoEmotions
test split, printed beside the thesis's numbers.

Columns per metric: *Demszky* (the GoEmotions paper's BERT baseline), *thesis* (the author's
fine-tuned DistilBERT, cut-off 0.3) and *here* (this run; cut-off searched on dev). Our "here"
means what the thesis's "Ours" means: test-split precision/recall/F1 per label at one cut-off, and
their unweighted means; it differs in the weights (trained from scratch here unless a pretrained
body is given) and in how the cut-off was chosen (dev search, reported).
"""

import numpy as np

from emsync.lyrics.metrics import per_label

# (precision baseline, precision thesis, recall baseline, recall thesis, F1 baseline, F1 thesis)
THESIS = {
    7: {
        "anger": (0.5, 0.5, 0.65, 0.67, 0.57, 0.57),
        "disgust": (0.52, 0.57, 0.53, 0.49, 0.53, 0.52),
        "fear": (0.61, 0.57, 0.76, 0.73, 0.68, 0.64),
        "joy": (0.77, 0.75, 0.88, 0.89, 0.82, 0.82),
        "neutral": (0.66, 0.63, 0.67, 0.75, 0.66, 0.68),
        "sadness": (0.56, 0.57, 0.62, 0.67, 0.59, 0.61),
        "surprise": (0.53, 0.59, 0.7, 0.62, 0.61, 0.61),
        "macro-average": (0.59, 0.6, 0.69, 0.69, 0.64, 0.64),
    },
    28: {
        "admiration": (0.53, 0.65, 0.83, 0.75, 0.65, 0.7),
        "amusement": (0.7, 0.72, 0.94, 0.91, 0.8, 0.81),
        "anger": (0.36, 0.53, 0.66, 0.49, 0.47, 0.51),
        "annoyance": (0.24, 0.4, 0.63, 0.31, 0.34, 0.35),
        "approval": (0.26, 0.39, 0.57, 0.38, 0.36, 0.39),
        "caring": (0.3, 0.37, 0.56, 0.46, 0.39, 0.41),
        "confusion": (0.24, 0.52, 0.76, 0.42, 0.37, 0.47),
        "curiosity": (0.4, 0.47, 0.84, 0.62, 0.54, 0.53),
        "desire": (0.43, 0.66, 0.59, 0.42, 0.49, 0.51),
        "disappointment": (0.19, 0.39, 0.52, 0.22, 0.28, 0.28),
        "disapproval": (0.29, 0.39, 0.61, 0.41, 0.39, 0.4),
        "disgust": (0.34, 0.64, 0.66, 0.39, 0.45, 0.48),
        "embarrassment": (0.39, 0.72, 0.49, 0.35, 0.43, 0.47),
        "excitement": (0.26, 0.43, 0.52, 0.47, 0.34, 0.45),
        "fear": (0.46, 0.6, 0.85, 0.76, 0.6, 0.67),
        "gratitude": (0.79, 0.88, 0.95, 0.92, 0.86, 0.9),
        "grief": (0.0, 0.0, 0.0, 0.0, 0.0, 0.0),
        "joy": (0.39, 0.59, 0.73, 0.61, 0.51, 0.6),
        "love": (0.68, 0.78, 0.92, 0.85, 0.78, 0.81),
        "nervousness": (0.28, 0.45, 0.48, 0.43, 0.35, 0.44),
        "neutral": (0.56, 0.61, 0.84, 0.76, 0.68, 0.68),
        "optimism": (0.41, 0.56, 0.69, 0.52, 0.51, 0.54),
        "pride": (0.67, 0.83, 0.25, 0.31, 0.36, 0.45),
        "realization": (0.16, 0.39, 0.29, 0.14, 0.21, 0.21),
        "relief": (0.5, 0.0, 0.09, 0.0, 0.15, 0.0),
        "remorse": (0.53, 0.59, 0.88, 0.86, 0.66, 0.7),
        "sadness": (0.38, 0.57, 0.71, 0.6, 0.49, 0.59),
        "surprise": (0.4, 0.56, 0.66, 0.5, 0.5, 0.53),
        "macro-average": (0.4, 0.53, 0.63, 0.5, 0.46, 0.5),
    },
}
THESIS_MACRO_F1 = {7: 0.64, 28: 0.50}
THESIS_CUTOFF = 0.3


def evaluate(probs: np.ndarray, targets: np.ndarray, labels: list, cutoff: float) -> dict:
    """{"cutoff", "per_label": {label: {precision, recall, f1, support}}, "macro": {...},
    "macro_at_0.3": {...}} for test outputs."""
    m = per_label(probs, targets, cutoff)
    at3 = per_label(probs, targets, THESIS_CUTOFF)
    rows = {
        name: {k: float(m[k][i]) for k in ("precision", "recall", "f1")} | {"support": int(m["support"][i])}
        for i, name in enumerate(labels)
    }
    return {
        "cutoff": float(cutoff),
        "per_label": rows,
        "macro": {k: float(m[k].mean()) for k in ("precision", "recall", "f1")},
        "macro_at_0.3": {k: float(at3[k].mean()) for k in ("precision", "recall", "f1")},
    }


def table_markdown(result: dict, n_labels: int, title: str) -> str:
    """Markdown in the shape of Table 3.3 (7 labels) / 3.4 (28 labels), thesis columns beside ours."""
    thesis = THESIS[n_labels]
    head = (
        "| label | P Demszky | P thesis | P here | R Demszky | R thesis | R here | F1 Demszky | F1 thesis | F1 here |\n"
        "|---|---|---|---|---|---|---|---|---|---|\n"
    )
    lines = [f"### {title}\n", head.rstrip("\n")]
    for name in sorted(result["per_label"]):  # the thesis lists labels alphabetically
        ours, t = result["per_label"][name], thesis[name]
        lines.append(
            f"| {name} | {t[0]:.2f} | {t[1]:.2f} | {ours['precision']:.2f} | {t[2]:.2f} | {t[3]:.2f} | "
            f"{ours['recall']:.2f} | {t[4]:.2f} | {t[5]:.2f} | {ours['f1']:.2f} |"
        )
    t, m = thesis["macro-average"], result["macro"]
    lines.append(
        f"| **macro-average** | {t[0]:.2f} | {t[1]:.2f} | {m['precision']:.2f} | {t[2]:.2f} | {t[3]:.2f} | "
        f"{m['recall']:.2f} | {t[4]:.2f} | {t[5]:.2f} | **{m['f1']:.2f}** |"
    )
    m3 = result["macro_at_0.3"]
    return "\n".join(lines) + (
        f"\n\nHere: cut-off {result['cutoff']:.2f} (searched on dev); at the thesis's 0.3 the "
        f"macro P / R / F1 are {m3['precision']:.2f} / {m3['recall']:.2f} / {m3['f1']:.2f}.\n"
    )


def summary(result: dict) -> dict:
    """Flat numbers of one label set's run for `dvc metrics`."""
    t, b = result["test"], result["baselines"]
    return {
        "test_macro_precision": round(t["macro"]["precision"], 4),
        "test_macro_recall": round(t["macro"]["recall"], 4),
        "test_macro_f1": round(t["macro"]["f1"], 4),
        "test_macro_f1_at_0.3": round(t["macro_at_0.3"]["f1"], 4),
        "dev_macro_f1": round(result["dev_macro_f1"], 4),
        "cutoff": result["cutoff"],
        "baseline_majority_f1": round(b["test"]["majority"]["f1"], 4),
        "baseline_frequency_f1": round(b["test"]["frequency"]["f1"], 4),
        "baseline_all_positive_f1": round(b["test"]["all_positive"]["f1"], 4),
        "steps": result["steps"],
        "best_step": result["best_step"],
        "n_parameters": result["n_parameters"],
        "thesis_test_macro_f1": THESIS_MACRO_F1[len(result["test"]["per_label"])],
    }


def training_report(results: dict, init: str, data_dir: str) -> str:
    """reports/lyrics_classifier.md: Tables 3.3 and 3.4 beside the thesis, baselines, run facts."""
    lines = [
        "# Lyrics emotion classifier on GoEmotions (§3.2.1, §3.2.3.1)",
        "",
        f"Data: `{data_dir}`. Start: {'`' + init + '`' if init else 'random weights, WordPiece vocabulary learnt on the train split'}.",
        "",
        "The thesis fine-tuned pretrained DistilBERT (`distilbert-base-uncased`). Without pretrained weights "
        "(none can be downloaded here) a from-scratch model is far below its numbers; the baselines show what "
        "a model that learnt nothing scores.",
        "",
    ]
    for n, title in (
        (7, "Table 3.3: 7-label classification results (test split)"),
        (28, "Table 3.4: 28-label classification results (test split)"),
    ):
        if n not in results:
            continue
        r = results[n]
        mc = r["model_config"]
        lines += [
            table_markdown(r["test"], n, title),
            f"Model: {mc['n_layers']} layers, {mc['n_heads']} heads, {mc['dim']} wide, vocabulary {mc['vocab_size']} "
            f"({r['n_parameters'] / 1e6:.2f}M parameters); batch {r['batch_size']}, lr {r['lr']:g}; "
            f"{r['steps']} steps ({r['steps'] / r['steps_per_epoch']:.1f} epochs), best dev macro-F1 at step "
            f"{r['best_step']}{', stopped early' if r['stopped_early'] else ''}; {r['seconds']:.0f} s on {r.get('device', 'cpu')}.",
            "",
            "| macro-F1 | dev | test |",
            "|---|---|---|",
            f"| this model | {r['dev_macro_f1']:.3f} | {r['test']['macro']['f1']:.3f} |",
        ]
        for k, name in (
            ("majority", "majority class (every text gets the most frequent label)"),
            ("frequency", "label frequency (each label at random at its training rate)"),
            ("all_positive", "all labels predicted"),
        ):
            lines.append(f"| {name} | {r['baselines']['dev'][k]['f1']:.3f} | {r['baselines']['test'][k]['f1']:.3f} |")
        lines.append(f"| thesis (fine-tuned DistilBERT, cut-off 0.3) | | {THESIS_MACRO_F1[n]:.2f} |")
        lines.append("")
    return "\n".join(lines)
