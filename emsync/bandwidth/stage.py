"""The bandwidth stages' plain steps (thesis Chapter 7); flows/bandwidth.py wires them around
the engine and the cached per-variant test task.

songs (train / val / test, decoded once into the cache) -> [train one variant] ... ->
[test every trained variant] -> reports/bandwidth.md (Table 7.2, validation, Table 7.4),
reports/bandwidth_metrics.json, the Fig. 7.3 curves and the Fig. 7.4/7.5 spectrograms.
"""

import dataclasses
from pathlib import Path

from emsync.core.io import file_digest, write_json, write_text


def songs(params) -> tuple[dict, list]:
    """({split: cached songs}, rejects [{song_id, reason}]) of the configured datasets and folders."""
    from emsync.bandwidth import data as D

    p = params.bandwidth
    found = D.discover(
        dsd100_dir=str(params.path(p.dsd100_dir)) if p.dsd100_dir else "",
        medleydb_dir=str(params.path(p.medleydb_dir)) if p.medleydb_dir else "",
        folders=[str(params.path(f)) for f in p.folders],
        folder_test_songs=p.folder_test_songs,
        val_songs=p.val_songs,
    )
    rejects = []
    cached = D.build_cache(found, params.path(p.cache_dir), p.sample_rate, rejects=rejects)
    return {s: [x for x in cached if x.split == s] for s in ("train", "val", "test")}, rejects


def test_settings(params) -> tuple[dict, str, bool]:
    """(the bandwidth params as the test task takes them, a digest of the VGGish weights that keys
    the cached results, whether those are the demo_models stage's tiny random VGGish)."""
    from emsync.training.engine import fingerprint

    p = params.bandwidth
    bw = dataclasses.asdict(p)
    vggish_digest, vggish_demo = "", False
    if p.vggish_model:  # a folder or a .pth
        bw["vggish_model"] = str(params.path(p.vggish_model))
        vp = Path(bw["vggish_model"])
        files = sorted(f for f in vp.glob("*") if f.is_file()) if vp.is_dir() else [vp] if vp.exists() else []
        vggish_digest = fingerprint(*(file_digest(f) for f in files))
        vggish_demo = (vp / "demo.json").is_file()
    return bw, vggish_digest, vggish_demo


def table_7_4(models: dict) -> dict:
    """{arch: parameters, MACs on 65,536 samples, CPU runtime rate} of the first U-Net / ResNet variant."""
    import torch

    from emsync.bandwidth import evaluate as E

    torch.set_num_threads(max(1, torch.get_num_threads()))
    out = {}
    for arch in ("unet", "resnet"):
        if arch in models:
            m = models[arch]
            out[arch] = {
                "params": sum(q.numel() for q in m.parameters()),
                "macs_65536": E.macs(m),
                "runtime_rate_cpu": E.runtime_rate(m, seconds=1.0),
            }
    return out


def is_thesis_size(p) -> bool:
    return list(p.unet_channels) == [128, 256, 512, 512] and p.unet_bottleneck == 512 and (p.resnet_blocks, p.resnet_channels) == (15, 512)


def report_markdown(p, test: list, results: dict, labels: dict, evals: dict, table4: dict, vggish_demo: bool, weights_md: str) -> str:
    """reports/bandwidth.md: Table 7.2 beside the thesis's, the last validation, Table 7.4, the weights behind them."""
    from emsync.bandwidth import evaluate as E

    sizes = " / ".join(f"{arch} {r['params']:,}" for arch, r in table4.items())
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
            if not is_thesis_size(p)
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
    md.append("\n" + weights_md)
    return "\n".join(md) + "\n"


def write_metrics(path, p, results: dict, evals: dict, table4: dict, vggish_demo: bool) -> dict:
    """reports/bandwidth_metrics.json; returns its per-variant summary (SNR and VGG, seen and unseen)."""
    keys = ("snr", "input_snr", "vgg", "input_vgg")
    summary = {v: {f"{s}_{k}": r[s][k] for s in ("seen", "unseen") for k in keys if k in r[s]} for v, r in results.items()}
    validation = {v: {k: x for k, x in ev[-1].items() if k == "step" or "snr" in k} for v, ev in evals.items() if ev}
    write_json(
        path,
        {
            "demo": not is_thesis_size(p),
            "vggish_demo_weights": vggish_demo,
            "summary": summary,
            "validation": validation,
            "table_7_4": table4,
            "results": results,
        },
    )
    return summary


def plot_spectrograms(p, song, models: dict, labels: dict, path) -> None:
    """Figs. 7.4 / 7.5: 2 s of `song`, low-passed by the seen and the unseen filter, and what the
    ResNet variants (plain and DA) make of each."""
    import numpy as np

    from emsync.bandwidth import evaluate as E
    from emsync.bandwidth import filters as F
    from emsync.bandwidth.infer import enhance

    a = song.audio()
    s0 = min(int(p.val_offset_s * p.sample_rate), max(len(a) - 2 * p.sample_rate, 0))
    target = np.asarray(a[s0 : s0 + 2 * p.sample_rate], np.float64).T / 32768
    panels = {}
    for f in (F.SEEN_TEST_FILTER, F.UNSEEN_FILTER):
        low = F.lowpass(target, f, p.cutoff_hz, p.sample_rate)
        panels[f"input {f}"] = low
        for v in [v for v in ("resnet", "resnet_da") if v in models]:
            panels[f"{labels[v]} {f}"] = enhance(models[v], low, p.eval_chunk)
    E.plot_spectrograms(target, panels, path, p.sample_rate)


def write_report(reports: Path, p, test, results, labels, evals, models, vggish_demo, weights_md: str) -> dict:
    """Every output of the report stage (`weights_md`: the trained variants' weights records); returns the summary."""
    from emsync.bandwidth import evaluate as E

    table4 = table_7_4(models)
    write_text(reports / "bandwidth.md", report_markdown(p, test, results, labels, evals, table4, vggish_demo, weights_md))
    summary = write_metrics(reports / "bandwidth_metrics.json", p, results, evals, table4, vggish_demo)
    E.plot_curves(evals, reports / "bandwidth_curves.png", labels)
    if test:
        plot_spectrograms(p, test[0], models, labels, reports / "bandwidth_spectrograms.png")
    return summary
