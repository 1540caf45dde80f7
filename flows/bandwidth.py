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

from emsync.config import Params
from emsync.errors import InputError
from emsync.flowkit import RunReport, run_task
from emsync.stages import stage_digest


def _songs(params: Params, report: RunReport):
    from emsync.bandwidth import data as D

    p = params.bandwidth
    songs = D.discover(
        dsd100_dir=str(params.path(p.dsd100_dir)) if p.dsd100_dir else "",
        medleydb_dir=str(params.path(p.medleydb_dir)) if p.medleydb_dir else "",
        folders=[str(params.path(f)) for f in p.folders],
        folder_test_songs=p.folder_test_songs,
        val_songs=p.val_songs,
    )
    rejects = []
    cached = D.build_cache(songs, params.path(p.cache_dir), p.sample_rate, rejects=rejects)
    for r in rejects:
        report.skip(r["song_id"], r["reason"])
    return {s: [x for x in cached if x.split == s] for s in ("train", "val", "test")}


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
    from emsync.provenance import data_kind, weights_record

    p = params.bandwidth
    roots = [params.path(d) for d in (p.dsd100_dir, p.medleydb_dir, *p.folders) if d]
    kind = data_kind(roots, params.path(params.demo_data.out_dir))
    return weights_record(kind, f"bandwidth_train@{variant}", ", ".join(str(d) for d in (p.dsd100_dir, p.medleydb_dir, *p.folders) if d))


@flow(name="bandwidth_report")
def report_flow(params: Params, reports_dir: str | None = None) -> dict:
    import torch

    from emsync.bandwidth import evaluate as E
    from emsync.bandwidth import filters as F
    from emsync.bandwidth.infer import enhance
    from emsync.bandwidth.train import label, load_checkpoint
    from emsync.io import file_digest, write_json, write_text
    from emsync.tasks.bandwidth import evaluate_variant_task
    from emsync.training.engine import fingerprint

    p = params.bandwidth
    reports = Path(reports_dir) if reports_dir else params.path(params.paths.reports_dir)
    report = RunReport("bandwidth_report")
    test = _songs(params, report)["test"]
    songs_digest = fingerprint([(s.song_id, s.samples, s.cache) for s in test])
    code = stage_digest("bandwidth")
    labels, results, evals, models, table4 = {}, {}, {}, {}, {}
    bw = dataclasses.asdict(p)
    vggish_digest, vggish_demo = "", False
    if p.vggish_model:  # a folder or a .pth; the digest keys the cached test results on the weights
        bw["vggish_model"] = str(params.path(p.vggish_model))
        vp = Path(bw["vggish_model"])
        files = sorted(f for f in vp.glob("*") if f.is_file()) if vp.is_dir() else [vp] if vp.exists() else []
        vggish_digest = fingerprint(*(file_digest(f) for f in files))
        vggish_demo = (vp / "demo.json").is_file()  # the demo_models stage's tiny random VGGish
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
    torch.set_num_threads(max(1, torch.get_num_threads()))
    for arch in ("unet", "resnet"):
        if arch in models:
            m = models[arch]
            table4[arch] = {
                "params": sum(q.numel() for q in m.parameters()),
                "macs_65536": E.macs(m),
                "runtime_rate_cpu": E.runtime_rate(m, seconds=1.0),
            }
    sizes = " / ".join(f"{arch} {r['params']:,}" for arch, r in table4.items())
    thesis_size = (
        list(p.unet_channels) == [128, 256, 512, 512] and p.unet_bottleneck == 512 and (p.resnet_blocks, p.resnet_channels) == (15, 512)
    )
    vgg_note = (
        "not computed (bandwidth.vggish_model is empty)"
        if not p.vggish_model
        else "**demo weights**: a tiny random VGGish (demo_models stage); its distances exercise eq. 7.2 but carry no perceptual meaning"
        if vggish_demo
        else f"VGGish weights from {p.vggish_model}"
    )
    md = [
        "# Bandwidth extension (thesis Chapter 7)",
        "",
        (
            f"**Demo numbers, not thesis numbers**: models of {sizes} parameters (thesis 56.4M / 55.1M), {p.steps} steps of {p.crop}-sample crops (thesis: until convergence, 8192) "
            f"on {len(test)} test song(s) of the configured folders (thesis: DSD100 test, 50 songs)."
            if not thesis_size
            else f"Thesis-size models, {p.steps} steps of {p.crop}-sample crops."
        ),
        "The thesis columns are its Table 7.2 (DSD100 test, full-size models, trained to convergence on a GPU).",
        "",
        f"Test songs: {len(test)} ({', '.join(s.song_id for s in test)}); whole-song stereo SNR (eq. 7.1), mean over songs.",
        f"ΔSNR = output - input; -ΔVGG = input VGG distance - output VGG distance. VGG distance (eq. 7.2): {vgg_note}.",
        "",
        E.table_7_2(results, labels),
        "## Validation at the last evaluation (§7.4.3, Fig. 7.3's end points)",
        "",
        f"Mean SNR over the validation excerpts ({p.val_duration_s:g} s from second {p.val_offset_s:g}); seen = the variant's training filter(s).",
        "",
        "| variant | steps | seen SNR | seen input | unseen SNR | unseen input |",
        "|---|---|---|---|---|---|",
        *(
            f"| {labels[v]} | {ev[-1]['step']} | {ev[-1]['snr_seen']:.2f} | {ev[-1]['input_snr_seen']:.2f} | "
            f"{ev[-1]['snr_unseen']:.2f} | {ev[-1]['input_snr_unseen']:.2f} |"
            for v, ev in evals.items()
            if ev and "snr_seen" in ev[-1]
        ),
        "",
        "## Table 7.4 (this machine, CPU; thesis runtime on a GTX 1080 Ti)",
        "",
        "| model | parameters | MACs (65,536 samples) | runtime rate (CPU) | thesis params / MACs / rate |",
        "|---|---|---|---|---|",
    ]
    for arch, r in table4.items():
        t = E.THESIS_TABLE_7_4[arch]
        md.append(
            f"| {arch} | {r['params'] / 1e6:.2f}M | {r['macs_65536'] / 1e9:.2f}G | {r['runtime_rate_cpu']:.3f} | "
            f"{t[0] / 1e6:.1f}M / {t[1] / 1e9:.1f}G / {t[2]} |"
        )
    from emsync import provenance as P

    md.append("\n" + P.markdown([P.of_checkpoint(params.path(p.out_dir) / v / "checkpoint.pt", f"bandwidth {labels[v]}") for v in evals]))
    write_text(reports / "bandwidth.md", "\n".join(md) + "\n")
    keys = ("snr", "input_snr", "vgg", "input_vgg")
    summary = {v: {f"{s}_{k}": r[s][k] for s in ("seen", "unseen") for k in keys if k in r[s]} for v, r in results.items()}
    validation = {v: {k: x for k, x in ev[-1].items() if k == "step" or "snr" in k} for v, ev in evals.items() if ev}
    write_json(
        reports / "bandwidth_metrics.json",
        {
            "demo": not thesis_size,
            "vggish_demo_weights": vggish_demo,
            "summary": summary,
            "validation": validation,
            "table_7_4": table4,
            "results": results,
        },
    )
    E.plot_curves(evals, reports / "bandwidth_curves.png", labels)
    if test:  # Figs. 7.4 / 7.5 on 2 s of the first test song
        a = test[0].audio()
        s0 = min(int(p.val_offset_s * p.sample_rate), max(len(a) - 2 * p.sample_rate, 0))
        import numpy as np

        target = np.asarray(a[s0 : s0 + 2 * p.sample_rate], np.float64).T / 32768
        panels = {}
        for f in (F.SEEN_TEST_FILTER, F.UNSEEN_FILTER):
            low = F.lowpass(target, f, p.cutoff_hz, p.sample_rate)
            panels[f"input {f}"] = low
            for v in [v for v in ("resnet", "resnet_da") if v in models]:
                panels[f"{labels[v]} {f}"] = enhance(models[v], low, p.eval_chunk)
        E.plot_spectrograms(target, panels, reports / "bandwidth_spectrograms.png", p.sample_rate)
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
    from emsync import flowkit

    return flowkit.main("bandwidth", run=_run, add_args=_add_args, summary=_summary, argv=argv, description=__doc__.split("\n")[0])


if __name__ == "__main__":
    main()
