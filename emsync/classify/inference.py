"""Classify one video file end to end: sample it, run the pretrained extractors the classifier
needs (§5.2.1), build its inputs (missing modalities masked) and run the trained classifier.

    result = classify_video(params, "clip.mp4", "emotion")   # {"probs": {label: p}, "top", "masked", ...}
"""

import contextlib
import threading
import time
from pathlib import Path

import torch

from emsync.classify.features import TEXT_TABLE, sources, video_features
from emsync.core.errors import InputError
from emsync.core.io import write_bytes


def extractors_for(task: str, inputs=None) -> list:
    """The extractors a classifier with these inputs needs, in dependency order (the sentiment /
    tokens table reads the asr + ocr text)."""
    srcs = sources(task, inputs)
    seq = [m for m, (_, source) in srcs.items() if source is None]
    text = [m for m in ("asr", "ocr") if m in srcs]
    return seq + (["asr", "ocr", TEXT_TABLE[task]] if text else [])


EXTRACTORS = {task: extractors_for(task) for task in TEXT_TABLE}  # the demo set's inputs

# while `shared_extractors()` runs: the extractors loaded so far (emsync.video.extractors.LoadedHandles)
_SHARED = None
_SHARED_DEPTH = 0
_SHARED_GUARD = threading.Lock()


@contextlib.contextmanager
def shared_extractors():
    """Inside, `extract_tables` loads each extractor once and every caller uses that handle (the
    soundtrack stage classifies its videos in concurrent tasks: one OCR load, ~3 s, instead of one
    per video), one call at a time per handle. The handles are dropped when the outermost block ends."""
    from emsync.video.extractors import LoadedHandles

    global _SHARED, _SHARED_DEPTH
    with _SHARED_GUARD:
        _SHARED_DEPTH += 1
        if _SHARED is None:
            _SHARED = LoadedHandles()
    try:
        yield
    finally:
        with _SHARED_GUARD:
            _SHARED_DEPTH -= 1
            if _SHARED_DEPTH == 0:
                _SHARED = None


def save_classifier(path, model, kind: str, extra: dict | None = None):
    """Write {"kind", "config", "state_dict", "extra"} atomically (the config says what it is) and
    byte-reproducibly (torch.save into a buffer, as models/checkpoint.py)."""
    import io

    from emsync.models.classifiers import checkpoint_dict

    buf = io.BytesIO()
    torch.save({**checkpoint_dict(kind, model), "extra": extra or {}}, buf)
    write_bytes(path, buf.getvalue())


def load_classifier(path):
    """(model in eval mode, checkpoint dict) from a classifier checkpoint."""
    from emsync.models.classifiers import from_checkpoint_dict

    p = Path(path)
    if not p.exists():
        raise InputError(f"classifier checkpoint {p} not found (run `dvc repro train_emotion` / `train_genre`)")
    if not p.is_file():  # a FIFO or device would block
        raise InputError(f"{p}: not a regular file (a classifier checkpoint is a file)")
    try:
        ckpt = torch.load(p, map_location="cpu", weights_only=False)
        return from_checkpoint_dict(ckpt), ckpt
    except Exception as e:  # any unreadable file: one line naming it, not a pickle traceback
        raise InputError(f"{p} is not a classifier checkpoint ({e})") from None


def extract_tables(params, video, task: str, device: str = "cpu", handles: dict | None = None, info=None, inputs=None) -> tuple:
    """({table: DataFrame}, has_audio, {extractor: seconds}) for one video file; `handles` may hold
    already loaded extractors by name (the others load from params.features.models); `info` is the
    video's probe when the caller already has it; `inputs` the classifier's modalities (None: the
    demo set's). Emotion samples classify.n_frames equidistant frames (§5.2.2.3: equidistant at
    inference); genre samples as the features stage does (video.frame_mode: the whole trailer at
    1 fps, "all video scenes and the full audio track", §5.2.3.4)."""
    from emsync.video import extractors
    from emsync.video.sampling import sample_video

    video = Path(video)
    if not video.exists():
        raise InputError(f"video {video} not found")
    vp = params.video
    t0 = time.perf_counter()
    if task == "emotion":
        how = dict(n_frames=params.classify.n_frames, mode="equidistant")
    else:
        how = dict(n_frames=vp.n_frames, mode=vp.frame_mode, fps=vp.fps)
    sample = sample_video(video, **how, seed=vp.seed, audio_sr=vp.audio_sr, max_side=vp.max_side, info=info)
    seconds = {"decode": time.perf_counter() - t0}
    tables = {}
    for name in extractors_for(task, inputs):
        t = time.perf_counter()
        mod = extractors.get(name)
        handle, lock, shared = (handles or {}).get(name), contextlib.nullcontext(), _SHARED
        if handle is None:
            ref = extractors.model_ref(name, params.features.models)
            handle, lock = shared.get(mod, name, ref, device) if shared is not None else (mod.load(ref, device), lock)
        deps = {d: tables[d] for d in getattr(mod, "DEPENDS", ())}
        with lock:
            tables[name] = mod.extract(handle, sample, deps) if deps else mod.extract(handle, sample)
        seconds[name] = time.perf_counter() - t
    return tables, sample.audio is not None, seconds


def classify_tables(model, tables: dict, video_id: str, task: str, has_audio: bool = True, n_frames: int = 16, exclude=()) -> dict:
    """Run a loaded classifier on one video's tables: probabilities per label, top label, and the
    modalities that were masked and why (`exclude`: modalities masked on purpose)."""
    from emsync.classify.features import collate, crop

    dims = dict(model.cfg.dims)
    try:
        sources(task, list(dims))
    except InputError as e:
        raise InputError(f"classifier expects modalities {sorted(dims)} that the {task} features do not provide ({e})") from None
    vf = video_features(tables, video_id, task, dims, has_audio=has_audio, exclude=exclude)
    if task == "emotion":
        vf = crop(vf, n_frames)  # §5.2.2.3: n equidistant steps at test time
    else:  # full length (§5.2.3.4), thinned equidistantly only past the model's position tables
        vf = crop(vf, getattr(model.cfg, "max_positions", 0) - 1 if hasattr(model.cfg, "max_positions") else None)
    x, mask = collate([vf], dims)
    with torch.no_grad():
        logits = model(x, mask)[0]
    probs = torch.softmax(logits, -1) if task == "emotion" else torch.sigmoid(logits)
    p = {lab: round(float(v), 6) for lab, v in zip(model.cfg.labels, probs.numpy())}
    return {"video_id": video_id, "probs": p, "top": max(p, key=p.get), "masked": {m: vf.notes[m] for m in sorted(vf.notes)}}


def _inputs_without(dims, exclude) -> list:
    """The modalities to extract: the classifier's, less the excluded pure-audio ones (the asr text
    still feeds the ocr sentiment's extractor, so it is extracted and masked)."""
    return [m for m in dims if m not in exclude or m == "asr"]


def classify_video(params, video, task: str, checkpoint=None, device: str = "cpu", info=None, exclude_audio: bool = False) -> dict:
    """Classify a video file with the trained classifier of `task` ("emotion" or "genre").
    `exclude_audio`: mask every auditory modality (§6.3.1: no data leakage on music videos)."""
    from emsync.classify.features import AUDITORY

    ckpt_path = (
        Path(checkpoint)
        if checkpoint
        else params.path(params.classify.emotion_checkpoint if task == "emotion" else params.classify.genre_checkpoint)
    )
    model, _ = load_classifier(ckpt_path)
    t0 = time.perf_counter()
    exclude = AUDITORY if exclude_audio else ()
    tables, has_audio, seconds = extract_tables(params, video, task, device, info=info, inputs=_inputs_without(model.cfg.dims, exclude))
    t1 = time.perf_counter()
    out = classify_tables(model, tables, Path(video).stem, task, has_audio, params.classify.n_frames, exclude=exclude)
    seconds["classifier"] = time.perf_counter() - t1
    out.update(checkpoint=str(ckpt_path), seconds={k: round(v, 3) for k, v in seconds.items()}, features_s=round(t1 - t0, 3))
    out["excluded"] = sorted(m for m in exclude if m in model.cfg.dims)
    return out


def clip_segment(video, start: float, end: float, out) -> Path:
    """Re-encode [start, end) of `video` into `out` (frame-accurate: the seek happens while
    decoding; picture and sound start at 0), so a segment classifies like a video of its own."""
    import subprocess

    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-y", "-ss", f"{start:.3f}", "-i", str(video), "-t", f"{end - start:.3f}",
           "-map", "0:v:0", "-map", "0:a:0?", "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
           "-c:a", "aac", str(out)]  # fmt: skip
    res = subprocess.run(cmd, capture_output=True, text=True, errors="replace")
    if res.returncode != 0 or not Path(out).exists():
        last = (res.stderr.strip().splitlines() or ["no error output"])[-1]
        raise InputError(f"{video}: ffmpeg could not cut the segment {start:.2f}-{end:.2f} s ({last})")
    return Path(out)


def classify_segments(params, video, task: str, segments, checkpoint=None, device: str = "cpu", exclude_audio: bool = False) -> list:
    """Classify each (start, end) segment of `video` as a video of its own (emotion per scene):
    the segment is cut out with ffmpeg, then sampled and classified exactly like `classify_video`
    (its own n_frames, its own audio); the classifier and the extractors load once."""

    from emsync.video import extractors
    from emsync.video.probe import probe

    ckpt_path = (
        Path(checkpoint)
        if checkpoint
        else params.path(params.classify.emotion_checkpoint if task == "emotion" else params.classify.genre_checkpoint)
    )
    from emsync.classify.features import AUDITORY

    model, _ = load_classifier(ckpt_path)
    exclude = AUDITORY if exclude_audio else ()
    inputs = _inputs_without(model.cfg.dims, exclude)
    handles = {n: extractors.get(n).load(extractors.model_ref(n, params.features.models), device) for n in extractors_for(task, inputs)}
    out = []
    from emsync.core.io import temp_dir

    with temp_dir("emsync-segments-") as d:
        for i, (start, end) in enumerate(segments):
            t0 = time.perf_counter()
            clip = clip_segment(video, start, end, Path(d) / f"segment{i}.mp4")
            tables, has_audio, _ = extract_tables(params, clip, task, device, handles=handles, info=probe(clip), inputs=inputs)
            r = classify_tables(
                model, tables, f"{Path(video).stem}@{start:.2f}", task, has_audio, params.classify.n_frames, exclude=exclude
            )
            out.append({"start": round(float(start), 3), "end": round(float(end), 3), **r, "seconds": round(time.perf_counter() - t0, 3)})
    return out
