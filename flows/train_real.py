"""train_real stage: the generator shipped in the package, trained on the music21 corpus.

    python -m flows.train_real            # what `dvc repro -s -f pipelines/real_music/dvc.yaml:train_real` runs
    python -m flows.train_real --card     # rewrite only the model card (after `emsync bench music_quality`)
    torchrun --standalone --nproc_per_node 2 -m flows.train_real   # the same run on 2 processes (1 thread each)

Reads the corpus tokens (`real_music.out_dir`/tokens, stage corpus_tokens) and reports/corpus.json
(the data card's numbers); trains through the training engine with the `real_music` params
(resumable: <out_dir>/real_train_state.pt), evaluates on the held-out works beside an n-gram
baseline, and writes the checkpoint (`real_music.checkpoint`, package data, float16) with
extra["weights"] = {"kind": "real", ...}, MODEL_CARD.md beside it, and reports/real_music/
(train_metrics.json, train_loss.csv/.png, heldout.json).
"""

import dataclasses
import os

from prefect import flow

from emsync.pipeline.flowkit import RunReport, run_task


def task_args(params) -> tuple:
    """The train_real task's arguments: tokens, their digest, train and tokens params, checkpoint,
    resumable state, how the weights are stored (dtype, provenance) and the code digest."""
    from emsync.core.io import read_json
    from emsync.real_music.training import train_params, weights_info
    from emsync.pipeline.stages import stage_digest
    from emsync.training.tokens import tokens_digest

    rp = params.real_music
    tokens_dir = params.path(rp.out_dir) / "tokens"
    summary = read_json(params.path(params.paths.reports_dir) / "corpus.json")
    store = {"dtype": rp.weights_dtype, "weights": weights_info(summary)}
    tp = train_params(params)
    return (
        str(tokens_dir),
        tokens_digest(tokens_dir),
        dataclasses.asdict(tp),
        dataclasses.asdict(params.tokens),
        str(params.path(rp.checkpoint)),
        str(params.path(rp.out_dir) / "real_train_state.pt"),
        store,
        stage_digest("train_real"),
    )


@flow(name="train_real")
def train_real_flow(params) -> dict:
    from emsync.core.errors import InputError
    from emsync.tasks.train_real import train_real_task
    from emsync.training.generator import checkpoint_matches

    args = task_args(params)
    report = RunReport("train_real")
    result = run_task(train_real_task, report, *args)
    if not checkpoint_matches(result):  # a cache hit whose checkpoint was deleted or changed: train again
        result = run_task(train_real_task.with_options(refresh_cache=True), report, *args)
        if not checkpoint_matches(result):
            raise InputError(f"{args[4]}: checkpoint missing or not the one just trained (md5 {result['md5']})")
    write_reports(params, result)
    report.write(params.path(params.paths.reports_dir))
    return result


def write_reports(params, result: dict) -> None:
    """reports/real_music/ (train_metrics.json, train_loss.csv/.png, heldout.json) and the model card."""
    from emsync.core.io import write_json
    from emsync.real_music.training import train_params
    from emsync.training.generator import write_run_reports

    out = params.path(params.paths.reports_dir) / "real_music"
    write_run_reports(result["history"], result["metrics"], train_params(params), out)
    write_json(out / "heldout.json", result["heldout"])
    write_card(params)


def write_card(params) -> None:
    """MODEL_CARD.md beside the checkpoint, from the reports of the corpus, training and quality runs."""
    from emsync.core.io import write_text
    from emsync.real_music.model_card import model_card

    reports = params.path(params.paths.reports_dir)
    write_text(params.path(params.real_music.checkpoint).with_name("MODEL_CARD.md"), model_card(params, reports))


def _add_args(ap) -> None:
    ap.add_argument("--card", action="store_true", help="only rewrite MODEL_CARD.md from the reports")


def _run(p, args) -> dict | None:
    if args.card:
        write_card(p)
        return None
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1:
        return train_real_flow(p)
    from emsync.real_music.training import train_and_store  # under torchrun: every rank trains, rank 0 stores (no Prefect cache)

    r = train_and_store(*task_args(p)[:-1])
    if r is not None:
        write_reports(p, r)
    return r


def _summary(r: dict, p) -> str:
    h = r["heldout"]
    return f"train_real: {r['metrics']['steps']} steps; held-out NLL {h['nll']:.3f} (best n-gram {min(h['ngram'].values()):.3f}); {r['checkpoint']}"


if __name__ == "__main__":
    from emsync.pipeline import flowkit

    flowkit.main("train_real", run=_run, add_args=_add_args, summary=_summary, description=__doc__.split("\n")[0])
