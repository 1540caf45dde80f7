"""Valence and arousal of a corpus work from the music itself (a stated deviation from §4.3).

The thesis labels LMD songs with Spotify's valence and a tempo-based arousal (§4.3); the music21
corpus has no Spotify match. The labels here come from the two cues that music-psychology
reviews find strongest for each dimension in Western tonal music (Gabrielsson & Lindström 2010,
"The role of structure in the musical expression of emotions", Handbook of Music and Emotion,
OUP, ch. 14; Hevner 1935, 1937; Gagnon & Peretz 2003, Cognition & Emotion 17(1)):

- valence: mode. Major is heard as happy/positive, minor as sad/negative. The sign is the mode of
  the Krumhansl-Schmuckler key estimate; the size is that key profile's correlation r (0..1), how
  clearly the work is in the key:  valence = +r (major) or -r (minor).
- arousal: tempo and note density ("fast tempo" and "many notes per time unit" go with high
  activity/arousal in the same reviews):
      tempo term    T = the §4.3 mapping of the dominant tempo, 50..150 quarter notes/min -> -1..1 (clipped)
      density term  D = notes per second per part, log-scaled, 0.5..8 -> -1..1 (clipped; 2/s -> 0)
      arousal_raw = (T + D) / 2
  then spread over the corpus by rank: arousal = 2 (rank + 1/2) / N - 1, so the calmest work is
  near -1, the most active near +1 and the median work at 0. (Most works have no tempo mark and play
  at 120, so arousal_raw crowds into 0..0.9; the thesis's own density alternative is also scaled
  to its corpus, by the 99th percentile, §4.3.) arousal_raw is kept beside it.

Both land in [-1, 1] like the thesis's labels, and are written with their inputs into a labels
table of the thesis path's layout (midi_id, valence, arousal, split, ...), which the tokens code
reads unchanged. The split is §4.3's 5 % test split by work; works are ordered by the md5 of their
id, the way LMD's md5 file names order its songs, so the held-out works are a random 5 % of every
source rather than the alphabetically last source.
"""

import hashlib
import math

import numpy as np
import pandas as pd

TEMPO_LO, TEMPO_HI = 50.0, 150.0  # §4.3's bounds (quarter notes per minute)
DENSITY_LO, DENSITY_HI = 0.5, 8.0  # notes per second per part
LABEL_SOURCE = "music: mode -> valence; tempo + note density -> arousal (Gabrielsson & Lindstrom 2010)"


def valence_from_mode(mode: str, key_r: float) -> float:
    """+r for major, -r for minor (r clipped to 0..1); NaN for anything else."""
    if mode not in ("major", "minor") or key_r is None or not math.isfinite(key_r):
        return math.nan
    r = min(max(float(key_r), 0.0), 1.0)
    return r if mode == "major" else -r


def arousal_from_tempo_density(tempo_qpm: float, notes_per_s_per_part: float) -> float:
    """(T + D) / 2 with the linear tempo term and the log density term of the module docstring."""
    if not (tempo_qpm and notes_per_s_per_part and tempo_qpm > 0 and notes_per_s_per_part > 0):
        return math.nan
    t = float(np.clip(2.0 * (tempo_qpm - TEMPO_LO) / (TEMPO_HI - TEMPO_LO) - 1.0, -1.0, 1.0))
    span = math.log2(DENSITY_HI) - math.log2(DENSITY_LO)
    d = float(np.clip(2.0 * (math.log2(notes_per_s_per_part) - math.log2(DENSITY_LO)) / span - 1.0, -1.0, 1.0))
    return (t + d) / 2.0


def spread_by_rank(values: pd.Series) -> pd.Series:
    """2 (rank + 1/2) / N - 1 over the non-NaN values (ties share their mean rank); NaN stays NaN."""
    r = values.rank(method="average")  # 1..N
    n = int(values.notna().sum())
    return 2.0 * (r - 0.5) / n - 1.0 if n else values


def split_by_work(work_ids, test_fraction: float) -> dict:
    """{work_id: 'train' | 'test'}: ordered by md5(work_id), the last `test_fraction` (rounded up) is test."""
    ids = sorted(work_ids, key=lambda w: hashlib.md5(w.encode()).hexdigest())
    n = int(math.ceil(len(ids) * test_fraction)) if ids and test_fraction > 0 else 0
    return {w: ("test" if i >= len(ids) - n else "train") for i, w in enumerate(ids)}


def labels_table(works: pd.DataFrame, test_fraction: float = 0.05) -> pd.DataFrame:
    """One row per kept work (columns of the conversion facts) -> the labels table: midi_id,
    valence, arousal, split, label_source and the inputs the labels came from."""
    df = works.rename(columns={"work_id": "midi_id"}).copy()
    df["valence"] = [valence_from_mode(m, r) for m, r in zip(df["mode"], df["key_r"])]
    df["arousal_raw"] = [arousal_from_tempo_density(t, d) for t, d in zip(df["tempo_qpm"], df["notes_per_s_per_part"])]
    df["arousal"] = spread_by_rank(df["arousal_raw"])
    split = split_by_work(df["midi_id"], test_fraction)
    df["split"] = df["midi_id"].map(split)
    df["label_source"] = LABEL_SOURCE
    front = [
        "midi_id",
        "split",
        "valence",
        "arousal",
        "arousal_raw",
        "source",
        "mode",
        "key",
        "key_r",
        "tempo_qpm",
        "tempo_source",
        "notes_per_s_per_part",
    ]
    return df[front + [c for c in df.columns if c not in front]].sort_values("midi_id").reset_index(drop=True)


def distribution(labels: pd.DataFrame) -> dict:
    """Summary of the labels for the data card: quantiles, quadrant shares, per source."""
    q = [0.05, 0.25, 0.5, 0.75, 0.95]
    v, a = labels["valence"], labels["arousal"]
    out = {
        "n": int(len(labels)),
        "valence_quantiles": dict(zip(map(str, q), np.round(v.quantile(q).to_numpy(), 3).tolist())),
        "arousal_quantiles": dict(zip(map(str, q), np.round(a.quantile(q).to_numpy(), 3).tolist())),
        "major_share": round(float((labels["mode"] == "major").mean()), 3),
        "quadrants": {
            "v+a+": int(((v >= 0) & (a >= 0)).sum()),
            "v+a-": int(((v >= 0) & (a < 0)).sum()),
            "v-a+": int(((v < 0) & (a >= 0)).sum()),
            "v-a-": int(((v < 0) & (a < 0)).sum()),
        },
        "missing": int((v.isna() | a.isna()).sum()),
    }
    by = labels.groupby("source").agg(
        works=("midi_id", "size"), valence=("valence", "mean"), arousal=("arousal", "mean"), major=("mode", lambda m: (m == "major").mean())
    )
    out["by_source"] = {s: {k: round(float(x), 3) for k, x in r.items()} for s, r in by.iterrows()}
    return out
