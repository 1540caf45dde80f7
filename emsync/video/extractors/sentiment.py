"""Text sentiment features of the ASR and OCR texts (thesis §5.2.1 "Text sentiment classifier";
§5.2.2.1: the two texts are fed separately, one vector each).

A RoBERTa classifier trained on TweetEval sentiment (cardiffnlp/twitter-roberta-base-sentiment);
the feature is the activation entering its final layer (768-d for the real model). `pkg:vader`
(VADER lexicon, real weights on PyPI; the demo set's model) is a lightweight stand-in that gives
the 4-d [neg, neu, pos, compound] scores instead. Rows: one per (video, source in asr/ocr)."""

import numpy as np

from emsync.video.extractors.base import Handle, frame, penultimate, vectors, video_texts
from emsync.video.loading import load_pretrained

NAME = "sentiment"
COLUMNS = ["video_id", "source", "text", "embedding", "label", "model_id", "model_version"]
DEFAULT_MODEL = "cardiffnlp/twitter-roberta-base-sentiment"
DEMO_MODEL = "pkg:vader"  # real packaged lexicon (the demo set's features hold real values)
DEPENDS = ("asr", "ocr")
VADER_KEYS = ("neg", "neu", "pos", "compound")


def load(model_ref: str, device: str = "cpu") -> Handle:
    return Handle({"sentiment": load_pretrained(model_ref, "hf_sequence_classifier", device)}, device)


def encode(handle: Handle, texts: list[str]) -> tuple[np.ndarray, list[str]]:
    """Texts -> (features (n, d), predicted labels)."""
    m = handle["sentiment"]
    if m.kind == "hf_sequence_classifier" and m.processor is None:  # pkg:vader
        scores = [m.model.polarity_scores(t) for t in texts]
        labels = ["positive" if s["compound"] >= 0.05 else "negative" if s["compound"] <= -0.05 else "neutral" for s in scores]
        return np.array([[s[k] for k in VADER_KEYS] for s in scores], np.float32).reshape(-1, 4), labels
    enc = m.processor(texts, return_tensors="pt", padding=True, truncation=True).to(handle.device)
    feats, logits = penultimate(m.model, **enc)  # (n, d), (n, n_labels)
    labels = [str(m.model.config.id2label[int(i)]) for i in logits.argmax(-1).tolist()]
    return feats.cpu().numpy(), labels


def extract(handle: Handle, sample, upstream=None):
    texts = video_texts(upstream)
    feats, labels = encode(handle, list(texts.values()))
    rows = [
        {
            "video_id": sample.video_id,
            "source": src,
            "text": txt,
            "embedding": e,
            "label": lab,
            "model_id": handle.model_id,
            "model_version": handle.model_version,
        }
        for (src, txt), e, lab in zip(texts.items(), vectors(feats), labels)
    ]
    return frame(rows, COLUMNS)
