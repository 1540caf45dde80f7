"""evaluate stage: the generator(s) against the thesis's evaluation (§4.5, Tables 4.1/4.2; §6.4).

    python -m flows.evaluate                      # train.checkpoint (+ evaluate.checkpoints)
    python -m flows.evaluate --checkpoint data/models/music_concat/checkpoint.pt --checkpoint ...

For each generator checkpoint: NLL / top-1 / top-5 over the test split, then (conditioned models)
25 conditions x N generated samples scored by the §4.5 regressor (trained once on the train split,
saved to evaluate.regressor_checkpoint), then (boundary models) the hit rate with offsets vs
"no boundary ahead" (offset = δ_max). Writes reports/evaluation.md, reports/evaluation_metrics.json and
reports/runs/evaluate.json. A checkpoint that fails is recorded as skipped; the others go on.
"""

import dataclasses
from pathlib import Path

from prefect import flow

from emsync.core.config import Params
from emsync.core.errors import EmsyncError, InputError
from emsync.pipeline.flowkit import RunReport, run_task
from emsync.core.io import file_digest
from emsync.training import stage


@flow(name="evaluate")
def evaluate_flow(params: Params, checkpoints: list | None = None, reports_dir: str | None = None) -> dict:
    from emsync.pipeline.stages import stage_digest
    from emsync.tasks.train import boundary_samples_task, emotion_samples_task, token_metrics_task, train_regressor_task
    from emsync.training.evaluation import boundary_rates, score_emotion
    from emsync.training.tokens import tokens_digest

    ep = params.evaluate
    report = RunReport("evaluate")
    reports = Path(reports_dir) if reports_dir else params.path(params.paths.reports_dir)
    tokens_dir = params.path(params.tokens.out_dir)
    tdig = tokens_digest(tokens_dir)
    ev, ev_tokens, ev_reg = stage.task_params(ep)
    gen = dataclasses.asdict(params.generate)
    code = stage_digest("evaluate")
    ckpts = list(dict.fromkeys(checkpoints or [params.train.checkpoint, *ep.checkpoints]))

    regressor = None
    models = []
    for ck in ckpts:
        path = params.path(ck)
        try:
            if not path.exists():
                raise EmsyncError(f"{ck}: checkpoint not found")
            dig = file_digest(path)
            row = {"name": stage.checkpoint_name(ck, f"model{len(models)}"), "checkpoint": str(ck)}
            row.update(run_task(token_metrics_task, report, str(path), dig, str(tokens_dir), tdig, ev_tokens, code))
            if row["conditioning"] != "vanilla":  # §4.6: the vanilla model has no condition to match
                if regressor is None:
                    regressor = run_task(train_regressor_task, report, str(tokens_dir), tdig, ev_reg, code)
                samples = run_task(emotion_samples_task, report, str(path), dig, ev, gen, code)
                row["emotion"] = score_emotion(regressor, samples, ep.device)
            if row["boundaries"]:
                row["boundary"] = boundary_rates(run_task(boundary_samples_task, report, str(path), dig, ev, gen, code), ep.hit_tolerance_s)
            models.append(row)
        except Exception as e:  # one bad checkpoint never stops the others
            report.skip(ck, f"{type(e).__name__}: {e}")
    if not models:
        raise EmsyncError("evaluate: no generator could be evaluated: " + "; ".join(f"{s['item']}: {s['reason']}" for s in report.skipped))

    reg_info = stage.save_regressor(regressor, params.path(ep.regressor_checkpoint))
    settings = stage.settings(ev, params.generate, models, ep.device)
    metrics = {"summary": stage.summary(models), "settings": settings, "regressor": reg_info, "models": models, "skipped": report.skipped}
    stage.write_reports(params, reports, metrics)
    report.write(reports)
    return metrics


def _run(p, args) -> dict:
    from emsync.training.tokens import require_tokens

    require_tokens(p.path(p.tokens.out_dir))  # fail with one clear line before Prefect starts
    ckpts = args.checkpoint or [p.train.checkpoint, *p.evaluate.checkpoints]
    if not any(p.path(c).exists() for c in ckpts):
        raise InputError(f"no generator checkpoint found ({', '.join(ckpts)}): run `emsync train` / `dvc repro train` first")
    return evaluate_flow(p, checkpoints=args.checkpoint)


def _summary(m: dict, p) -> str:
    lines = []
    for r in m["models"]:
        emo = r.get("emotion", {}).get("l1")
        hit = r.get("boundary", {}).get("with_offsets", {}).get("hit_rate")
        lines.append(
            f"{r['name']} ({r['conditioning']}): NLL {r['nll'] or float('nan'):.4f} top-1 {r['top1'] or 0:.4f} top-5 {r['top5'] or 0:.4f}"
            + (f" emotion L1 {emo:.4f}" if emo is not None else "")
            + (f" hit rate {hit:.3f}" if hit is not None else "")
        )
    return "\n".join(lines + ["wrote reports/evaluation.md and reports/evaluation_metrics.json"])


def main(argv=None):
    """`python -m flows.evaluate` and `emsync evaluate`."""
    from emsync.pipeline import flowkit

    def add_args(ap):
        ap.add_argument("--checkpoint", action="append", help="generator checkpoint(s) to evaluate (repeatable)")

    return flowkit.main("evaluate", run=_run, add_args=add_args, summary=_summary, argv=argv, description=__doc__.split("\n")[0])


if __name__ == "__main__":
    main()
