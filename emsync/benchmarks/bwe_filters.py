"""Single- vs multi-filter ResNet (thesis §7.6, Table 7.2's "ResNet" and "ResNet DA" rows) on real
audio: train both through the one engine, test on whole songs with the seen (Chebyshev-1 6) and
the unseen (Butterworth-6) filter, print a Table 7.2-shaped table and whether the thesis finding
holds (single-filter ResNet falls below the input SNR on the unseen filter; multi-filter training
lifts it above). A GPU run; the command in docs/bandwidth.md:

    emsync bench bwe_filters --device cuda --size reduced --steps 20000 \\
        --audio ../shared/data/audio data/demo/audio --out data/bench/bwe_filters

Each folder's last song is a test song, the rest train (validation: the last training song).
`--size thesis` is the §7.1.2 ResNet (15 x 512, 55.1M); `reduced` keeps the 15 blocks at 128
channels (3.5M); `tiny` is the demo width (CPU smoke run). Training resumes from --out.
"""

import dataclasses
import tempfile
import time
from pathlib import Path

SIZES = {"tiny": (2, 16), "reduced": (15, 128), "thesis": (15, 512)}  # resnet (blocks, channels)


def add_args(p):
    p.add_argument("--device", default="auto", help="auto | cpu | cuda")
    p.add_argument("--size", default="reduced", choices=sorted(SIZES), help="ResNet size (see above)")
    p.add_argument("--steps", type=int, default=20000, help="optimizer steps per variant (thesis: until convergence)")
    p.add_argument("--crop", type=int, default=8192, help="training crop, samples (§7.5: 8192)")
    p.add_argument("--batch", type=int, default=8, help="batch size (§7.5: 8)")
    p.add_argument("--lr", type=float, default=5e-4, help="Adam lr (§7.5: 5e-4)")
    p.add_argument("--eval-every", type=int, default=2500, help="validation interval, steps (§7.4.3: 2500)")
    p.add_argument("--audio", nargs="+", default=["../shared/data/audio", "data/demo/audio"], help="folders of songs")
    p.add_argument("--out", default="", help="folder for the resumable training states (default: a temporary one)")
    p.add_argument("--identity-init", type=int, default=1, help="1: output conv starts at zero (our default); 0: random")


def finding(rows: dict) -> dict:
    """Thesis Table 7.2: ResNet unseen ΔSNR -5.41, ResNet DA +1.78."""
    single = rows["resnet"]["unseen"]["snr"] - rows["resnet"]["unseen"]["input_snr"]
    multi = rows["resnet_da"]["unseen"]["snr"] - rows["resnet_da"]["unseen"]["input_snr"]
    return {
        "single_unseen_delta": round(single, 2),
        "multi_unseen_delta": round(multi, 2),
        "single_below_input": single < 0,
        "multi_above_input": multi > 0,
        "holds": single < 0 < multi,
    }


def table(rows: dict) -> str:
    from emsync.bandwidth.evaluate import THESIS_TABLE_7_2
    from emsync.bandwidth.train import label

    lines = ["| filter | model | SNR | ΔSNR | thesis SNR | thesis ΔSNR |", "|---|---|---|---|---|---|"]
    for setting in ("seen", "unseen"):
        inp = rows["resnet"][setting]["input_snr"]
        lines.append(f"| {setting} | Input | {inp:.2f} | | {THESIS_TABLE_7_2[(setting, 'Input')][0]:.2f} | |")
        for v, r in rows.items():
            t = THESIS_TABLE_7_2[(setting, label(v))]
            d = r[setting]["snr"] - r[setting]["input_snr"]
            lines.append(f"| {setting} | {label(v)} | {r[setting]['snr']:.2f} | {d:+.2f} | {t[0]:.2f} | {t[1]:+.2f} |")
    return "\n".join(lines)


def run(args) -> dict:
    import torch

    from emsync.bandwidth import data as D
    from emsync.bandwidth import filters as F
    from emsync.bandwidth.evaluate import evaluate_songs
    from emsync.bandwidth.train import BandwidthTask, engine_config
    from emsync.core.config import BandwidthParams
    from emsync.training.engine import resolve_device, train

    device = resolve_device(args.device)
    blocks, channels = SIZES[args.size]
    p = dataclasses.replace(
        BandwidthParams(),
        resnet_blocks=blocks,
        resnet_channels=channels,
        crop=args.crop,
        batch_size=args.batch,
        lr=args.lr,
        steps=args.steps,
        eval_every=args.eval_every,
        checkpoint_every=args.eval_every,
        plateau_every=args.eval_every,
        identity_init=bool(args.identity_init),
        device=str(device),
    )
    if args.out:  # resumable states go there: never into a project folder or over a checkpoint of another run
        from emsync.core.io import check_output_dir

        check_output_dir("--out", args.out, ["cache/.probe", "resnet/train_state.pt", "resnet_da/train_state.pt"])
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(args.out or tmp)
        songs = D.build_cache(D.discover(folders=args.audio, folder_test_songs=1, val_songs=1), out / "cache")
        split = {s: [x for x in songs if x.split == s] for s in ("train", "val", "test")}
        rows, runs = {}, {}
        for v in ("resnet", "resnet_da"):
            t = time.perf_counter()
            task = BandwidthTask(v, p, split["train"], split["val"])
            res = train(
                task, engine_config(p), state_path=out / v / "train_state.pt", fingerprint=task.fingerprint(), model_config=task.config
            )
            model = task.build_model()
            model.load_state_dict(res.model_state)
            model.to(device).eval()
            rows[v] = {
                s: evaluate_songs(model, split["test"], f, p.cutoff_hz, p.sample_rate, p.eval_chunk)
                for s, f in (("seen", F.SEEN_TEST_FILTER), ("unseen", F.UNSEEN_FILTER))
            }
            runs[v] = {
                "steps": res.steps,
                "seconds": round(time.perf_counter() - t, 1),
                "last_validation": res.evals[-1] if res.evals else {},
            }
    print(table(rows))
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "size": args.size,
        "params": sum(q.numel() for q in model.parameters()),
        "songs": {s: [x.song_id for x in v] for s, v in split.items()},
        "runs": runs,
        "test": {v: {s: {k: round(r[s][k], 2) for k in ("snr", "input_snr")} for s in r} for v, r in rows.items()},
        "thesis_finding": finding(rows),
    }
