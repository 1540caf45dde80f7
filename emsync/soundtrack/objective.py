"""Objective evaluation of scored videos (thesis §6.3.2): one module, one report.

Per (video, condition) of the `soundtrack` stage:
- cut-to-chord distance: for each boundary, the distance (s) to the nearest generated CHORD token;
  the mean over boundaries, and the hit rate = share of boundaries with a CHORD strictly within
  evaluate.hit_tolerance_s (1 s, the |c - b| < ξ test of Algorithm 1). Not in the thesis (its
  §6.4 timing evidence is the user study): this project's metric, labelled so.
- AV-Align (Yariv et al., 2024; thesis §6.3.2), as defined: video peaks = every strict local
  maximum (x[i-1] < x[i] > x[i+1]) of the per-frame mean magnitude of Farnebäck optical flow
  (OpenCV; the trajectory's first entry repeats the second, as in their reference), audio peaks =
  librosa's onsets with its default settings (onset_detect on y loaded at 22,050 Hz), and
  IoU = I / (|A| + |V| - I), I = number of audio peaks with a video peak strictly within w, at
  w = one frame (1/fps) and one second (the thesis's two windows). The thesis names Horn & Schunck
  flow; Farnebäck is the flow Yariv et al.'s reference uses.
  `av_align_filtered` is this project's labelled variant: video peaks need a prominence of 10 % of
  the curve's range (encoder noise on a still picture makes no peak) and peaks closer than w are
  thinned to the strongest, in video and audio alike.
- KL divergence between the music tagger's label distributions (tag probabilities averaged over
  22 s chunks, normalised to sum 1) of the video's original audio P and the generated audio Q:
  KL(P || Q) = Σ p log(p / q) (natural log), the original as the reference distribution; only for
  videos whose original audio exists (the thesis's EmoMV-C videos are music videos; this project
  does not detect music in the original track: every video with an audio stream counts). The
  tagger is features.models.music (the §5.2.1 music tagger, models/audio_tagger.py), not Won et
  al. (2020)'s, whose weights cannot be had offline; the thesis states neither direction nor
  normalisation.
- emotion agreement: the §4.5 V/A regressor (evaluate.regressor_checkpoint) on the generated tokens
  vs the condition: mean L1 (Table 4.2's error), per dimension.
- item seconds per minute of video: each (video, condition) item's wall time scaled to 60 s of
  video, concurrent items, the emotion classifier excluded. It is not the thesis's runtime (one
  one-minute video, model initialisation and classifier included, 1.42 min = 85.2 s on a GPU,
  §6.4): `emsync bench runtime` measures that one.
"""

import math

import numpy as np

THESIS_RUNTIME_S = 85.2  # §6.4: EMSYNC takes 1.42 minutes for a one-minute video, model initialisation included (GPU)
WINDOWS = {"frame": None, "second": 1.0}  # AV-Align windows: one video frame (1/fps) and one second
AUDIO_SR = 22050  # librosa.load's default rate, which Yariv et al.'s AV-Align loads audio at


# --------------------------------------------------------------------------------------------
# cut-to-chord distance


def cut_to_chord(boundaries, chords, tolerance_s: float = 1.0) -> dict:
    """{distances (per boundary, s), mean_distance_s, hit_rate, n_boundaries}; NaN without
    boundaries; a boundary with no chord at all has distance inf (and counts as a miss)."""
    b = np.asarray(boundaries, dtype=np.float64)
    c = np.asarray(chords, dtype=np.float64)
    if len(b) == 0:
        return {"distances": [], "mean_distance_s": math.nan, "hit_rate": math.nan, "n_boundaries": 0}
    d = np.abs(b[:, None] - c[None, :]).min(axis=1) if len(c) else np.full(len(b), np.inf)
    return {
        "distances": [float(x) for x in d],
        "mean_distance_s": float(d.mean()),
        "hit_rate": float((d < tolerance_s).mean()),
        "n_boundaries": int(len(b)),
    }


# --------------------------------------------------------------------------------------------
# AV-Align


def flow_magnitude(frames) -> np.ndarray:
    """Per-frame mean Farnebäck optical-flow magnitude of grey frames ((H, W) uint8 each, any
    iterable, streamed): entry i >= 1 is the motion from frame i-1 to frame i, and entry 0 repeats
    entry 1 (Yariv et al.'s trajectory starts with flow(0, 1)); one frame gives [0]."""
    import cv2

    mags, prev = [], None
    for f in frames:
        if prev is not None:
            flow = cv2.calcOpticalFlowFarneback(prev, f, None, 0.5, 3, 15, 3, 5, 1.2, 0)  # (H, W, 2)
            mags.append(float(np.linalg.norm(flow, axis=2).mean()))
        prev = f
    return np.asarray(mags[:1] + mags if mags else ([0.0] if prev is not None else []), dtype=np.float64)


def grey_frames(video, max_side: int = 160):
    """(fps, iterator of (H, W) uint8 grey frames downscaled to `max_side`, 0 = native size) of
    every frame of `video`, decoded one at a time (a two-hour video is never held in memory)."""
    import cv2

    from emsync.core.errors import InputError

    cap = cv2.VideoCapture(str(video))
    if not cap.isOpened():
        raise InputError(f"{video}: OpenCV cannot open it")
    fps = float(cap.get(cv2.CAP_PROP_FPS)) or 25.0

    def frames():
        try:
            while True:
                ok, img = cap.read()
                if not ok:
                    return
                h, w = img.shape[:2]
                s = min(1.0, max_side / max(h, w)) if max_side else 1.0
                if s < 1.0:
                    img = cv2.resize(img, (max(1, round(w * s)), max(1, round(h * s))), interpolation=cv2.INTER_AREA)
                yield cv2.cvtColor(img, cv2.COLOR_BGR2GRAY)
        finally:
            cap.release()

    return fps, frames()


def read_grey_frames(video, max_side: int = 160) -> tuple[np.ndarray, float]:
    """((T, H, W) uint8 grey frames, fps): `grey_frames` stacked (short clips and tests)."""
    from emsync.core.errors import InputError

    fps, it = grey_frames(video, max_side)
    frames = list(it)
    if not frames:
        raise InputError(f"{video}: no decodable frames")
    return np.stack(frames), fps


def strict_maxima(mags, fps: float) -> np.ndarray:
    """Times (s) of every strict local maximum x[i-1] < x[i] > x[i+1] of the flow magnitude
    (AV-Align's video peaks, Yariv et al. 2024); the first and last frame are never peaks."""
    x = np.asarray(mags, dtype=np.float64)
    if len(x) < 3:
        return np.zeros(0)
    i = np.nonzero((x[1:-1] > x[:-2]) & (x[1:-1] > x[2:]))[0] + 1
    return i / fps


def onsets(y, sr: int) -> np.ndarray:
    """Onset times (s) of mono audio `y` by librosa's onset detector with its default settings
    (AV-Align's audio peaks; Böck & Widmer 2013's maximum filter)."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if len(y) < 512 or not np.any(y):
        return np.zeros(0)
    return librosa.onset.onset_detect(y=y, sr=sr, units="time")


def video_peaks(mags, fps: float, window_s: float) -> np.ndarray:
    """The filtered variant's video peaks: local maxima of the flow magnitude at least `window_s`
    apart (scipy's find_peaks with that distance; prominence >= 10 % of the curve's range, so encoder
    noise on a still picture is no peak)."""
    from scipy.signal import find_peaks

    x = np.asarray(mags, dtype=np.float64)
    span = float(x.max() - x.min()) if len(x) else 0.0
    if span <= 0:
        return np.zeros(0)
    idx, _ = find_peaks(x, distance=max(1, int(round(window_s * fps))), prominence=0.1 * span)
    return idx / fps


def audio_peaks(y, sr: int, window_s: float, hop: int = 512) -> np.ndarray:
    """The filtered variant's audio peaks: librosa onsets at least `window_s` apart (its `wait`)."""
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if len(y) < hop or not np.any(y):
        return np.zeros(0)
    wait = max(1, int(round(window_s * sr / hop)))
    return librosa.onset.onset_detect(y=y, sr=sr, hop_length=hop, units="time", wait=wait, backtrack=False)


def peaks_iou(audio_t, video_t, window_s: float) -> float:
    """AV-Align's IoU: I / (|A| + |V| - I), I = audio peaks with a video peak strictly within
    `window_s` (Yariv et al. 2024); 0 when neither has a peak."""
    a, v = np.asarray(audio_t, dtype=np.float64), np.asarray(video_t, dtype=np.float64)
    if len(a) == 0 or len(v) == 0:
        return 0.0
    inter = int((np.abs(a[:, None] - v[None, :]) < window_s).any(axis=1).sum())
    return inter / (len(a) + len(v) - inter)


def av_align(y, sr: int, mags, fps: float) -> dict:
    """AV-Align as Yariv et al. (2024) define it: {"frame": IoU at a one-frame window, "second": IoU
    at one second} of the onsets of audio `y` vs every strict local maximum of the video's flow."""
    a, v = onsets(y, sr), strict_maxima(mags, fps)
    return {name: peaks_iou(a, v, 1.0 / fps if w is None else w) for name, w in WINDOWS.items()}


def av_align_filtered(y, sr: int, mags, fps: float) -> dict:
    """This project's variant (labelled so): peaks need 10 % prominence and are thinned to one per
    window, in video and audio alike."""
    out = {}
    for name, w in WINDOWS.items():
        w = 1.0 / fps if w is None else w
        out[name] = peaks_iou(audio_peaks(y, sr, w), video_peaks(mags, fps, w), w)
    return out


# --------------------------------------------------------------------------------------------
# KL divergence of tagger label distributions


def tag_distribution(tagger, y) -> np.ndarray:
    """The tagger's tag probabilities averaged over consecutive chunks of its length (the last one
    zero-padded), normalised to sum 1. `y`: mono float audio at the tagger's rate."""
    import torch

    cfg = tagger.config
    n = int(cfg.chunk_s * cfg.sample_rate)
    y = np.asarray(y, dtype=np.float32)
    k = max(1, math.ceil(len(y) / n))
    x = np.zeros((k, n), dtype=np.float32)  # (chunks, samples)
    for i in range(k):
        part = y[i * n : (i + 1) * n]
        x[i, : len(part)] = part
    with torch.inference_mode():
        _, p = tagger(torch.from_numpy(x))  # (chunks, n_classes)
    p = p.double().mean(dim=0).numpy()
    return p / p.sum()


def kl_divergence(p, q, eps: float = 1e-10) -> float:
    """KL(P || Q) = Σ p log(p / q) of two distributions (eps keeps empty bins finite)."""
    p = np.asarray(p, dtype=np.float64) + eps
    q = np.asarray(q, dtype=np.float64) + eps
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


# --------------------------------------------------------------------------------------------
# emotion agreement


def load_regressor(path):
    """The §4.5 V/A regressor in eval mode, or None when `path` does not exist."""
    from pathlib import Path

    from emsync.models import checkpoint
    from emsync.models.emotion_regressor import EmotionRegressor, EmotionRegressorConfig

    if not Path(path).exists():
        return None
    with open(path, "rb") as f:
        model, _ = checkpoint.load(f, lambda cfg: EmotionRegressor(EmotionRegressorConfig.from_dict(cfg)))
    return model.eval()


def emotion_prediction(regressor, ids) -> tuple[float, float]:
    import torch

    from emsync.training.regressor import predict_sequence

    with torch.inference_mode():
        v, a = predict_sequence(regressor, ids)
    return float(v), float(a)


# --------------------------------------------------------------------------------------------
# the report


def item_metrics(params, record: dict, video_motion: dict | None, original_tags, tagger, regressor) -> dict:
    """Every metric of one (video, condition) record."""
    import librosa

    data_root = params.path(params.paths.data_dir)
    c2c = cut_to_chord(record["boundaries"], record["chord_times"], params.evaluate.hit_tolerance_s)
    row = {
        "video_id": record["video_id"],
        "condition": record["condition"],
        "n_boundaries": c2c["n_boundaries"],
        "cut_to_chord_s": c2c["mean_distance_s"],
        "hit_rate": c2c["hit_rate"],
        "seconds_per_minute": float(record["seconds_per_minute"]),
    }
    wav = data_root / record["outputs"]["wav"]
    if video_motion is not None:
        y, _ = librosa.load(wav, sr=AUDIO_SR, mono=True)
        al = av_align(y, AUDIO_SR, video_motion["mags"], video_motion["fps"])
        row["av_align_frame"], row["av_align_second"] = al["frame"], al["second"]
        al = av_align_filtered(y, AUDIO_SR, video_motion["mags"], video_motion["fps"])
        row["av_align_filtered_frame"], row["av_align_filtered_second"] = al["frame"], al["second"]
    if tagger is not None and original_tags is not None:
        q = tag_distribution(tagger, librosa.load(wav, sr=tagger.config.sample_rate, mono=True)[0])
        row["kl"] = kl_divergence(original_tags, q)
    if regressor is not None:
        pv, pa = emotion_prediction(regressor, record["token_ids"])
        row["pred_valence"], row["pred_arousal"] = pv, pa
        row["emotion_l1"] = (abs(pv - record["valence"]) + abs(pa - record["arousal"])) / 2
    return row


ROW_COLUMNS = [
    "video_id", "condition", "n_boundaries", "cut_to_chord_s", "hit_rate", "seconds_per_minute", "av_align_frame",
    "av_align_second", "av_align_filtered_frame", "av_align_filtered_second", "kl", "pred_valence", "pred_arousal",
    "emotion_l1",
]  # fmt: skip
COLUMNS = {  # column -> (title, thesis value or None): a thesis value only where ours is computed the thesis's way
    "cut_to_chord_s": ("cut-to-chord distance (s) ↓", None),
    "hit_rate": ("hit rate within 1 s ↑", None),
    "av_align_frame": ("AV-Align, 1 frame ↑", None),
    "av_align_second": ("AV-Align, 1 s ↑", None),
    "av_align_filtered_frame": ("AV-Align filtered (ours), 1 frame ↑", None),
    "av_align_filtered_second": ("AV-Align filtered (ours), 1 s ↑", None),
    "kl": ("KL(P orig ‖ Q gen), music-tagger tags ↓", None),
    "emotion_l1": ("emotion L1 ↓", None),
    "seconds_per_minute": ("item wall s per video-min (not the thesis's runtime)", None),
}


def summarize(rows, conditions) -> dict:
    """{condition: {metric: mean over videos (NaN-skipping), f"{metric}_n": count}}."""
    import pandas as pd

    df = pd.DataFrame(rows)
    out = {}
    for c in conditions:
        part = df[df["condition"] == c] if len(df) else df
        m = {}
        for col in COLUMNS:
            vals = part[col].dropna() if col in part else pd.Series(dtype=float)
            vals = vals[np.isfinite(vals.astype(float))] if len(vals) else vals
            m[col] = float(vals.mean()) if len(vals) else None
            m[f"{col}_n"] = int(len(vals))
        out[c] = m
    return out


def markdown(summary: dict, notes: list[str], n_videos: int) -> str:
    lines = [
        "# Objective evaluation of the scored videos (thesis §6.3.2)",
        "",
        f"{n_videos} videos; each cell is the mean over videos (n in brackets). The thesis reports no per-condition KL or "
        "AV-Align numbers (its §6.3.2 compares other systems), and its runtime (1.42 min = 85.2 s for one one-minute video, "
        "model initialisation and classifier included, GPU, §6.4) is measured another way than the item seconds here: "
        "`emsync bench runtime` measures it the thesis's way.",
        "",
        "| condition | " + " | ".join(t for t, _ in COLUMNS.values()) + " |",
        "|---|" + "---|" * len(COLUMNS),
    ]
    for c, m in summary.items():
        cells = []
        for col, (_, ref) in COLUMNS.items():
            v = m[col]
            s = "–" if v is None else f"{v:.3f} ({m[col + '_n']})" if v == 0 or abs(v) >= 0.01 else f"{v:.2e} ({m[col + '_n']})"
            if ref is not None:
                s += f" / thesis {ref:.1f}"
            cells.append(s)
        lines.append(f"| {c} | " + " | ".join(cells) + " |")
    lines += ["", "## Notes and deviations", ""] + [f"- {n}" for n in notes] + [""]
    return "\n".join(lines)


def evaluate(params, records, videos: dict, motions: dict | None = None) -> dict:
    """The report of the stage: {"metrics" (dvc metrics JSON), "csv" (per condition, dvc plot),
    "markdown", "rows" (per item)}. `videos`: {video_id: {rel_path, ...}}; `motions`: {video_id:
    {mags, fps}} (flow magnitudes; computed here when not given)."""
    from emsync.soundtrack.batch import resolve_path
    from emsync.video.extractors import music
    from emsync.video.sampling import read_audio

    sp = params.soundtrack
    notes = [
        "cut-to-chord distance and hit rate are this project's metrics (not in the thesis); boundaries are the video's "
        "detected boundaries in every condition, so `no_boundaries` shows what the boundary condition buys.",
        "a video whose music has no CHORD at all has no finite cut-to-chord distance: it is left out of that mean "
        "(the n beside it drops) and counts as misses in the hit rate.",
        "AV-Align as Yariv et al. (2024) define it: every strict local maximum of the mean Farnebäck optical-flow magnitude "
        "(OpenCV; the thesis cites Horn & Schunck) vs librosa's default onsets at 22,050 Hz, IoU = I / (|A| + |V| - I) with "
        "a match strictly within one frame / one second; flow on "
        + (
            f"frames downscaled to {sp.flow_max_side} px (soundtrack.flow_max_side; 0 = native, as the reference)"
            if sp.flow_max_side
            else "frames at their native size"
        )
        + ". The filtered columns are this project's variant: video peaks need 10 % of the curve's range as prominence and "
        "peaks closer than the window are thinned to the strongest, so encoder noise on a still picture is no peak.",
        "KL(P || Q) with P the original audio's and Q the generated music's tag distribution (the music tagger's "
        "probabilities averaged over 22 s chunks and normalised to sum 1, natural log); the thesis uses Won et al. (2020)'s "
        "tagger and states neither direction nor normalisation.",
        "item seconds: each item's wall seconds scaled to one minute of video, model loading (generator, FluidSynth) "
        "included, the emotion classifier not (it runs once per video, shared by the conditions); items run concurrently "
        "on a shared machine and short videos spread the fixed start-up over fewer seconds. Not the thesis's runtime: "
        "`emsync bench runtime` times one 60-s video from a cold start, classifier included.",
    ]
    tagger_ref = params.features.models.get("music")
    tagger = None
    if tagger_ref:
        try:
            tagger = music.load(tagger_ref)["tagger"].model.eval()  # the features stage's music tagger
            if "demo_models" in str(tagger_ref):
                notes.append(
                    f"KL: the music tagger is the demo's random tiny model ({tagger_ref}): the KL numbers exercise the code, not music similarity."
                )
        except Exception as e:  # a missing tagger drops one column, not the report
            notes.append(f"KL: not computed, the music tagger {tagger_ref} did not load ({type(e).__name__}: {e}).")
    else:
        notes.append("KL: not computed, features.models names no music tagger.")
    regressor = load_regressor(params.path(params.evaluate.regressor_checkpoint))
    if regressor is None:
        notes.append(f"emotion agreement: not computed, no regressor at {params.evaluate.regressor_checkpoint} (run `dvc repro evaluate`).")
    motions = dict(motions or {})
    originals = {}
    for vid, v in videos.items():
        path = resolve_path(v["rel_path"])
        if vid not in motions:
            fps, frames = grey_frames(path, sp.flow_max_side)
            motions[vid] = {"mags": flow_magnitude(frames), "fps": fps}
        if tagger is not None:
            y = read_audio(path, sr=tagger.config.sample_rate)
            originals[vid] = tag_distribution(tagger, y) if y is not None and len(y) else None
    rows = [item_metrics(params, r, motions.get(r["video_id"]), originals.get(r["video_id"]), tagger, regressor) for r in records]
    conditions = list(dict.fromkeys(sp.conditions))
    summary = summarize(rows, conditions)
    metrics = {"n_videos": len({r["video_id"] for r in records}), "per_condition": summary}
    csv_lines = ["condition," + ",".join(COLUMNS)]
    for c, m in summary.items():
        csv_lines.append(c + "," + ",".join("" if m[k] is None else f"{m[k]:.6g}" for k in COLUMNS))
    return {"metrics": metrics, "csv": "\n".join(csv_lines) + "\n", "markdown": markdown(summary, notes, metrics["n_videos"]), "rows": rows}


def metrics_png(summary: dict, path) -> None:
    """One bar chart per metric, one bar per condition (reports/soundtrack_metrics.png)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from emsync.core.io import atomic_path

    conds = list(summary)
    fig, axes = plt.subplots(1, len(COLUMNS), figsize=(2.3 * len(COLUMNS), 3.2))
    for ax, (col, (title, ref)) in zip(axes, COLUMNS.items()):
        vals = [summary[c][col] if summary[c][col] is not None else np.nan for c in conds]
        ax.bar(range(len(conds)), vals, color=["C0", "C1", "C2", "C3"][: len(conds)])
        if ref is not None:
            ax.axhline(ref, color="k", ls="--", lw=1, label="thesis")
            ax.legend(fontsize=7)
        ax.set_xticks(range(len(conds)), conds, rotation=45, ha="right", fontsize=7)
        ax.set_title(title, fontsize=8)
    fig.tight_layout()
    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=100, metadata={"Software": None})
    plt.close(fig)
