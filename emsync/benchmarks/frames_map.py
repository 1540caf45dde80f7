"""Fig. 5.8 (thesis §5.2.3.4): number of frames vs. test mAP with CLIP features only, for the MLP
(frames averaged over time, as MovieNet's baseline) and a transformer classifier (the
multi-transformer on one modality, i.e. a standard transformer classifier over the frames).

For each frame count N, every video keeps N of its CLIP rows drawn at random positions (seeded; all
rows when it has fewer), the same rows in training and test; both models train through the one
engine with the project's classify params and are scored on the test split. The thesis's claim:
mAP rises with N, and the transformer's lead over the MLP grows with N. Prints one JSON object with
the table (also as markdown) and whether each curve rises.

    emsync bench frames_map                                   # demo: params.yaml, data/features/clip
    emsync bench frames_map --frames 2 4 8 16 --steps 150     # CPU demo (the demo tables hold one frame per second)
    emsync params use thesis && dvc repro features_clip train_genre   # MovieNet CLIP tables; then on a GPU:
    emsync bench frames_map --device cuda --frames 8 16 32 64 128 256

At full scale the CLIP tables must hold >= 256 frames per trailer: the thesis set's 1-fps tables hold
one per second (at most video.n_frames = 600), so a trailer shorter than 256 s has fewer; for the
figure's 256-frame point raise the rate (features.sampling.clip: {mode: fps, fps: 2.0}).
"""

import dataclasses

import numpy as np


def add_args(p):
    p.add_argument("--frames", nargs="*", type=int, default=[8, 16, 32, 64, 128, 256], help="frame counts N")
    p.add_argument("--features-dir", default=None, help="feature tables (default: classify.features_dir)")
    p.add_argument("--params", default=None, help="params file (default: params.yaml)")
    p.add_argument("--steps", type=int, default=None, help="optimizer steps per model (default: classify.steps)")
    p.add_argument("--device", default=None, help="cpu | cuda (default: classify.device)")
    p.add_argument("--seed", type=int, default=0, help="seed of the frame draws")


def keep_frames(data, n: int, seed: int):
    """A copy of ClassifierData whose every video keeps n clip rows at random sorted positions."""
    from emsync.classify.features import VideoFeatures, select_steps

    items = []
    for k, it in enumerate(data.items):
        rng = np.random.default_rng([seed, n, k])
        idx = select_steps(len(it.x["clip"]), n, rng)
        items.append(VideoFeatures(it.video_id, {"clip": it.x["clip"][idx]}, {"clip": it.valid["clip"][idx]}, it.notes))
    return dataclasses.replace(data, items=items)


def run(args) -> dict:
    from emsync.core import env

    env.apply_defaults()
    from emsync.classify.stage import build_dataset, evaluate, genre_labels, make_task, train_classifier
    from emsync.core.config import load_params
    from emsync.core.errors import InputError
    from emsync.models.classifiers import from_checkpoint_dict

    p = load_params(args.params)
    c = p.classify
    over = {k: v for k, v in {"steps": args.steps, "device": args.device}.items() if v is not None}
    c = dataclasses.replace(c, **over)
    features = p.path(args.features_dir or c.features_dir)
    labels = genre_labels(p)
    data, skips = build_dataset("genre", labels, features, p.path(p.features.videos_dir), inputs=["clip"])
    if not len(data.index("test")) or not len(data.index("train")):
        raise InputError(f"{features}: no CLIP tables for both the train and the test split ({len(skips)} videos skipped)")
    models = {
        "mlp": dict(c.genre_models.get("mlp") or {}),
        "transformer": {**(c.genre_models.get("multi_transformer") or {}), "averaged": []},
    }
    kinds = {"mlp": "mlp", "transformer": "multi_transformer"}
    rows = []
    for n in args.frames:
        d = keep_frames(data, n, args.seed)
        row = {"frames": n, "mean_frames_used": round(float(np.mean([len(it.x["clip"]) for it in d.items])), 2)}
        for name, cfg in models.items():
            model = from_checkpoint_dict(train_classifier(kinds[name], d, c, cfg))
            _, m = evaluate(make_task(kinds[name], d, c, {}), model, splits=("test",))
            row[f"{name}_map"] = round(m["test"]["map"], 4)
        rows.append(row)

    def rises(key):
        vals = [r[key] for r in rows]
        return bool(all(b >= a for a, b in zip(vals, vals[1:])))

    md = ["| frames | frames used (mean) | MLP mAP (%) | transformer mAP (%) |", "|---|---|---|---|"]
    md += [f"| {r['frames']} | {r['mean_frames_used']} | {100 * r['mlp_map']:.2f} | {100 * r['transformer_map']:.2f} |" for r in rows]
    return {
        "figure": "thesis Fig. 5.8: frames vs. mAP, CLIP features only",
        "features_dir": str(features),
        "videos": {s: int(len(data.index(s))) for s in ("train", "val", "test")},
        "steps": c.steps,
        "device": c.device,
        "rows": rows,
        "mlp_rises_with_frames": rises("mlp_map"),
        "transformer_rises_with_frames": rises("transformer_map"),
        "transformer_minus_mlp": [round(r["transformer_map"] - r["mlp_map"], 4) for r in rows],
        "markdown": "\n".join(md),
    }
