"""Testing (§7.4.2), Table 7.2 / 7.4, Figs. 7.3-7.5 for the bandwidth-extension variants.

    row = evaluate_songs(model, test_songs, "butter_6")      # {"snr", "input_snr", "songs": [...]}
    macs(model, 65536)                                        # multiply-accumulates of one pass
    runtime_rate(model, seconds=2.0)                          # seconds of compute per second of audio

Each test song is low-passed whole (zero-phase, as in training), enhanced in chunks with context
(equal to one pass, infer.py), and scored by eq. 7.1 over the whole stereo song; the mean over
songs is reported (§7.4.2). With `bandwidth.vggish_model` set (a VGGish folder or .pth,
vggish.py) the VGG distance (eq. 7.2) columns are added; the demo set points it at a tiny random
VGGish (demo_models stage), whose distances exercise the code path but mean nothing perceptually.
"""

from __future__ import annotations

import copy
import time

import numpy as np
import torch

from emsync.bandwidth import filters as F
from emsync.bandwidth.infer import SnrAccumulator, enhance

# Table 7.2 (thesis): (filter setting, experiment) -> (SNR, ΔSNR, VGG distance, -ΔVGG)
THESIS_TABLE_7_2 = {
    ("seen", "Input"): (27.86, None, 46.55, None),
    ("seen", "U-Net"): (30.34, 2.47, 41.04, 5.51),
    ("seen", "U-Net DA"): (29.78, 1.91, 44.29, 2.26),
    ("seen", "U-Net BN"): (30.90, 3.03, 41.52, 5.03),
    ("seen", "U-Net DO"): (30.49, 2.62, 41.51, 5.04),
    ("seen", "ResNet"): (34.94, 7.08, 39.02, 7.53),
    ("seen", "ResNet DA"): (30.48, 2.62, 40.11, 6.43),
    ("seen", "ResNet BN"): (34.37, 6.50, 39.41, 7.14),
    ("seen", "ResNet DO"): (35.27, 7.41, 37.23, 9.32),
    ("unseen", "Input"): (27.37, None, 47.11, None),
    ("unseen", "U-Net"): (28.55, 1.18, 41.90, 5.21),
    ("unseen", "U-Net DA"): (29.00, 1.63, 44.80, 2.31),
    ("unseen", "U-Net BN"): (28.77, 1.40, 42.06, 5.06),
    ("unseen", "U-Net DO"): (28.62, 1.24, 42.34, 4.78),
    ("unseen", "ResNet"): (21.96, -5.41, 47.12, -0.01),
    ("unseen", "ResNet DA"): (29.16, 1.78, 40.52, 6.59),
    ("unseen", "ResNet BN"): (23.23, -4.14, 46.38, 0.73),
    ("unseen", "ResNet DO"): (22.10, -5.27, 46.15, 0.96),
}
THESIS_TABLE_7_4 = {"unet": (56.4e6, 415.3e9, 0.14), "resnet": (55.1e6, 3609.4e9, 1.06)}  # params, MACs, runtime rate (1080 Ti)
MACS_SAMPLES = 65536  # Table 7.4's MACs match one pass over 65,536 stereo samples (ResNet: 3608G by our count)


def evaluate_songs(
    model, songs, filter_name: str, cutoff_hz=11025.0, sample_rate=44100, chunk=1 << 17, vggish=None, references=None
) -> dict:
    """Mean over songs of the whole-song SNR (and, given a VggishEmbedder, the VGG distance) of the
    output and of the band-limited input. `references`: a dict the caller keeps across the variants
    it evaluates on the same songs, filter, cut-off and embedder: the VGGish embeddings of each song
    and of its band-limited input are the same for every variant, so they are computed once."""
    rows = []
    for s in songs:
        full = np.asarray(s.audio(), np.float64).T / 32768  # (2, n)
        if not np.any(full):
            rows.append({"song_id": s.song_id, "skipped": "silent song: SNR undefined"})
            continue
        low = F.lowpass(full, filter_name, cutoff_hz, sample_rate)
        out, inp = SnrAccumulator(), SnrAccumulator()
        y = enhance(model, low, chunk)
        out.add(full, y)
        inp.add(full, low)
        row = {"song_id": s.song_id, "snr": out.value(), "input_snr": inp.value()}
        if vggish is not None:
            from emsync.bandwidth.vggish import embedding_distance

            refs = references if references is not None else {}
            key = (s.song_id, filter_name)
            if key not in refs:
                refs[key] = (vggish(full), vggish(low))
            e_full, e_low = refs[key]
            row.update(vgg=embedding_distance(e_full, vggish(y)), input_vgg=embedding_distance(e_full, e_low))
        rows.append(row)
    ok = [r for r in rows if "snr" in r]
    keys = ("snr", "input_snr", "vgg", "input_vgg") if vggish is not None else ("snr", "input_snr")
    return {"filter": filter_name, **{k: float(np.mean([r[k] for r in ok])) if ok else float("nan") for k in keys}, "songs": rows}


def macs(model, samples: int = MACS_SAMPLES) -> int:
    """Multiply-accumulates of one forward pass over (1, 2, samples): every Conv1d's
    out_channels x in_channels/groups x kernel per output sample (biases, BN, ReLU not counted)."""
    total = [0]

    def hook(m, inp, out):
        total[0] += out.shape[-1] * m.out_channels * (m.in_channels // m.groups) * m.kernel_size[0]

    meta = copy.deepcopy(model).to("meta")  # shapes only: no memory, no compute
    hs = [m.register_forward_hook(hook) for m in meta.modules() if isinstance(m, torch.nn.Conv1d)]
    with torch.no_grad():
        meta(torch.zeros(1, 2, samples, device="meta"))
    for h in hs:
        h.remove()
    return total[0]


def runtime_rate(model, seconds: float = 1.0, device="cpu", repeats: int = 2, sample_rate=44100) -> float:
    """Wall seconds of a no-grad forward pass per second of stereo audio (Table 7.4), best of `repeats`."""
    x = torch.randn(1, 2, int(seconds * sample_rate), device=device) * 0.1
    model = model.to(device).eval()
    best = float("inf")
    with torch.no_grad():
        model(x[..., :4096])  # warm-up
        for _ in range(repeats):
            if device != "cpu":
                torch.cuda.synchronize()
            t = time.perf_counter()
            model(x)
            if device != "cpu":
                torch.cuda.synchronize()
            best = min(best, time.perf_counter() - t)
    return best / seconds


def _num(x, fmt=".2f") -> str:
    return "" if x is None else format(x, fmt)


def table_7_2(results: dict, labels: dict) -> str:
    """Markdown shaped like Table 7.2: results[variant][setting] = evaluate_songs row; the thesis's
    values beside ours (VGG columns when every row has a VGG distance)."""
    vgg = all("vgg" in r[s] for r in results.values() for s in r)
    head = "| Filter | Experiment | SNR (dB) | ΔSNR | thesis SNR | thesis ΔSNR |"
    if vgg:
        head += " VGG | -ΔVGG | thesis VGG | thesis -ΔVGG |"
    lines = [head, "|" + "---|" * (head.count("|") - 1)]
    none = (None, None, None, None)
    for setting, fname in (("seen", f"{F.SEEN_TEST_FILTER} (seen filter)"), ("unseen", f"{F.UNSEEN_FILTER} (unseen filter)")):
        rows = [r[setting] for r in results.values() if setting in r]
        if not rows:
            continue
        inp = float(np.mean([r["input_snr"] for r in rows]))
        t = THESIS_TABLE_7_2[(setting, "Input")]
        line = f"| {fname} | Input | {inp:.2f} | | {_num(t[0])} | |"
        if vgg:
            line += f" {float(np.mean([r['input_vgg'] for r in rows])):.2f} | | {_num(t[2])} | |"
        lines.append(line)
        for v, r in results.items():
            if setting not in r:
                continue
            t = THESIS_TABLE_7_2.get((setting, labels[v]), none)
            row = r[setting]
            line = f"| | {labels[v]} | {row['snr']:.2f} | {row['snr'] - row['input_snr']:+.2f} | {_num(t[0])} | {_num(t[1], '+.2f')} |"
            if vgg:
                line += f" {row['vgg']:.2f} | {row['input_vgg'] - row['vgg']:+.2f} | {_num(t[2])} | {_num(t[3], '+.2f')} |"
            lines.append(line)
    return "\n".join(lines) + "\n"


def plot_curves(evals: dict, path, labels: dict):
    """Fig. 7.3: validation SNR against training step, seen and unseen, input SNR dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emsync.core.io import atomic_path

    fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), sharey=True)
    for ax, setting in zip(axes, ("seen", "unseen")):
        for i, (v, rows) in enumerate(evals.items()):
            pts = [(e["step"], e[f"snr_{setting}"]) for e in rows if f"snr_{setting}" in e]
            if not pts:
                continue
            line = ax.plot(*zip(*pts), marker="o", ms=3, lw=1, label=labels[v], color=f"C{i}")[0]
            ax.axhline(rows[-1][f"input_snr_{setting}"], ls="--", lw=0.8, color=line.get_color())
        ax.set_title(f"validation, {setting} filter(s)")
        ax.set_xlabel("iteration")
    axes[0].set_ylabel("SNR (dB)")
    axes[1].legend(fontsize=7)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=100)
    plt.close(fig)


def plot_spectrograms(target, panels: dict, path, sample_rate=44100):
    """Figs. 7.4 / 7.5: log spectrograms (mono mix) of the target and each panel, and each panel's
    absolute difference from the target."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from scipy import signal

    from emsync.core.io import atomic_path

    def spec(x):
        _, _, s = signal.stft(np.mean(x, axis=0), fs=sample_rate, nperseg=1024)
        return 20 * np.log10(np.abs(s) + 1e-6)

    ref = spec(target)
    names = list(panels)
    fig, axes = plt.subplots(2, len(names) + 1, figsize=(3 * (len(names) + 1), 5), squeeze=False)
    ext = [0, target.shape[1] / sample_rate, 0, sample_rate / 2000]
    axes[0, 0].imshow(ref, origin="lower", aspect="auto", extent=ext, vmin=-100, vmax=0)
    axes[0, 0].set_title("target", fontsize=8)
    axes[1, 0].axis("off")
    for j, n in enumerate(names, 1):
        s = spec(panels[n])
        axes[0, j].imshow(s, origin="lower", aspect="auto", extent=ext, vmin=-100, vmax=0)
        axes[0, j].set_title(n, fontsize=8)
        axes[1, j].imshow(np.abs(s - ref), origin="lower", aspect="auto", extent=ext, vmin=0, vmax=40, cmap="gray_r")
        axes[1, j].set_title(f"|{n} - target|", fontsize=8)
    for ax in axes.flat:
        ax.tick_params(labelsize=6)
    axes[0, 0].set_ylabel("kHz", fontsize=7)
    fig.tight_layout()
    with atomic_path(path, suffix=".png") as tmp:
        fig.savefig(tmp, format="png", dpi=90)
    plt.close(fig)
