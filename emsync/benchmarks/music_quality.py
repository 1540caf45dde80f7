"""Is it music, and do the conditions work? One table for random weights, the synthetic-demo
model, the shipped real model and the held-out corpus itself (emsync/music/quality.py measures:
scale consistency, pitch-class entropy, notes/s, polyphony, in-key ratio), beside uniformly random
pitch classes; then, for the real model, the major-mode share and notes/s at valence/arousal
+-0.8, and the cut-to-chord distance with and without boundaries on real videos; and the real
model's generation speed.

    emsync bench music_quality                         # 8 samples x 30 s per model, ekman6 videos
    emsync bench music_quality --samples 4 --markdown  # also print the README table

Rows: `random` = the real model's architecture with seeded random weights; `demo` = the train
stage's checkpoint (train.checkpoint; trained on the synthetic demo corpus), skipped when absent;
`real` = pkg:music21-generator; `held-out corpus` = the first `--duration` seconds of every test
work of the corpus tokens (real_music.out_dir/tokens; `dvc repro -f corpus corpus_tokens` makes
them), skipped when absent. Generated samples cycle over the four (+-0.5, +-0.5) emotions, no
boundaries, the params' sampling settings (generate.*), one batch per model.
"""

import math
import time
from pathlib import Path

import numpy as np

METRICS = ("scale_consistency", "pitch_class_entropy", "notes_per_s", "polyphony", "in_key_ratio")
VIDEOS = ("ekman6/sadness.mp4", "ekman6/disgust.mp4", "ekman6/fear.mp4")  # the done-check: three real clips
MONTAGE = ("ekman6/sadness.mp4", "ekman6/joy.mp4", "ekman6/fear.mp4", "ekman6/disgust.mp4", "video/chaplin.mp4")


def add_args(p):
    p.add_argument("--samples", type=int, default=8, help="generated samples per model and per condition")
    p.add_argument("--duration", type=float, default=30.0, help="seconds of music per sample / corpus excerpt")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--videos", nargs="*", default=None, help="videos for the cut-to-chord rows (default: three ekman6 clips)")
    p.add_argument("--skip-videos", action="store_true", help="leave out the cut-to-chord rows")
    p.add_argument("--markdown", action="store_true", help="add the README table as `table_md`")
    p.add_argument("--write", default=None, help="also write the result as JSON here (e.g. reports/real_music/music_quality.json)")


def _mean(rows, key):
    vals = [r[key] for r in rows if r.get(key) is not None and not (isinstance(r[key], float) and math.isnan(r[key]))]
    return round(float(np.mean(vals)), 3) if vals else None


def summarize(pieces: list) -> dict:
    """Mean of each measure over pieces (each a quality.measures dict), and their count."""
    return {
        "pieces": len(pieces),
        **{k: _mean(pieces, k) for k in METRICS},
        "major_share": _mean([{"m": float(p["mode"] == "major")} for p in pieces], "m"),
    }


def generate_pieces(params, checkpoint, conds, duration_s: float, seed: int) -> tuple[list, dict]:
    """Decoded pieces of one batch from `checkpoint` for the Conditions, and the speed of the batch."""
    from emsync.music.generator import run_generator
    from emsync.music import quality
    from emsync.music.tokenizer import decode

    res = run_generator(params, conds, duration_s, seed=seed, checkpoint=checkpoint, progress=False)
    pieces = [quality.measures(quality.from_decoded(decode(t), float(d))) for t, d in zip(res.tokens, res.duration_s)]
    n_tok = sum(len(t) for t in res.tokens)
    return pieces, {
        "tokens": n_tok,
        "seconds": round(res.seconds, 2),
        "tokens_per_s": round(n_tok / max(res.seconds, 1e-9), 1),
        "batch": len(conds),
    }


def corpus_pieces(tokens_dir: Path, duration_s: float) -> list:
    from emsync.music import quality
    from emsync.music.dataset import TokenCorpus
    from emsync.music.tokenizer import decode

    corpus = TokenCorpus(tokens_dir, split="test")
    out = []
    for i in range(len(corpus)):
        n = quality.excerpt(quality.from_decoded(decode(corpus.tokens(i))), duration_s)
        if len(n.pitch):
            out.append(quality.measures(n))
    return out


def random_checkpoint(tmp: Path, seed: int, config: str) -> Path:
    """The real model's architecture (`config`) with seeded random weights, saved as a checkpoint."""
    import torch

    from emsync.music.generator import save_generator
    from emsync.models.music_transformer import MusicTransformer, MusicTransformerConfig

    torch.manual_seed(seed)
    path = tmp / "random.pt"
    save_generator(
        path,
        MusicTransformer(MusicTransformerConfig.from_name(config)).eval(),
        {"weights": {"kind": "random", "source": "bench music_quality", "trained_on": "nothing"}},
    )
    return path


def emotion_rows(params, checkpoint, n: int, duration_s: float, seed: int) -> dict:
    """Major-mode share at valence +-0.8 (arousal 0) and notes/s at arousal +-0.8 (valence 0)."""
    from emsync.models.generation import Condition

    out = {}
    for name, v, a in (("valence -0.8", -0.8, 0.0), ("valence +0.8", 0.8, 0.0), ("arousal -0.8", 0.0, -0.8), ("arousal +0.8", 0.0, 0.8)):
        pieces, _ = generate_pieces(params, checkpoint, [Condition(v, a, ())] * n, duration_s, seed)
        s = summarize(pieces)
        out[name] = {"major_share": s["major_share"], "notes_per_s": s["notes_per_s"], "scale_consistency": s["scale_consistency"]}
    return out


def montage(clips, out: Path) -> Path:
    """The clips back to back (640x360, 25 fps, no audio): real footage whose joins are real scene
    cuts. None of the single real clips here has a cut that survives the 4-s boundary filter, so
    the cut-to-chord rows score this montage (its cuts come from the same FFmpeg scene score)."""
    import subprocess

    args, chain = [], ""
    for i, c in enumerate(clips):
        args += ["-i", str(c)]
        chain += f"[{i}:v]scale=640:360:force_original_aspect_ratio=decrease,pad=640:360:(ow-iw)/2:(oh-ih)/2,fps=25,setsar=1,format=yuv420p[v{i}];"
    graph = chain + "".join(f"[v{i}]" for i in range(len(clips))) + f"concat=n={len(clips)}:v=1:a=0[v]"
    cmd = [
        "ffmpeg",
        "-nostdin",
        "-v",
        "error",
        "-y",
        *args,
        "-filter_complex",
        graph,
        "-map",
        "[v]",
        "-c:v",
        "libx264",
        "-preset",
        "veryfast",
        str(out),
    ]
    subprocess.run(cmd, check=True)
    return out


def cut_rows(params, checkpoint, videos, n: int, seed: int) -> dict:
    """Mean cut-to-chord distance (s) and hit rate over the videos' boundaries, generating with the
    boundaries and without (offset = cap, 'no boundary ahead'), `n` seeds each."""
    from emsync.music.generator import run_generator
    from emsync.models.generation import Condition
    from emsync.music.tokenizer import decode
    from emsync.soundtrack.objective import cut_to_chord
    from emsync.video.cuts import video_cuts

    vp, tol = params.video, params.evaluate.hit_tolerance_s
    res = {"with boundaries": [], "without boundaries": []}
    used = []
    for video in videos:
        cuts = video_cuts(video, vp.scene_threshold, vp.min_boundary_gap_s, vp.cut_method)
        bounds, dur = tuple(cuts["boundaries"]), float(cuts["duration"])
        if not bounds:
            continue
        used.append({"video": Path(video).name, "duration_s": round(dur, 1), "boundaries": len(bounds)})
        for mode, given in (("with boundaries", bounds), ("without boundaries", ())):
            gen = run_generator(params, [Condition(0.0, 0.0, given)] * n, dur, seed=seed, checkpoint=checkpoint, progress=False)
            for t in gen.tokens:
                chords = decode(t).chord_steps * 0.008
                res[mode].append(cut_to_chord(bounds, chords, tol))
    out = {"videos": used}
    for mode, rows in res.items():
        d = [x for r in rows for x in r["distances"] if np.isfinite(x)]
        misses = sum(1 for r in rows for x in r["distances"] if not np.isfinite(x))
        hits = [r["hit_rate"] for r in rows if r["n_boundaries"]]
        out[mode] = {
            "mean_distance_s": round(float(np.mean(d)), 3) if d else None,
            "no_chord_at_all": misses,
            "hit_rate": round(float(np.mean(hits)), 3) if hits else None,
        }
    return out


def soundtrack_rows(params, videos, seed: int) -> dict:
    """`emsync soundtrack` with no flags (the default checkpoint) on each video: the measures of
    the MIDI it writes (the done-check of the shipped model: scale consistency, entropy)."""
    import tempfile

    from emsync.music import quality
    from emsync.soundtrack import SoundtrackRequest, make_soundtrack

    out = {}
    with tempfile.TemporaryDirectory(prefix="emsync-bench-quality-") as tmp:
        for video in videos:
            mid = Path(tmp) / f"{Path(video).stem}.mid"
            req = SoundtrackRequest(video, Path(tmp) / f"{Path(video).stem}.mp4", midi_out=mid, seed=seed, progress=False)
            s = make_soundtrack(params, req)
            m = quality.measures(quality.from_midi(mid))
            out[Path(video).name] = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in m.items()} | {
                "seconds": s["seconds"]["total"],
                "emotion": s.get("emotion_source"),
            }
    return out


def table_md(rows: dict, reference: dict) -> str:
    head = "| music | pieces | scale consistency | pitch-class entropy (bits) | notes/s | polyphony | in-key ratio | major share |"
    lines = [head, "|---|---|---|---|---|---|---|---|"]
    for name, r in rows.items():
        if "skipped" in r:
            lines.append(f"| {name} | skipped: {r['skipped']} | | | | | | |")
            continue
        vals = " | ".join("" if r[k] is None else f"{r[k]:.3f}" if k != "notes_per_s" else f"{r[k]:.1f}" for k in (*METRICS, "major_share"))
        lines.append(f"| {name} | {r['pieces']} | {vals} |")
    sc, ent = reference["scale_consistency_p5_p95"], reference["pitch_class_entropy_p5_p95"]
    lines.append(
        f"| uniform random pitch classes ({reference['n_notes']} notes, 5th-95th pct.) | 2000 | {sc[0]}-{sc[1]} | {ent[0]}-{ent[1]} | | | | |"
    )
    return "\n".join(lines)


def run(args) -> dict:
    import tempfile

    import torch

    from emsync.core.config import load_params_or_defaults, shared_data_dir
    from emsync.models.generation import Condition
    from emsync.music import quality
    from emsync.music.generator import PACKAGE_REF

    params = load_params_or_defaults()
    if params.generate.cpu_threads:
        torch.set_num_threads(params.generate.cpu_threads)
    conds = [Condition(v, a, ()) for v, a in ((0.5, 0.5), (0.5, -0.5), (-0.5, 0.5), (-0.5, -0.5))]
    conds = [conds[i % 4] for i in range(args.samples)]
    rows, speed = {}, {}
    with tempfile.TemporaryDirectory(prefix="emsync-bench-quality-") as tmp:
        models = {"random weights (real architecture)": random_checkpoint(Path(tmp), args.seed, params.real_music.config)}
        demo = params.path(params.train.checkpoint)
        models["synthetic-demo model (train stage)"] = demo if demo.is_file() else None
        models["real model (shipped)"] = PACKAGE_REF
        for name, ckpt in models.items():
            if ckpt is None:
                rows[name] = {"skipped": f"no checkpoint at {params.train.checkpoint} (run `dvc repro train`)"}
                continue
            pieces, speed[name] = generate_pieces(params, ckpt, conds, args.duration, args.seed)
            rows[name] = summarize(pieces)
    tokens_dir = params.path(params.real_music.out_dir) / "tokens"
    if (tokens_dir / "index.parquet").is_file():
        rows["held-out corpus (test works, first 30 s)"] = summarize(corpus_pieces(tokens_dir, args.duration))
    else:
        rows["held-out corpus"] = {"skipped": f"no corpus tokens at {tokens_dir} (`dvc repro -f corpus corpus_tokens`)"}
    real_notes = rows["real model (shipped)"]
    n_ref = max(1, int(round((real_notes["notes_per_s"] or 1) * args.duration)))
    reference = quality.random_pitch_reference(n_ref)
    t0 = time.perf_counter()
    out = {"rows": rows, "random_pitch_classes": reference, "speed": speed}
    out["emotion"] = emotion_rows(params, PACKAGE_REF, args.samples, args.duration, args.seed)
    if not args.skip_videos:
        import tempfile

        shared = shared_data_dir()
        videos = args.videos or [str(shared / v) for v in VIDEOS if (shared / v).exists()]
        with tempfile.TemporaryDirectory(prefix="emsync-bench-montage-") as tmp:
            clips = [shared / c for c in MONTAGE if (shared / c).exists()]
            cut_videos = args.videos or ([str(montage(clips, Path(tmp) / "montage.mp4"))] if clips else [])
            out["cuts"] = cut_rows(params, PACKAGE_REF, cut_videos, args.samples, args.seed)
            out["cuts"]["montage_of"] = [c.name for c in clips] if not args.videos else None
        out["soundtrack_cli"] = soundtrack_rows(params, videos, args.seed)
    out["conditions_seconds"] = round(time.perf_counter() - t0, 1)
    out["threads"] = torch.get_num_threads()
    if args.markdown or args.write:
        out["table_md"] = table_md(rows, reference)
    if args.write:
        from emsync.core.io import write_json

        write_json(args.write, out)
    return out
