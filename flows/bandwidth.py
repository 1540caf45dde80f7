"""bandwidth stages: the §7.2.3 bandwidth-extension variants (thesis Chapter 7).

    python -m flows.bandwidth --variant resnet_da     # train one variant (DVC stage bandwidth_train@resnet_da)
    python -m flows.bandwidth --report                # test every trained variant (DVC stage bandwidth_report)

Training goes through the one engine (emsync/training/engine.py) and resumes from
<out_dir>/<variant>/train_state.pt; it writes <out_dir>/<variant>/checkpoint.pt and loss.csv/.png.
The report writes reports/bandwidth.md (Table 7.2-shaped SNR table beside the thesis's numbers,
Table 7.4 params / MACs / CPU runtime rate), reports/bandwidth_metrics.json, Fig. 7.3-style
validation curves (reports/bandwidth_curves.png) and Fig. 7.4/7.5-style spectrograms
(reports/bandwidth_spectrograms.png).
"""

import dataclasses
from pathlib import Path

from prefect import flow

from emsync.core.config import Params
from emsync.core.errors import InputError
from emsync.pipeline.flowkit import RunReport, run_task
from emsync.bandwidth import stage
from emsync.pipeline.stages import stage_digest


def _songs(params: Params, report: RunReport) -> dict:
    split, rejects = stage.songs(params)
    for r in rejects:
        report.skip(r["song_id"], r["reason"])
    return split


@flow(name="bandwidth_train")
def train_flow(params: Params, variant: str, reports_dir: str | None = None) -> dict:
    from emsync.bandwidth.train import BandwidthTask, engine_config, save_checkpoint
    from emsync.training.engine import train

    p = params.bandwidth
    report = RunReport(f"bandwidth_train_{variant}")
    split = _songs(params, report)
    task = BandwidthTask(variant, p, split["train"], split["val"])
    out = params.path(p.out_dir) / variant
    res = train(
        task, engine_config(p), state_path=out / "train_state.pt", fingerprint=task.fingerprint(), model_config=task.config, log_dir=out
    )
    save_checkpoint(
        out / "checkpoint.pt",
        task.config,
        res.model_state,
        {
            "variant": variant,
            "steps": res.steps,
            "evals": res.evals,
            "final_loss": res.history[-1]["loss"],
            "train_songs": [s.song_id for s in split["train"]],
            "val_songs": [s.song_id for s in split["val"]],
            "weights": _weights_record(params, variant),
        },
    )
    report.write(reports_dir or params.path(params.paths.reports_dir))
    return {"variant": variant, "steps": res.steps, "final_loss": res.history[-1]["loss"], "evals": res.evals}


def _weights_record(params: Params, variant: str) -> dict:
    """demo when every training folder is demo data, else real (DSD100, MedleyDB, real folders)."""
    from emsync.core.provenance import data_kind, weights_record

    p = params.bandwidth
    roots = [params.path(d) for d in (p.dsd100_dir, p.medleydb_dir, *p.folders) if d]
    kind = data_kind(roots, params.path(params.demo_data.out_dir))
    return weights_record(kind, f"bandwidth_train@{variant}", ", ".join(str(d) for d in (p.dsd100_dir, p.medleydb_dir, *p.folders) if d))


@flow(name="bandwidth_report")
def report_flow(params: Params, reports_dir: str | None = None) -> dict:
    from emsync.bandwidth.train import label, load_checkpoint
    from emsync.core.io import file_digest
    from emsync.tasks.bandwidth import evaluate_variant_task
    from emsync.training.engine import fingerprint

    p = params.bandwidth
    reports = Path(reports_dir) if reports_dir else params.path(params.paths.reports_dir)
    report = RunReport("bandwidth_report")
    test = _songs(params, report)["test"]
    songs_digest = fingerprint([(s.song_id, s.samples, s.cache) for s in test])
    bw, vggish_digest, vggish_demo = stage.test_settings(params)
    code = stage_digest("bandwidth")
    labels, results, evals, models = {}, {}, {}, {}
    for v in p.variants:
        ck = params.path(p.out_dir) / v / "checkpoint.pt"
        if not ck.exists():
            report.skip(v, f"{ck} missing: run python -m flows.bandwidth --variant {v}")
            continue
        labels[v] = label(v)
        results[v] = run_task(evaluate_variant_task, report, str(ck), file_digest(ck), test, songs_digest, bw, vggish_digest, code)
        models[v], extra = load_checkpoint(ck)
        evals[v] = extra.get("evals", [])
    if not results:
        raise SystemExit("bandwidth report: no trained variant (run python -m flows.bandwidth --variant NAME)")
    from emsync.core import provenance as P

    weights = P.markdown([P.of_checkpoint(params.path(p.out_dir) / v / "checkpoint.pt", f"bandwidth {labels[v]}") for v in evals])
    summary = stage.write_report(reports, p, test, results, labels, evals, models, vggish_demo, weights)
    report.write(reports)
    return summary


def _add_args(ap):
    ap.add_argument("--variant", help="train this variant (unet, unet_da, ..., resnet_do)")
    ap.add_argument("--report", action="store_true", help="test every trained variant and write the reports")
    ap.add_argument("--steps", type=int, help="override bandwidth.steps")
    ap.add_argument("--device", help="override bandwidth.device")


def _run(p, args) -> dict:
    over = {k: v for k, v in {"steps": args.steps, "device": args.device}.items() if v is not None}
    if over:
        p = dataclasses.replace(p, bandwidth=dataclasses.replace(p.bandwidth, **over))
    if args.report:
        return {"report": report_flow(p)}
    if not args.variant:
        raise InputError("give --variant NAME or --report")
    return {"trained": train_flow(p, args.variant)}


def _summary(r: dict, p) -> str:
    if "report" in r:
        return "\n".join(
            f"{v}: seen {s['seen_snr']:.2f} dB (input {s['seen_input_snr']:.2f}), unseen {s['unseen_snr']:.2f} dB (input {s['unseen_input_snr']:.2f})"
            for v, s in r["report"].items()
        )
    m = r["trained"]
    return f"trained {m['variant']} for {m['steps']} steps: final loss {m['final_loss']:.3g}; {m['evals'][-1] if m['evals'] else ''}"


def main(argv=None):
    """`python -m flows.bandwidth --variant NAME | --report`."""
    from emsync.pipeline import flowkit

    return flowkit.main(
        "bandwidth_report",
        run=_run,
        add_args=_add_args,
        stages=lambda a: ["bandwidth_report"] if a.report else [f"bandwidth_train@{a.variant}"],
        summary=_summary,
        argv=argv,
        description=__doc__.split("\n")[0],
    )


if __name__ == "__main__":
    main()
