"""The evaluate stage's plain steps (§4.5, Tables 4.1/4.2; §6.4); flows/evaluate.py wires its
cached tasks (token metrics, the regressor, emotion and boundary samples) around them."""

import dataclasses
from pathlib import Path

from emsync.core.io import write_bytes, write_json, write_text

SETTINGS = (
    "max_test_chunks",
    "condition_values",
    "samples_per_condition",
    "sample_tokens",
    "hit_samples",
    "hit_duration_s",
    "hit_tolerance_s",
)


def checkpoint_name(ckpt: str, default: str) -> str:
    """A model's name in the report: its folder for `<name>/checkpoint.pt`, else the file's stem."""
    p = Path(ckpt)
    return p.parent.name if p.name == "checkpoint.pt" else p.stem or default


def task_params(ep) -> tuple[dict, dict, dict]:
    """(every evaluate param the sampling tasks read, the token metrics' share, the regressor's):
    each task's cache key holds only the params it reads (more samples never retrain the regressor)."""
    ev = {k: v for k, v in dataclasses.asdict(ep).items() if k not in ("checkpoints", "regressor_checkpoint")}
    ev_tokens = {k: ev[k] for k in ("max_test_chunks", "batch_size", "device")}
    ev_reg = {k: v for k, v in ev.items() if k.startswith("regressor_") or k in ("seed", "device")}
    return ev, ev_tokens, ev_reg


def save_regressor(regressor: dict | None, path) -> dict | None:
    """Write the §4.5 regressor's checkpoint; return what the report says about it (None without one)."""
    if regressor is None:
        return None
    from emsync.models.emotion_regressor import EmotionRegressor, EmotionRegressorConfig, regressor_bytes

    reg = EmotionRegressor(EmotionRegressorConfig.from_dict(regressor["config"]))
    reg.load_state_dict(regressor["state_dict"])
    write_bytes(path, regressor_bytes(reg, extra={"test_l1": regressor["test_l1"]}))
    return {
        "n_layers": regressor["config"]["n_layers"],
        "steps": len(regressor["history"]),
        "final_loss": regressor["history"][-1]["loss"] if regressor["history"] else None,
        "test_l1": regressor["test_l1"],
        "n_train_songs": regressor["n_train_songs"],
        "seconds": regressor["seconds"],
    }


def settings(ev: dict, gp, models: list, device) -> dict:
    """The evaluation's settings as the report prints them, with the generation window and stride."""
    from emsync.core.device import resolve_device
    from emsync.models.generation import effective_stride, mean_context, resolve_stride

    out = {**{k: ev[k] for k in SETTINGS}, "chunk_len": models[0].get("chunk_len"), "device": str(resolve_device(device))}
    window = min(gp.window, models[0].get("chunk_len") or gp.window)  # the engine caps it at the model's
    stride = effective_stride(window, resolve_stride(gp.slide_stride))
    out.update(window=window, slide_stride=stride, mean_context=round(mean_context(window, stride), 1))
    return out


def summary(models: list) -> dict:
    """Flat numbers per model for `dvc metrics show/diff`."""

    return {
        r["name"]: {
            "nll": r["nll"],
            "top1": r["top1"],
            "top5": r["top5"],
            "emotion_l1": (r.get("emotion") or {}).get("l1"),
            "hit_rate_with_offsets": (r.get("boundary") or {}).get("with_offsets", {}).get("hit_rate"),
            "hit_rate_without_offsets": (r.get("boundary") or {}).get("without_offsets", {}).get("hit_rate"),
            "nll_no_boundary": (r.get("no_boundary") or {}).get("nll"),
            "chord_precision_with_offsets": (r.get("boundary") or {}).get("with_offsets", {}).get("chord_precision"),
            "chord_precision_without_offsets": (r.get("boundary") or {}).get("without_offsets", {}).get("chord_precision"),
        }
        for r in models
    }


def write_reports(params, reports: Path, metrics: dict) -> None:
    """reports/evaluation_metrics.json and reports/evaluation.md (ending with the weights behind it)."""
    from emsync.core import provenance as P
    from emsync.training.report import evaluation_markdown

    write_json(reports / "evaluation_metrics.json", metrics)
    weights = [P.of_checkpoint(params.path(m["checkpoint"]), f"music generator {m['name']}") for m in metrics["models"]]
    write_text(reports / "evaluation.md", evaluation_markdown(metrics) + "\n" + P.markdown(weights))
