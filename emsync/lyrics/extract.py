"""Lyrics out of a MIDI file (thesis §3.2.2: "song lyrics from the MIDI files").

MIDI carries lyrics two ways, and this module reads both:

- `lyrics` meta events (FF 05), usually one syllable per melody note;
- soft-karaoke `text` events (FF 01) in .kar files: `@K/@L/@T/@I/@V/@W` header events first,
  then one syllable per event, `\\` starting a paragraph and `/` a line.

A file's text comes from the source with more words. Within a source, tracks are merged in time
order (ticks; type-1 tracks share one tempo map). A track whose syllables fall mostly inside the
stretch an already chosen track covers is a second voice singing the same words (a choir part)
and is left out, so "Hal-le-lu-jah" in four voices is read once.

Syllables become words: an event that carries its own spacing ("Twin" "kle, ") is concatenated
as it is; a file whose events carry no spacing at all ("Twin-" "kle") is read as one word per
event with a trailing hyphen joining to the next. Line marks (`\\`, `/`, CR, LF) become newlines.

Bytes are decoded per event: UTF-16 when the event has a byte-order mark or every other byte is
NUL, UTF-8 when valid, otherwise the file's legacy encoding, chosen once from all its non-UTF-8
bytes: Shift-JIS (cp932) when they decode strictly and read as Japanese, Cyrillic cp1251 when they
are most of the letters (a Latin text has a few accents among ASCII letters) and read as Cyrillic,
cp1252 otherwise (latin-1 for the five bytes cp1252 leaves undefined).
"""

import re
from dataclasses import dataclass, field
from pathlib import Path

import mido

from emsync.core.errors import InputError

HEADER = re.compile(r"^@[A-Z]")  # soft-karaoke header (@KMIDI KARAOKE FILE, @LENGL, @TTitle, ...)
LINE_MARKS = ("\\", "/")
_KANA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff\uff66-\uff9f]")
_LETTER = re.compile(r"[^\W\d_]")
_CP1252_UNDEFINED = {0x81, 0x8D, 0x8F, 0x90, 0x9D}
VOICE_GAP_BEATS = 8  # a gap longer than this (2 bars of 4/4) ends the stretch a track covers


@dataclass
class Lyrics:
    """What one file's lyrics are: `text` (lines joined by newlines) and provenance."""

    text: str = ""
    source: str = "none"  # "lyrics" | "karaoke" | "none"
    encoding: str = "ascii"  # "ascii" | "utf-8" | "utf-16" | "cp1252" | "cp1251" | "cp932" | "mixed:<legacy>"
    n_events: int = 0  # syllable events read (headers and empty events excluded)
    n_empty: int = 0  # lyric/text events with nothing in them
    tracks: list = field(default_factory=list)  # track indices merged
    skipped_tracks: list = field(default_factory=list)  # duplicate voices left out

    @property
    def words(self) -> list:
        return words_of(self.text)

    @property
    def n_words(self) -> int:
        return len(self.words)


def words_of(text: str) -> list:
    """Whitespace tokens that contain a letter ("*", "1997" and "&" are not words)."""
    return [t for t in text.split() if _LETTER.search(t)]


# ---------------------------------------------------------------------------------------------
# decoding


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def _utf16(b: bytes) -> str | None:
    """The text of a UTF-16 event (a byte-order mark, or every other byte NUL), else None."""
    if b[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return b.decode("utf-16", errors="replace")
    if len(b) >= 2 and len(b) % 2 == 0 and b"\0" in b:
        if not any(b[1::2]):
            return b.decode("utf-16-le", errors="replace")
        if not any(b[0::2]):
            return b.decode("utf-16-be", errors="replace")
    return None


def legacy_encoding(raw: list) -> str:
    """The encoding of a file's non-UTF-8 lyric bytes: cp932 (Shift-JIS), cp1251 or cp1252."""
    blob = b"".join(b for b in raw if not _is_utf8(b) and _utf16(b) is None)
    if not blob:
        return "cp1252"
    try:
        text = blob.decode("cp932")
    except UnicodeDecodeError:
        text = ""
    non_ascii = [c for c in text if ord(c) > 127]
    # Latin text misread as Shift-JIS gives stray kanji between ASCII letters; Japanese text is
    # nearly all double-byte characters, kana among them.
    kana = sum(1 for c in non_ascii if _KANA.match(c))
    if non_ascii and kana / len(non_ascii) >= 0.8 and len(non_ascii) * 2 >= len(blob) * 0.5:
        return "cp932"
    # Cyrillic in cp1251: high bytes are most of the letters and read as Cyrillic letters; a Latin
    # text in cp1252 has a few accented letters among ASCII ones
    high = [c for c in blob if c > 127]
    ascii_letters = sum(1 for c in blob if 65 <= c <= 90 or 97 <= c <= 122)
    cyrillic = sum(1 for c in bytes(high).decode("cp1251", errors="replace") if "\u0400" <= c <= "\u04ff")
    return "cp1251" if high and len(high) >= ascii_letters and cyrillic >= 0.9 * len(high) else "cp1252"


def decode(b: bytes, legacy: str) -> str:
    """One event's bytes as text: UTF-16 when it is, UTF-8 when valid, else `legacy`."""
    wide = _utf16(b)
    if wide is not None:
        return wide
    try:
        return b.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if legacy in ("cp932", "cp1251"):
        return b.decode(legacy, errors="replace")
    try:
        return b.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined read as latin-1
        return "".join(chr(c) if c in _CP1252_UNDEFINED else bytes([c]).decode("cp1252") for c in b)


def _encoding_name(raw: list, legacy: str) -> str:
    if raw and all(_utf16(b) is not None for b in raw if b):
        return "utf-16"
    high = [b for b in raw if any(c > 127 for c in b)]
    if not high:
        return "ascii"
    utf = [_is_utf8(b) for b in high]
    if all(utf):
        return "utf-8"
    return legacy if not any(utf) else f"mixed:{legacy}"


# ---------------------------------------------------------------------------------------------
# reading events


def read_events(mid: mido.MidiFile) -> dict:
    """{"lyrics"|"text": {track: [(tick, raw bytes)]}} in track order, headers kept."""
    out = {"lyrics": {}, "text": {}}
    for ti, track in enumerate(mid.tracks):
        tick = 0
        for msg in track:
            tick += msg.time
            if msg.is_meta and msg.type in out:
                # mido decodes meta text as latin-1 (charset below): encoding back gives the bytes
                out[msg.type].setdefault(ti, []).append((tick, msg.text.encode("latin-1")))
    return out


def _is_karaoke_text(events: dict, suffix: str) -> bool:
    """Text events are lyrics in a .kar file or one with soft-karaoke headers or line marks."""
    texts = [b for evs in events.values() for _, b in evs]
    if suffix == ".kar" or any(HEADER.match(b.decode("latin-1")) for b in texts):
        return True
    return sum(1 for b in texts if b[:1] in (b"\\", b"/")) >= 3


def _empty(b: bytes) -> bool:
    """An event with nothing in it (a bare CR/LF is a line break, not empty)."""
    return not b.strip(b" \t\x00")


def _covered(ticks: list, gap: int) -> list:
    """[(start, end)] stretches where consecutive events are at most `gap` ticks apart."""
    spans, start, prev = [], None, None
    for t in sorted(ticks):
        if start is None:
            start = prev = t
        elif t - prev > gap:
            spans.append((start, prev))
            start = prev = t
        else:
            prev = t
    if start is not None:
        spans.append((start, prev))
    return spans


def choose_tracks(per_track: dict, ticks_per_beat: int) -> tuple[list, list]:
    """(merged tracks, skipped duplicate-voice tracks): the track with the most syllables first,
    then every track whose syllables fall mostly outside the stretches already covered."""
    order = sorted(per_track, key=lambda t: (-len(per_track[t]), t))
    chosen, skipped, spans = [], [], []
    gap = VOICE_GAP_BEATS * max(1, ticks_per_beat)
    for t in order:
        ticks = [tk for tk, _ in per_track[t]]
        inside = sum(1 for tk in ticks if any(a <= tk <= b for a, b in spans))
        if chosen and inside > 0.5 * len(ticks):
            skipped.append(t)
            continue
        chosen.append(t)
        spans = _covered([tk for c in chosen for tk, _ in per_track[c]], gap)
    return sorted(chosen), sorted(skipped)


def join_syllables(events: list) -> str:
    """Syllable events (decoded, in time order) -> text with one lyric line per line."""
    has_letters = [e for e in events if _LETTER.search(e)]
    spaced = sum(1 for e in has_letters if e[:1].isspace() or e[-1:].isspace() or e[:1] in LINE_MARKS)
    word_per_event = bool(has_letters) and spaced == 0
    out = []
    for i, e in enumerate(events):
        # marks usually open an event ("/How") but files also close one with them ("are./ ")
        e = e.replace("\r\n", "\n").replace("\r", "\n").replace("\\", "\n\n").replace("/", "\n")
        if word_per_event:
            glue = "" if (not out or out[-1].endswith(("-", "\n")) or e.startswith("\n")) else " "
            if out and out[-1].endswith("-") and _LETTER.search(out[-1][-2:-1] or ""):
                out[-1] = out[-1][:-1]
            out.append(glue + e)
        else:
            nxt = events[i + 1] if i + 1 < len(events) else ""
            # "Hal-" "le-" "lu" "jah": a hyphen glued to a syllable and to the next one joins them
            if len(e) > 1 and e.endswith("-") and _LETTER.match(e[-2]) and nxt[:1].isalpha():
                e = e[:-1]
            out.append(e)
    lines = ["" if not ln.strip() else " ".join(ln.split()) for ln in "".join(out).split("\n")]
    text = "\n".join(lines)
    return re.sub(r"\n{3,}", "\n\n", text).strip("\n")


def _source_text(per_track: dict, ticks_per_beat: int, legacy: str) -> tuple[str, list, list, int]:
    chosen, skipped = choose_tracks(per_track, ticks_per_beat) if per_track else ([], [])
    rank = {t: i for i, t in enumerate(chosen)}
    merged = sorted(((tk, rank[t], j, b) for t in chosen for j, (tk, b) in enumerate(per_track[t])))
    evs = [decode(b, legacy) for *_, b in merged]
    return join_syllables(evs), chosen, skipped, len(evs)


def extract(path, limits=None) -> Lyrics:
    """The lyrics of one MIDI/.kar file. The file passes the project's MIDI gate first
    (emsync.music.midi_input.validate_midi: a regular file within limits.max_midi_mb that the §3.1
    validator accepts); a rejected file raises its MidiInputError (an InputError)."""
    import io

    from emsync.music.midi_input import validate_midi

    data = validate_midi(path, limits)
    try:
        mid = mido.MidiFile(file=io.BytesIO(data), clip=True, charset="latin-1")
    except Exception as e:  # the validator parses with symusic / pretty_midi; mido may still refuse
        raise InputError(f"{path}: not a readable MIDI file ({type(e).__name__}: {e})") from e
    events = read_events(mid)
    raw = [b for kind in events.values() for evs in kind.values() for _, b in evs]
    legacy = legacy_encoding(raw)
    n_empty = sum(1 for b in raw if _empty(b))
    candidates = []
    lyr = {t: [(tk, b) for tk, b in evs if not _empty(b) and not HEADER.match(b.decode("latin-1"))] for t, evs in events["lyrics"].items()}
    candidates.append(("lyrics", {t: v for t, v in lyr.items() if v}))
    if _is_karaoke_text(events["text"], Path(path).suffix.lower()):
        kar = {
            t: [(tk, b) for tk, b in evs if not _empty(b) and not HEADER.match(b.decode("latin-1"))] for t, evs in events["text"].items()
        }
        candidates.append(("karaoke", {t: v for t, v in kar.items() if v}))
    best = Lyrics(n_empty=n_empty, encoding=_encoding_name(raw, legacy))
    for source, per_track in candidates:
        if not per_track:
            continue
        text, chosen, skipped, n = _source_text(per_track, mid.ticks_per_beat, legacy)
        if len(words_of(text)) > best.n_words:
            used = [b for t in chosen for _, b in per_track[t]]
            best = Lyrics(
                text=text,
                source=source,
                encoding=_encoding_name(used, legacy),
                n_events=n,
                n_empty=n_empty,
                tracks=chosen,
                skipped_tracks=skipped,
            )
    return best
