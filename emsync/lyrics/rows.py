"""One file -> one lyrics row: what `emsync midi lyrics` prints and the `lyrics` stage stores."""

from emsync.lyrics.extract import extract
from emsync.lyrics.language import LANGUAGE, MIN_WORDS, identify, keep_reason


def lyrics_row(path, midi_id: str, min_words: int = MIN_WORDS, language: str = LANGUAGE, limits=None) -> dict:
    """{midi_id, language, language_prob, n_words, text, source, encoding, n_events, n_empty,
    tracks, skipped_tracks, keep, reason}. Raises InputError for a file the MIDI gate rejects
    (`limits`: emsync.music.midi_input.MidiLimits, default the params defaults)."""
    lyr = extract(path, limits)
    lang, prob = identify(lyr.text)
    reason = keep_reason(lang, lyr.n_words, min_words, language)
    return {
        "midi_id": midi_id,
        "language": lang,
        "language_prob": round(prob, 4),
        "n_words": lyr.n_words,
        "text": lyr.text,
        "source": lyr.source,
        "encoding": lyr.encoding,
        "n_events": lyr.n_events,
        "n_empty": lyr.n_empty,
        "tracks": lyr.tracks,
        "skipped_tracks": lyr.skipped_tracks,
        "keep": reason is None,
        "reason": reason,
    }
