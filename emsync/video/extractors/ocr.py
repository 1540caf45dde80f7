"""On-screen text per frame (thesis §5.2.1 "OCR", "Language identification and translation",
"Spell correction"; §5.2.2.1):

1. PP-OCR text detection + recognition on each sampled frame (PaddleOCR's PP-OCRv4 models, run by
   rapidocr-onnxruntime, whose wheel ships the real weights: `pkg:rapidocr`);
2. language identification of each frame's text (thesis: XLM-RoBERTa language detector; demo: the
   py3langid model shipped on PyPI);
3. non-English text -> NLLB-200 translation to English;
   English text -> SymSpell word segmentation (spaces restored), then T5 spell correction.

A role whose model is "none" is skipped and the skip is recorded in the row's `steps`
(e.g. `spell:skipped(no model)`), so the demo never pretends to have run a model it lacks.
Every frame gives one row (empty text when nothing is read)."""

import re

import numpy as np

from emsync.video.extractors.base import Handle, frame, merge_refs
from emsync.video.loading import load_pretrained

NAME = "ocr"
COLUMNS = ["video_id", "t", "raw_text", "language", "text", "steps", "model_id", "model_version"]
DEFAULT_MODEL = {
    "ocr": "pkg:rapidocr",  # PaddleOCR PP-OCRv4 det/rec/cls, the model family the thesis used
    "langid": "papluca/xlm-roberta-base-language-detection",
    "segmenter": "pkg:symspell",
    "spell": "ai-forever/T5-large-spell",
    "translate": "facebook/nllb-200-distilled-600M",
}
DEMO_MODEL = {"ocr": "pkg:rapidocr", "langid": "pkg:py3langid", "segmenter": "pkg:symspell", "spell": "none", "translate": "none"}
DEPENDS = ()
KINDS = {"ocr": "ocr", "langid": "langid", "segmenter": "segmenter", "spell": "hf_seq2seq", "translate": "hf_seq2seq"}
_RUNS = re.compile(r"[^\W\d_]+|\d+|[^\w]+|_+")  # letter runs | digit runs | other
# Short or garbled OCR strings get unreliable language guesses; below this probability the text
# is treated as English (the language of the downstream text models) instead of "translated".
LANGID_MIN_PROB = 0.5
MIN_SCORE = 0.5  # drop recognised lines below this confidence
SPELL_PREFIX = "grammar: "  # the input prefix ai-forever/T5-large-spell was trained with
# ISO 639-1 (language id output) -> NLLB-200 source codes for the most common languages
NLLB_CODES = {
    "ar": "arb_Arab",
    "bg": "bul_Cyrl",
    "cs": "ces_Latn",
    "da": "dan_Latn",
    "de": "deu_Latn",
    "el": "ell_Grek",
    "es": "spa_Latn",
    "fi": "fin_Latn",
    "fr": "fra_Latn",
    "hi": "hin_Deva",
    "hu": "hun_Latn",
    "id": "ind_Latn",
    "it": "ita_Latn",
    "ja": "jpn_Jpan",
    "ko": "kor_Hang",
    "nl": "nld_Latn",
    "no": "nob_Latn",
    "pl": "pol_Latn",
    "pt": "por_Latn",
    "ro": "ron_Latn",
    "ru": "rus_Cyrl",
    "sv": "swe_Latn",
    "th": "tha_Thai",
    "tr": "tur_Latn",
    "uk": "ukr_Cyrl",
    "vi": "vie_Latn",
    "zh": "zho_Hans",
    "sw": "swh_Latn",
    "ur": "urd_Arab",
}


def load(model_ref, device: str = "cpu") -> Handle:
    refs = merge_refs(DEFAULT_MODEL, model_ref)
    models = {role: None if str(ref).lower() in ("none", "") else load_pretrained(ref, KINDS[role], device) for role, ref in refs.items()}
    if models["ocr"] is None:
        raise ValueError("the OCR model itself cannot be 'none'")
    return Handle(models, device)


def read_text(handle: Handle, image: np.ndarray) -> str:
    """OCR one RGB frame: recognised lines in reading order (top to bottom, left to right)."""
    result, _ = handle["ocr"].model(np.ascontiguousarray(image[..., ::-1]), use_cls=False)  # BGR; upright text (PaddleOCR default)
    lines = [(np.asarray(box, float), str(txt)) for box, txt, score in (result or []) if float(score) >= MIN_SCORE]
    lines.sort(key=lambda bt: (round(bt[0][:, 1].min() / 10), bt[0][:, 0].min()))
    return " ".join(txt.strip() for _, txt in lines if txt.strip())


def identify(handle: Handle, text: str) -> tuple[str, float]:
    """(ISO 639-1 language, probability) of one text block."""
    m = handle["langid"]
    if m is None:
        return "en", 1.0
    if m.kind == "langid":
        lang, prob = m.model.classify(text)
        return lang, float(prob)
    import torch

    enc = m.processor(text, return_tensors="pt", truncation=True).to(handle.device)
    with torch.inference_mode():
        probs = m.model(**enc).logits[0].float().softmax(-1)
    return m.model.config.id2label[int(probs.argmax())], float(probs.max())


def segment(handle: Handle, text: str) -> str:
    """SymSpell word segmentation of English OCR text (§5.2.1): every run of 4+ letters that is not
    a dictionary word is split into words, allowing one typo per word ("MyHolidays" -> "My
    Holidays", "Hooliday" -> "Holiday"); digits and punctuation are kept as they are, set apart
    from the letters they were glued to. Case is kept for words SymSpell leaves unchanged and
    for a capitalised first letter."""
    sym = handle["segmenter"].model
    out = []
    for tok in text.split():
        pieces = []
        for run in _RUNS.findall(tok):
            if run.isalpha() and len(run) > 3 and not run.isupper() and run.lower() not in sym.words:  # acronyms kept
                seg = sym.word_segmentation(run, max_edit_distance=1).corrected_string
                run = seg[:1].upper() + seg[1:] if run[0].isupper() else seg
            if pieces and (pieces[-1][-1:].isalpha() and run[:1].isdigit() or pieces[-1][-1:].isdigit() and run[:1].isalpha()):
                pieces.append(" ")
            pieces.append(run)
        out.append("".join(pieces))
    return " ".join(out)


def _generate(m, text: str, device, **kw) -> str:
    import torch

    enc = m.processor(text, return_tensors="pt", truncation=True).to(device)
    with torch.inference_mode():
        out = m.model.generate(**enc, max_new_tokens=2 * enc["input_ids"].shape[1] + 8, num_beams=1, **kw)
    return m.processor.decode(out[0], skip_special_tokens=True).strip()


def postprocess(handle: Handle, text: str) -> tuple[str, str, list]:
    """(language, final English text, steps) for one frame's raw OCR text (§5.2.1)."""
    if not text:
        return None, "", []
    lang, prob = identify(handle, text)
    steps = [f"langid={lang}" + ("" if handle["langid"] is not None else "(assumed)")]
    if lang != "en" and prob < LANGID_MIN_PROB:
        steps[0] += f"({prob:.2f}<{LANGID_MIN_PROB}:as en)"
        lang = "en"
    if lang != "en":
        m = handle["translate"]
        if m is None:
            return lang, text, steps + ["translate:skipped(no model)"]
        if lang not in NLLB_CODES:
            return lang, text, steps + [f"translate:skipped(no NLLB code for {lang})"]
        m.processor.src_lang = NLLB_CODES[lang]
        text = _generate(m, text, handle.device, forced_bos_token_id=m.processor.convert_tokens_to_ids("eng_Latn"))
        return lang, text, steps + ["translate"]
    if handle["segmenter"] is not None:
        text = segment(handle, text)
        steps.append("segment")
    else:
        steps.append("segment:skipped(no model)")
    if handle["spell"] is not None:
        text = _generate(handle["spell"], SPELL_PREFIX + text, handle.device)
        steps.append("spell")
    else:
        steps.append("spell:skipped(no model)")
    return lang, text, steps


def extract(handle: Handle, sample, upstream=None):
    rows = []
    for t, image in zip(sample.frame_times, sample.frames):
        raw = read_text(handle, image)
        lang, text, steps = postprocess(handle, raw)
        rows.append(
            {
                "video_id": sample.video_id,
                "t": float(t),
                "raw_text": raw,
                "language": lang,
                "text": text,
                "steps": ",".join(["ocr"] + steps),
                "model_id": handle.model_id,
                "model_version": handle.model_version,
            }
        )
    return frame(rows, COLUMNS)
