"""DistilBERT token features of the ASR and OCR texts, for genre (thesis §5.2.1 "DistilBERT";
§5.2.3.1: a sequence of 768-d vectors, one per (sub)word token, special tokens included).
Rows: one per (video, source, token position)."""

from emsync.video.extractors.base import Handle, frame, vectors, video_texts
from emsync.video.loading import load_pretrained

NAME = "tokens"
COLUMNS = ["video_id", "source", "chunk", "token", "embedding", "model_id", "model_version"]
DEFAULT_MODEL = "distilbert/distilbert-base-uncased"
DEMO_MODEL = "data/demo_models/distilbert"
DEPENDS = ("asr", "ocr")


def load(model_ref: str, device: str = "cpu") -> Handle:
    return Handle({"encoder": load_pretrained(model_ref, "hf_encoder", device)}, device)


def extract(handle: Handle, sample, upstream=None):
    import torch

    m = handle["encoder"]
    rows = []
    for source, text in video_texts(upstream).items():
        enc = m.processor(text, return_tensors="pt", truncation=True).to(handle.device)
        with torch.inference_mode():
            hidden = m.model(**enc).last_hidden_state[0].float().cpu().numpy()  # (T, d)
        toks = m.processor.convert_ids_to_tokens(enc["input_ids"][0].tolist())
        rows += [
            {
                "video_id": sample.video_id,
                "source": source,
                "chunk": i,
                "token": tok,
                "embedding": e,
                "model_id": handle.model_id,
                "model_version": handle.model_version,
            }
            for i, (tok, e) in enumerate(zip(toks, vectors(hidden)))
        ]
    return frame(rows, COLUMNS)
