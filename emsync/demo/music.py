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


def make_song(rng: np.random.Generator, *, lyrics_lang=None, karaoke=False, zero_notes=False) -> Song:
    """One seeded multi-instrument song. `lyrics_lang`: en/de/es/pt or None."""
    tpb = int(rng.choice([96, 120, 192, 240, 384, 480]))
    ts = [(4, 4), (3, 4), (5, 4), (6, 8)][rng.choice(4, p=[0.8, 0.08, 0.06, 0.06])]
    qpb = _quarters_per_bar(ts)
    bar = int(qpb * tpb)
    bars_per_chord = 2 if ts == (6, 8) else 1  # 6/8: a chord spans 2 bars (= 4 dotted-quarter beats)
    n_bars = int(rng.integers(4, 10)) * 2
    bpm = int(rng.integers(50, 181))
    tempos = [(0, round(60e6 / bpm))]
    if rng.random() < 0.2:  # tempo changes on even bar lines
        for b in sorted(rng.choice(np.arange(2, n_bars, 2), size=int(rng.integers(1, 3)), replace=False)):
            tempos.append((int(b) * bar, round(60e6 / int(rng.integers(50, 181)))))
    tonic = int(rng.integers(0, 12))
    minor = bool(rng.random() < 0.35)
    scale = MINOR if minor else MAJOR
    prog = PROGRESSIONS[rng.integers(len(PROGRESSIONS))]
    title = " ".join(rng.choice(TITLE_WORDS, size=int(rng.integers(1, 4)), replace=False))
    artist = str(rng.choice(ARTISTS))

    def chord_pcs(degree):  # triad (+7th) pitch classes for a scale degree
        return [(tonic + scale[(degree + k) % 7] + 12 * ((degree + k) // 7)) for k in (0, 2, 4, 6)]

    # which families play
    has_chord = rng.random() < 0.92
    has_bass = rng.random() < 0.8
    has_drums = rng.random() < 0.65
    has_melody = rng.random() < 0.85 or lyrics_lang is not None or karaoke
    has_strings = rng.random() < 0.35
    has_odd = rng.random() < 0.5
    if not (has_chord or has_melody):
        has_melody = True
    parts = []
    chord_part = None
    if has_chord:
        fam = PIANO if rng.random() < 0.6 else GUITAR
        chord_part = Part("Piano" if fam is PIANO else "Guitar", int(rng.choice(fam)), False, "chord")
        parts.append(chord_part)

    # chord part: one event per chord slot
    strong, distract, event_ticks = [], [], set()
    n_slots = n_bars // bars_per_chord
    slot_len = bar * bars_per_chord
    for s in range(n_slots):
        t0 = s * slot_len
        pcs = chord_pcs(prog[s % len(prog)])
        if chord_part is None:
            continue
        kind = rng.choice(["strong", "arp", "stab", "dyad", "rest"], p=[0.3, 0.35, 0.12, 0.1, 0.13])
        base = 48 + (tonic % 12 if tonic < 7 else tonic - 12)
        pitches = [base + pc - tonic for pc in pcs]
        vel = int(rng.integers(70, 101))
        long_len = int(min(qpb, 4) * tpb) if bars_per_chord == 1 else slot_len  # >= 3 quarter beats
        if kind == "strong":
            n = int(rng.integers(3, 5))
            for p in pitches[:n]:
                chord_part.notes.append(Note(t0, t0 + long_len, p, vel))
            strong.append(t0)
            event_ticks.add(t0)
        elif kind == "stab":
            for p in pitches[: int(rng.integers(3, 5))]:
                chord_part.notes.append(Note(t0, t0 + tpb, p, vel))  # 1 beat: not strong
            distract.append(t0)
            event_ticks.add(t0)
        elif kind == "dyad":
            for p in (pitches[0], pitches[2]):
                chord_part.notes.append(Note(t0, t0 + long_len, p, vel))  # 2 notes: not strong
            distract.append(t0)
            event_ticks.add(t0)
        elif kind == "arp":
            step = tpb // 2
            for i, t in enumerate(range(t0, t0 + slot_len, step)):
                p = pitches[[0, 1, 2, 1][i % 4]] + 12 * (i % 8 >= 4)
                chord_part.notes.append(Note(t, t + step, p, vel - 10))  # single short notes

    def free(t):
        return t not in event_ticks

    if has_bass:
        bass = Part("Bass", int(rng.choice(BASS)), False, "bass")
        for s in range(n_slots):
            root = 36 + (tonic + scale[prog[s % len(prog)] % 7]) % 12
            t0 = s * slot_len
            step = tpb * int(rng.choice([1, 2])) if qpb >= 2 else tpb
            for t in range(t0, t0 + slot_len, step):
                bass.notes.append(Note(t, t + step - tpb // 8, root + (7 if (t - t0) // step % 4 == 2 else 0), 90))
        parts.append(bass)

    if has_drums:
        drums = Part("Drums", 0, True, "drums")
        eighth = tpb // 2
        for b in range(n_bars):
            t0 = b * bar
            n8 = int(qpb * 2)
            for i in range(n8):
                t = t0 + i * eighth
                drums.notes.append(Note(t, t + eighth // 2, 42, 70))  # closed hi-hat
                if i == 0:
                    drums.notes.append(Note(t, t + eighth // 2, 36, 100))  # kick
                elif i == n8 // 2 or (ts == (4, 4) and i == 6):
                    drums.notes.append(Note(t, t + eighth // 2, 38, 95))  # snare
                elif ts == (4, 4) and i == 4:
                    drums.notes.append(Note(t, t + eighth // 2, 36, 100))
            if b % 4 == 0:
                drums.notes.append(Note(t0, t0 + tpb, 49, 90))  # crash each phrase
        parts.append(drums)

    melody = None
    if has_melody:
        prog_m = int(rng.choice(ODD + [0, 24, 40, 73]))
        melody = Part("Melody", prog_m, False, "melody")
        degree = int(rng.integers(0, 7))
        t = 0
        while t < n_bars * bar:
            dur = min(int(tpb * rng.choice([0.5, 1.0, 1.5], p=[0.4, 0.45, 0.15])), n_bars * bar - t)
            if free(t) and rng.random() > 0.15:
                degree = int(np.clip(degree + rng.choice([-2, -1, 1, 2]), -3, 10))
                pitch = 60 + tonic + scale[degree % 7] + 12 * (degree // 7)
                melody.notes.append(Note(t, t + dur, pitch, int(rng.integers(75, 105))))
            t += dur
        parts.append(melody)

    if has_strings:
        strings = Part("Strings", int(rng.choice(STRINGS)), False, "strings")
        for s in range(n_slots):
            t0 = s * slot_len + (0 if free(s * slot_len) else tpb // 2)
            pcs = chord_pcs(prog[s % len(prog)])
            for pc in (pcs[0], pcs[2]):  # at most 2 notes at once
                strings.notes.append(Note(t0, s * slot_len + slot_len, 60 + (pc - tonic) + tonic % 12, 60))
        parts.append(strings)

    if has_odd:
        odd = Part(str(rng.choice(["Lead", "Pad", "Brass", "Flute", "Organ", "Sitar"])), int(rng.choice(ODD)), False, "odd")
        for b in range(n_bars):
            t = b * bar + tpb  # off the bar line
            if free(t):
                odd.notes.append(Note(t, t + tpb, 72 + tonic % 12 + int(rng.choice([0, 2, 4, 7])), 65))
        parts.append(odd)

    parts = [p for p in parts if p.notes]
    # lyrics: one word per melody note onset, cycling the language's lines
    lyrics, kar = [], []
    if melody is not None and (lyrics_lang or karaoke):
        lines = LYRICS[lyrics_lang or "en"]
        words = [(li, w) for li, line in enumerate(lines) for w in line.split()]
        onsets = [n.start for n in melody.notes]
        for i, tk in enumerate(onsets):
            li, w = words[i % len(words)]
            first = i == 0 or words[(i - 1) % len(words)][0] != li
            if karaoke:  # soft karaoke: "/" starts a line, "\" a paragraph; words carry their space
                prefix = ("\\" if li % 4 == 0 else "/") if first else ""
                kar.append((tk, prefix + w + " "))
            else:
                lyrics.append((tk, w + " "))
    if zero_notes:
        for p in parts:
            p.notes = []
        lyrics, kar, strong, distract = [], [], [], []
    return Song(
        ticks_per_beat=tpb,
        tempos=tempos,
        time_signature=ts,
        parts=parts,
        end_tick=n_bars * bar,
        title=title,
        artist=artist,
        key=tonic,
        minor=minor,
        lyrics=lyrics,
        karaoke=kar,
        lyrics_lang=(lyrics_lang or ("en" if karaoke else None)) if (lyrics or kar) else None,
        strong_chord_ticks=strong,
        distractor_ticks=distract,
    )
