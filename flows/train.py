"""train stage: the music transformer on the tokenized corpus (thesis §4.4, §6.2).

    python -m flows.train                                   # params.yaml's train section
    python -m flows.train --conditioning continuous_concat --config 37m \\
        --checkpoint data/models/music_concat/checkpoint.pt  # one Fidelity run (GPU)

Reads data/tokens/ (index.parquet, shards, vocab.json); writes the checkpoint
(`train.checkpoint`, default data/models/music/checkpoint.pt: config + weights + run info),
reports/train_metrics.json (`dvc metrics`), reports/train_loss.csv and .png (`dvc plots`), and
reports/runs/train.json. A killed run resumes from <checkpoint stem>.train_state.pt, saved every
`train.checkpoint_every` steps; raising `train.steps` continues a finished run.
"""

import dataclasses
import os
from pathlib import Path

from prefect import flow

from emsync.core.config import Params
from emsync.pipeline.flowkit import RunReport, run_task
from emsync.training.tokens import require_tokens, tokens_digest


@flow(name="train")
def train_flow(params: Params, reports_dir: str | None = None) -> dict:
    from emsync.tasks.train import train_generator_task

    from emsync.pipeline.stages import stage_digest
    from emsync.core.errors import InputError
    from emsync.training.generator import checkpoint_matches, state_path_for, weights_kind, write_run_reports

    tp = params.train
    report = RunReport("train")
    tokens_dir = params.path(params.tokens.out_dir)
    reports = Path(reports_dir) if reports_dir else params.path(params.paths.reports_dir)
    ckpt = params.path(tp.checkpoint)
    digest = tokens_digest(tokens_dir)
    args = (
        str(tokens_dir),
        digest,
        dataclasses.asdict(tp),
        dataclasses.asdict(params.tokens),
        str(ckpt),
        str(state_path_for(ckpt)),
        stage_digest("train"),
        weights_kind(params),
    )
    result = run_task(train_generator_task, report, *args)
    if not checkpoint_matches(result):  # a cache hit whose checkpoint was deleted or changed: train again
        print(f"train: cached run's checkpoint {ckpt} is missing or changed; training again")
        result = run_task(train_generator_task.with_options(refresh_cache=True), report, *args)
        if not checkpoint_matches(result):
            raise InputError(f"{ckpt}: checkpoint missing or not the one just trained (md5 {result['md5']})")

    metrics = result["metrics"]
    write_run_reports(result["history"], metrics, tp, reports)
    report.write(reports)
    return metrics


def _add_args(ap):
    ap.add_argument("--config", help="override train.config (tiny | 37m | 145m)")
    ap.add_argument("--conditioning", help="override train.conditioning")
    ap.add_argument("--steps", type=int, help="override train.steps")
    ap.add_argument("--device", help="override train.device (auto | cpu | cuda)")
    ap.add_argument("--checkpoint", help="override train.checkpoint (write another model than the DVC out)")
    ap.add_argument("--no-boundaries", action="store_true", help="train without boundary offsets")


def _run(p: Params, args) -> dict | None:
    """The flow with the flags' overrides; under torchrun every rank trains and rank 0 writes."""
    over = {k: getattr(args, k) for k in ("config", "conditioning", "steps", "device", "checkpoint") if getattr(args, k) is not None}
    if args.no_boundaries:
        over["use_boundaries"] = False
    if over:
        p = dataclasses.replace(p, train=dataclasses.replace(p.train, **over))
    require_tokens(p.path(p.tokens.out_dir))  # fail with one clear line before Prefect starts
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return {**train_flow(p), "checkpoint": p.train.checkpoint}
    from emsync.training.generator import train_distributed, weights_kind

    m = train_distributed(
        p.path(p.tokens.out_dir),
        p.path(p.train.checkpoint),
        p.path(p.paths.reports_dir),
        dataclasses.asdict(p.train),
        dataclasses.asdict(p.tokens),
        weights_kind(p),
    )
    return None if m is None else {**m, "checkpoint": p.train.checkpoint}


def _summary(m: dict, p) -> str:
    return (
        f"trained {m['config']}/{m['conditioning']} for {m['steps']} steps on {m['device']}: "
        f"loss {m['first_loss']:.3f} -> {m['final_loss']:.3f}; checkpoint {m['checkpoint']}"
    )


def main(argv=None):
    """`python -m flows.train` and `emsync train` (flags override the train section)."""
    from emsync.pipeline import flowkit

    return flowkit.main("train", run=_run, add_args=_add_args, summary=_summary, argv=argv, description=__doc__.split("\n")[0])


if __name__ == "__main__":
    main()
