"""Seeded synthetic songs for the demo corpus: keys, chord progressions, bass lines, drum
patterns, melodies, lyrics, and *strong chords* at known places.

A strong chord (§4.1) is >= 3 simultaneous guitar or piano notes lasting >= 2 beats. To keep the
ground truth unambiguous for any detector, the generator obeys a few rules:

- only the chord part (a piano or guitar program) ever sounds >= 3 notes together;
- planted strong chords start on a bar line and last >= 3 beats (never close to the threshold);
- distractors are either 3-4 note stabs of 1 beat or 2-note dyads lasting a bar;
- every other pitched part except the bass plays notes of <= 1.5 beats (strings: <= 2 notes at
  once) and never starts a note on a chord-part event tick, so merging tracks per instrument
  family cannot create a chord that is not in the ground truth;
- tempo changes happen on even bar lines and no chord spans one.

Everything is integer ticks; seconds come from the tempo map (`Song.seconds`).
"""

from dataclasses import dataclass, field

import numpy as np

# GM programs per LPD-5 family (§4.1) plus "odd" programs outside them.
PIANO = [0, 1, 2, 4, 5, 6]
GUITAR = [24, 25, 26, 27, 29, 30]
BASS = [32, 33, 34, 35, 38]
STRINGS = [40, 41, 48, 49, 50]
ODD = [11, 16, 19, 21, 56, 61, 65, 71, 73, 80, 81, 89, 104, 114]

MAJOR = [0, 2, 4, 5, 7, 9, 11]
MINOR = [0, 2, 3, 5, 7, 8, 10]
# progressions as scale degrees (0 = I)
PROGRESSIONS = [
    [0, 4, 5, 3],  # I V vi IV
    [0, 5, 3, 4],  # I vi IV V
    [5, 3, 0, 4],  # vi IV I V
    [0, 3, 4, 4],  # I IV V V
    [1, 4, 0, 0],  # ii V I I
    [0, 6, 5, 4],  # i VII VI V (minor feel)
]

# Lyrics written for the demo (not from any song). One word or syllable per melody note.
LYRICS = {
    "en": [
        "the city lights are fading slow",
        "I walk along the river road",
        "and every step I take tonight",
        "brings me closer to the morning light",
        "hold my hand and sing with me",
        "we are young and we are free",
        "the summer rain will wash away",
        "the heavy words we could not say",
    ],
    "de": [
        "die lichter der stadt gehen langsam aus",
        "ich gehe allein den fluss entlang",
        "und jeder schritt in dieser nacht",
        "bringt mich naeher an den morgen",
    ],
    "es": [
        "las luces de la ciudad se apagan",
        "camino solo junto al rio",
        "y cada paso que doy esta noche",
        "me acerca a la luz del dia",
    ],
    "pt": [
        "as luzes da cidade vao se apagando",
        "eu caminho sozinho pelo rio",
        "e cada passo que eu dou esta noite",
        "me leva mais perto da manha",
    ],
}
TITLE_WORDS = [
    "Summer",
    "Night",
    "River",
    "Light",
    "Dream",
    "Road",
    "Heart",
    "Fire",
    "Blue",
    "Rain",
    "Morning",
    "Echo",
    "Golden",
    "Silent",
    "Wild",
    "Ocean",
]
ARTISTS = [
    "The Lanterns",
    "Mara Quinn",
    "Los Caminos",
    "Die Nachtfalter",
    "Joe Harlow",
    "Björk Ensemble",
    "Sigur Band",
    "Café Tacvba Tribute",
    "Ana Lúcia",
    "Motörhead Cover Band",
    "Nova",
    "Elena Ríos",
]


@dataclass
class Note:
    start: int  # ticks
    end: int
    pitch: int
    velocity: int


@dataclass
class Part:
    name: str
    program: int
    is_drum: bool
    role: str  # chord | bass | drums | melody | strings | odd
    notes: list = field(default_factory=list)


@dataclass
class Song:
    ticks_per_beat: int
    tempos: list  # [(tick, microseconds per beat)], first at tick 0
    time_signature: tuple  # (numerator, denominator)
    parts: list
    end_tick: int
    title: str
    artist: str
    key: int = 0  # MIDI key-signature index helper: tonic pitch class
    minor: bool = False
    lyrics: list = field(default_factory=list)  # [(tick, text)] lyric meta events (melody track)
    karaoke: list = field(default_factory=list)  # [(tick, text)] soft-karaoke text events
    lyrics_lang: str = None
    strong_chord_ticks: list = field(default_factory=list)
    distractor_ticks: list = field(default_factory=list)  # stabs and dyads (not strong)

    def seconds(self, tick) -> float:
        """Seconds at `tick` under the tempo map (exactly what pretty_midi computes)."""
        t, last_tick, last_tempo = 0.0, 0, self.tempos[0][1]
        for tk, tempo in self.tempos[1:]:
            if tk >= tick:
                break
            t += (tk - last_tick) * last_tempo / 1e6 / self.ticks_per_beat
            last_tick, last_tempo = tk, tempo
        return t + (tick - last_tick) * last_tempo / 1e6 / self.ticks_per_beat

    @property
    def bpm(self) -> float:
        return 60e6 / self.tempos[0][1]

    @property
    def last_note_end(self) -> int:
        return max((n.end for p in self.parts for n in p.notes), default=0)

    @property
    def n_notes(self) -> int:
        return sum(len(p.notes) for p in self.parts)


def _quarters_per_bar(ts) -> float:
    num, den = ts
    return num * 4 / den


@dataclass
class Frame:
    """The grid a song is written on: ticks, metre, bars, key and chord progression."""

    tpb: int  # ticks per beat
    ts: tuple  # time signature
    n_bars: int
    tonic: int
    minor: bool
    prog: list  # scale degrees, one per chord slot (cycled)

    @property
    def qpb(self) -> float:
        return _quarters_per_bar(self.ts)

    @property
    def bar(self) -> int:
        return int(self.qpb * self.tpb)

    @property
    def bars_per_chord(self) -> int:
        return 2 if self.ts == (6, 8) else 1  # 6/8: a chord spans 2 bars (= 4 dotted-quarter beats)

    @property
    def slot_len(self) -> int:
        return self.bar * self.bars_per_chord

    @property
    def n_slots(self) -> int:
        return self.n_bars // self.bars_per_chord

    @property
    def scale(self) -> list:
        return MINOR if self.minor else MAJOR

    def degree(self, slot: int) -> int:
        return self.prog[slot % len(self.prog)]

    def chord_pcs(self, degree: int) -> list:
        """Triad (+7th) pitch classes for a scale degree."""
        return [(self.tonic + self.scale[(degree + k) % 7] + 12 * ((degree + k) // 7)) for k in (0, 2, 4, 6)]


@dataclass
class ChordPart:
    """The chord part and where its planted events are (strong chords, distractors)."""

    part: Part | None
    strong: list = field(default_factory=list)
    distract: list = field(default_factory=list)
    event_ticks: set = field(default_factory=set)

    def free(self, t) -> bool:
        """No chord-part event starts at tick t (other parts never start a note there)."""
        return t not in self.event_ticks


def _frame(rng) -> tuple[Frame, list]:
    """The song's grid and its tempo map [(tick, us per beat)] (changes on even bar lines)."""
    tpb = int(rng.choice([96, 120, 192, 240, 384, 480]))
    ts = [(4, 4), (3, 4), (5, 4), (6, 8)][rng.choice(4, p=[0.8, 0.08, 0.06, 0.06])]
    bar = int(_quarters_per_bar(ts) * tpb)
    n_bars = int(rng.integers(4, 10)) * 2
    bpm = int(rng.integers(50, 181))
    tempos = [(0, round(60e6 / bpm))]
    if rng.random() < 0.2:  # tempo changes on even bar lines
        for b in sorted(rng.choice(np.arange(2, n_bars, 2), size=int(rng.integers(1, 3)), replace=False)):
            tempos.append((int(b) * bar, round(60e6 / int(rng.integers(50, 181)))))
    tonic = int(rng.integers(0, 12))
    minor = bool(rng.random() < 0.35)
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    return Frame(tpb, ts, n_bars, tonic, minor, prog), tempos


def _families(rng, melody_needed: bool) -> dict:
    """Which instrument families play (a song has chords or a melody)."""
    has = {
        "chord": rng.random() < 0.92,
        "bass": rng.random() < 0.8,
        "drums": rng.random() < 0.65,
        "melody": rng.random() < 0.85 or melody_needed,
        "strings": rng.random() < 0.35,
        "odd": rng.random() < 0.5,
    }
    has["melody"] = has["melody"] or not has["chord"]
    return has


def _chord_part(rng, f: Frame, present: bool) -> ChordPart:
    """One event per chord slot: a planted strong chord, an arpeggio, a stab, a dyad or a rest."""
    if not present:
        return ChordPart(None)
    fam = PIANO if rng.random() < 0.6 else GUITAR
    cp = ChordPart(Part("Piano" if fam is PIANO else "Guitar", int(rng.choice(fam)), False, "chord"))
    notes, tpb = cp.part.notes, f.tpb
    for s in range(f.n_slots):
        t0 = s * f.slot_len
        kind = rng.choice(["strong", "arp", "stab", "dyad", "rest"], p=[0.3, 0.35, 0.12, 0.1, 0.13])
        base = 48 + (f.tonic % 12 if f.tonic < 7 else f.tonic - 12)
        pitches = [base + pc - f.tonic for pc in f.chord_pcs(f.degree(s))]
        vel = int(rng.integers(70, 101))
        long_len = int(min(f.qpb, 4) * tpb) if f.bars_per_chord == 1 else f.slot_len  # >= 3 quarter beats
        if kind == "strong":
            notes += [Note(t0, t0 + long_len, p, vel) for p in pitches[: int(rng.integers(3, 5))]]
            cp.strong.append(t0)
        elif kind == "stab":
            notes += [Note(t0, t0 + tpb, p, vel) for p in pitches[: int(rng.integers(3, 5))]]  # 1 beat: not strong
        elif kind == "dyad":
            notes += [Note(t0, t0 + long_len, p, vel) for p in (pitches[0], pitches[2])]  # 2 notes: not strong
        elif kind == "arp":
            step = tpb // 2
            for i, t in enumerate(range(t0, t0 + f.slot_len, step)):
                p = pitches[[0, 1, 2, 1][i % 4]] + 12 * (i % 8 >= 4)
                notes.append(Note(t, t + step, p, vel - 10))  # single short notes
        if kind in ("stab", "dyad"):
            cp.distract.append(t0)
        if kind in ("strong", "stab", "dyad"):
            cp.event_ticks.add(t0)
    return cp


def _bass(rng, f: Frame) -> Part:
    bass = Part("Bass", int(rng.choice(BASS)), False, "bass")
    for s in range(f.n_slots):
        root = 36 + (f.tonic + f.scale[f.degree(s) % 7]) % 12
        t0 = s * f.slot_len
        step = f.tpb * int(rng.choice([1, 2])) if f.qpb >= 2 else f.tpb
        for t in range(t0, t0 + f.slot_len, step):
            bass.notes.append(Note(t, t + step - f.tpb // 8, root + (7 if (t - t0) // step % 4 == 2 else 0), 90))
    return bass


def _drums(f: Frame) -> Part:
    """Hi-hat eighths, kick and snare by metre, a crash every four bars (no randomness)."""
    drums = Part("Drums", 0, True, "drums")
    eighth = f.tpb // 2
    n8 = int(f.qpb * 2)
    for b in range(f.n_bars):
        t0 = b * f.bar
        for i in range(n8):
            t = t0 + i * eighth
            drums.notes.append(Note(t, t + eighth // 2, 42, 70))  # closed hi-hat
            if i == 0:
                drums.notes.append(Note(t, t + eighth // 2, 36, 100))  # kick
            elif i == n8 // 2 or (f.ts == (4, 4) and i == 6):
                drums.notes.append(Note(t, t + eighth // 2, 38, 95))  # snare
            elif f.ts == (4, 4) and i == 4:
                drums.notes.append(Note(t, t + eighth // 2, 36, 100))
        if b % 4 == 0:
            drums.notes.append(Note(t0, t0 + f.tpb, 49, 90))  # crash each phrase
    return drums


def _melody(rng, f: Frame, cp: ChordPart) -> Part:
    """A stepwise melody of short notes, none starting on a chord-part event."""
    melody = Part("Melody", int(rng.choice(ODD + [0, 24, 40, 73])), False, "melody")
    degree, t, end = int(rng.integers(0, 7)), 0, f.n_bars * f.bar
    while t < end:
        dur = min(int(f.tpb * rng.choice([0.5, 1.0, 1.5], p=[0.4, 0.45, 0.15])), end - t)
        if cp.free(t) and rng.random() > 0.15:
            degree = int(np.clip(degree + rng.choice([-2, -1, 1, 2]), -3, 10))
            pitch = 60 + f.tonic + f.scale[degree % 7] + 12 * (degree // 7)
            melody.notes.append(Note(t, t + dur, pitch, int(rng.integers(75, 105))))
        t += dur
    return melody


def _strings(rng, f: Frame, cp: ChordPart) -> Part:
    """Two-note pads per chord slot, moved off a chord-part event by half a beat."""
    strings = Part("Strings", int(rng.choice(STRINGS)), False, "strings")
    for s in range(f.n_slots):
        t0 = s * f.slot_len + (0 if cp.free(s * f.slot_len) else f.tpb // 2)
        pcs = f.chord_pcs(f.degree(s))
        for pc in (pcs[0], pcs[2]):  # at most 2 notes at once
            strings.notes.append(Note(t0, s * f.slot_len + f.slot_len, 60 + (pc - f.tonic) + f.tonic % 12, 60))
    return strings


def _odd(rng, f: Frame, cp: ChordPart) -> Part:
    """A program outside the five families: one off-beat note per bar."""
    odd = Part(str(rng.choice(["Lead", "Pad", "Brass", "Flute", "Organ", "Sitar"])), int(rng.choice(ODD)), False, "odd")
    for b in range(f.n_bars):
        t = b * f.bar + f.tpb  # off the bar line
        if cp.free(t):
            odd.notes.append(Note(t, t + f.tpb, 72 + f.tonic % 12 + int(rng.choice([0, 2, 4, 7])), 65))
    return odd


def _lyrics(melody: Part | None, lyrics_lang, karaoke: bool) -> tuple[list, list]:
    """(lyric events, soft-karaoke events): one word per melody note onset, cycling the language's lines."""
    lyrics, kar = [], []
    if melody is None or not (lyrics_lang or karaoke):
        return lyrics, kar
    lines = LYRICS[lyrics_lang or "en"]
    words = [(li, w) for li, line in enumerate(lines) for w in line.split()]
    for i, tk in enumerate(n.start for n in melody.notes):
        li, w = words[i % len(words)]
        first = i == 0 or words[(i - 1) % len(words)][0] != li
        if karaoke:  # soft karaoke: "/" starts a line, "\" a paragraph; words carry their space
            prefix = ("\\" if li % 4 == 0 else "/") if first else ""
            kar.append((tk, prefix + w + " "))
        else:
            lyrics.append((tk, w + " "))
    return lyrics, kar


def make_song(rng: np.random.Generator, *, lyrics_lang=None, karaoke=False, zero_notes=False) -> Song:
    """One seeded multi-instrument song. `lyrics_lang`: en/de/es/pt or None."""
    f, tempos = _frame(rng)
    title = " ".join(rng.choice(TITLE_WORDS, size=int(rng.integers(1, 4)), replace=False))
    artist = str(rng.choice(ARTISTS))
    has = _families(rng, melody_needed=lyrics_lang is not None or karaoke)
    cp = _chord_part(rng, f, has["chord"])
    parts = [cp.part] if cp.part is not None else []
    parts += [_bass(rng, f)] if has["bass"] else []
    parts += [_drums(f)] if has["drums"] else []
    melody = _melody(rng, f, cp) if has["melody"] else None
    parts += [melody] if melody is not None else []
    parts += [_strings(rng, f, cp)] if has["strings"] else []
    parts += [_odd(rng, f, cp)] if has["odd"] else []
    parts = [p for p in parts if p.notes]
    lyrics, kar = _lyrics(melody, lyrics_lang, karaoke)
    strong, distract = cp.strong, cp.distract
    if zero_notes:
        for p in parts:
            p.notes = []
        lyrics, kar, strong, distract = [], [], [], []
    return Song(
        ticks_per_beat=f.tpb,
        tempos=tempos,
        time_signature=f.ts,
        parts=parts,
        end_tick=f.n_bars * f.bar,
        title=title,
        artist=artist,
        key=f.tonic,
        minor=f.minor,
        lyrics=lyrics,
        karaoke=kar,
        lyrics_lang=(lyrics_lang or ("en" if karaoke else None)) if (lyrics or kar) else None,
        strong_chord_ticks=strong,
        distractor_ticks=distract,
    )
