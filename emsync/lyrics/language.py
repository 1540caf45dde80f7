"""Language of a lyric text with py3langid (the offline model shipped on PyPI), and the §3.2.2
filter: English lyrics with at least 50 words go to the classifier."""

from functools import lru_cache

from emsync.lyrics.extract import words_of

MIN_WORDS = 50  # §3.2.2: "lyrics in the English language with at least 50 words"
LANGUAGE = "en"


@lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_DIR, MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_modelpath(MODEL_DIR / MODEL_FILE, norm_probs=True)


def identify(text: str) -> tuple[str | None, float]:
    """(ISO 639-1 code, probability) of `text`, read in lower case (karaoke lyrics are often all
    capitals, which the character n-gram model was not trained on); (None, 0.0) without words."""
    if not words_of(text):
        return None, 0.0
    lang, prob = _identifier().classify(text.lower())
    return str(lang), float(prob)


def keep_reason(language: str | None, n_words: int, min_words: int = MIN_WORDS, want: str = LANGUAGE) -> str | None:
    """None when the lyrics are kept for classification, else why not."""
    if n_words == 0:
        return "no_lyrics"
    if language != want:
        return "not_english" if want == "en" else f"not_{want}"
    if n_words < min_words:
        return "too_few_words"
    return None
