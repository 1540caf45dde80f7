"""Pilot runs that chose the size of the shipped real generator (docs/real_music.md).

    # one size per process (run them side by side; each uses `--threads` torch threads)
    python scripts/real_music_pilot.py run --config real-m --cpu-per-step 7.0 --budget 900 --every 150 --out /tmp/pilot-real-m.json
    # the curves of several runs: a PNG and a markdown table
    python scripts/real_music_pilot.py report /tmp/pilot-real-*.json --png reports/real_music/pilot.png --md reports/real_music/pilot.md

Each run is the start of the full run that size would get: it trains through the training engine
exactly as the `train_real` stage does (the `real_music` params, the corpus tokens,
continuous-concat emotion + boundary offsets) with the model config swapped and the step count
that fits 7,200 CPU-seconds at `--cpu-per-step` (the learning rate switching at 75 % of it), and
stops after `--budget` CPU-seconds; every `--every` CPU-seconds it records the held-out NLL on a
fixed set of test chunks (emsync/real_music/pilot.py). Its resumable state (`--state`) lets the
chosen size go on to the full run (`real_music.steps`) without starting over.
"""

import argparse
import dataclasses
import json
import sys
from pathlib import Path


def run(args) -> None:
    import torch

    from emsync.core.config import load_params
    from emsync.music import vocab
    from emsync.real_music.sampling import WorkChunkBatches
    from emsync.training.generator import build_training
    from emsync.training.loop import train_loop
    from emsync.real_music.pilot import BudgetSpent, CpuProbe, heldout_chunks
    from emsync.training.tokens import tokens_digest

    torch.set_num_threads(args.threads)
    p = load_params(args.params)
    rp = p.real_music
    tokens_dir = p.path(rp.out_dir) / "tokens"
    steps = int(args.total_cpu / args.cpu_per_step)
    train = real_train_params(p, config=args.config, steps=steps, lr_switch_step=int(0.75 * steps), checkpoint_every=10)
    run = build_training(tokens_dir, tokens_digest(tokens_dir), dataclasses.asdict(train), dataclasses.asdict(p.tokens), WorkChunkBatches)
    chunks = heldout_chunks(tokens_dir, run.seq_len, p.tokens.max_boundary_offset_s, args.chunks)
    probe = CpuProbe(run.model, chunks, args.budget, args.every, stop_every=train.checkpoint_every)
    try:
        train_loop(
            run.model,
            run.make_batch,
            run.loop,
            pad_id=vocab.PAD,
            chord_id=vocab.CHORD,
            on_step=probe,
            progress=False,
            state_path=args.state,
            run_fingerprint=run.fingerprint,
            model_config=run.cfg.to_dict(),
        )
    except BudgetSpent as e:
        print(f"{args.config}: {e}", file=sys.stderr)
    out = {
        "config": args.config,
        "n_params": run.model.num_parameters(),
        "threads": args.threads,
        "batch_size": train.batch_size,
        "full_run_steps": steps,
        "lr_switch_step": train.lr_switch_step,
        "seq_len": run.seq_len,
        "heldout_chunks": len(chunks),
        "points": probe.points,
    }
    Path(args.out).write_text(json.dumps(out, indent=1))
    if args.state and probe.points:
        from emsync.real_music.training import add_cpu

        last = probe.points[-1]
        add_cpu(args.state, {"session": f"pilot {args.config}", "steps": [0, last["step"]], "ranks": 1, "cpu_s": last["cpu_s"]})


def real_train_params(p, **over):
    """TrainParams of the real generator from the `real_music` section (emsync/real_music/training.py)."""
    from emsync.real_music.training import train_params

    return train_params(p, **over)


def report(args) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    runs = [json.loads(Path(f).read_text()) for f in args.runs]
    fig, ax = plt.subplots(figsize=(6, 4))
    lines = ["| config | parameters | CPU-s | steps | CPU-s / step | held-out NLL |", "|---|---|---|---|---|---|"]
    for r in runs:
        pts = r["points"]
        ax.plot([q["cpu_s"] for q in pts], [q["nll"] for q in pts], marker=".", label=f"{r['config']} ({r['n_params'] / 1e6:.1f}M)")
        for q in pts:
            per = q["cpu_s"] / q["step"] if q["step"] else float("nan")
            lines.append(f"| {r['config']} | {r['n_params']:,} | {q['cpu_s']:.0f} | {q['step']} | {per:.2f} | {q['nll']:.3f} |")
    lines += ["", "Power-law fit NLL = a + b * cpu^-c over each curve (points past 100 CPU-s), read at the full budget:", ""]
    for r in runs:
        lines.append(f"- {r['config']}: {extrapolate(r['points'], args.total_cpu)}")
    ax.set_xlabel("training CPU-seconds (process time)")
    ax.set_ylabel("held-out NLL (nats/token)")
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    Path(args.png).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(args.png, dpi=120)
    Path(args.md).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def extrapolate(points, at: float) -> str:
    """The fitted curve's NLL at `at` CPU-seconds (a rough guide: three parameters, a few points)."""
    import numpy as np
    from scipy.optimize import curve_fit

    x = np.array([q["cpu_s"] for q in points if q["cpu_s"] > 100])
    y = np.array([q["nll"] for q in points if q["cpu_s"] > 100])
    if len(x) < 4:
        return "too few points"
    try:
        (a, b, c), _ = curve_fit(
            lambda t, a, b, c: a + b * t ** (-c), x, y, p0=(1.0, 30.0, 0.5), bounds=([0, 0, 0], [10, 1e5, 3]), maxfev=20000
        )
    except RuntimeError:
        return "no fit"
    return f"{a + b * at ** (-c):.2f} nats/token at {at:.0f} CPU-s (a = {a:.2f})"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run")
    r.add_argument("--config", required=True, help="a models/music_transformer.py configs name (real-s | real-m | real-l)")
    r.add_argument("--budget", type=float, default=900.0, help="training CPU-seconds of the pilot")
    r.add_argument(
        "--cpu-per-step", type=float, required=True, help="measured CPU-seconds per step of this size (sets the full run's step count)"
    )
    r.add_argument("--total-cpu", type=float, default=7200.0, help="the full run's budget: 60 min x 2 cores")
    r.add_argument("--state", default=None, help="resumable state file (the chosen size continues from it)")
    r.add_argument("--every", type=float, default=100.0, help="CPU-seconds between held-out evaluations")
    r.add_argument("--chunks", type=int, default=64, help="held-out chunks evaluated (spread over the test split)")
    r.add_argument("--threads", type=int, default=1)
    r.add_argument("--params")
    r.add_argument("--out", required=True)
    g = sub.add_parser("report")
    g.add_argument("runs", nargs="+")
    g.add_argument("--png", required=True)
    g.add_argument("--md", required=True)
    g.add_argument("--total-cpu", type=float, default=7200.0, help="where to read the fitted curves")
    args = ap.parse_args(argv)
    run(args) if args.cmd == "run" else report(args)


if __name__ == "__main__":
    from emsync.core import env

    env.apply_defaults()
    main()
