"""Valence/arousal labels (thesis §4.3) and the Listing 3.1-style JSON entry.

- valence: Spotify valence in [0, 1]; 0.0 marks missing values (§4.3), so it becomes NaN; then
  shifted and scaled to [-1, 1] (2v - 1).
- arousal (default, `tempo`): the eq. 3.1 tempo, only when a drum track is present and
  lo <= tempo <= hi (50 and 150 in §4.3), mapped linearly from [lo, hi] to [-1, 1]; else NaN.
- arousal (`note_density`, the §3.1/§4.3 alternative): average note density (note density /
  instruments), mapped from [0, its 99th percentile over the labelled files] to [-1, 1], clipped.
- split: the matched files sorted by name; the last `test_fraction` (5 %, rounded up) is the test
  split, everything else is train.
"""

import math

import numpy as np
import pandas as pd


def valence_label(v, zero_is_missing=True) -> float:
    """Spotify valence [0, 1] -> [-1, 1]; NaN for missing, out-of-range or (by default) 0.0."""
    try:
        v = float(v)
    except (TypeError, ValueError):
        return math.nan
    if math.isnan(v) or not 0.0 <= v <= 1.0 or (zero_is_missing and v == 0.0):
        return math.nan
    return 2.0 * v - 1.0


def arousal_from_tempo(tempo, has_drums, lo=50.0, hi=150.0) -> float:
    """Eq. 3.1 tempo -> [-1, 1], only with drums and lo <= tempo <= hi (inclusive)."""
    try:
        tempo = float(tempo)
    except (TypeError, ValueError):
        return math.nan
    if not has_drums or math.isnan(tempo) or not lo <= tempo <= hi:
        return math.nan
    return 2.0 * (tempo - lo) / (hi - lo) - 1.0


def arousal_from_density(density, scale_max) -> float:
    """Average note density -> [-1, 1] over [0, scale_max], clipped."""
    try:
        density = float(density)
    except (TypeError, ValueError):
        return math.nan
    if math.isnan(density) or not scale_max or scale_max <= 0:
        return math.nan
    return float(np.clip(2.0 * density / scale_max - 1.0, -1.0, 1.0))


def test_split(matched_ids, fraction=0.05) -> set:
    """§4.3: the last `fraction` of the matched file names in sorted order (rounded up)."""
    ids = sorted(matched_ids)
    n = int(math.ceil(len(ids) * fraction)) if ids else 0
    return set(ids[len(ids) - n :]) if n else set()


def build_labels(unique_files: pd.DataFrame, matches: pd.DataFrame, features: pd.DataFrame, cfg) -> pd.DataFrame:
    """One row per unique valid file: midi_id, matched, valence, arousal, split, and the inputs
    the labels came from (spotify_valence, tempo, has_drums, avg_note_density)."""
    df = unique_files[["midi_id", "tempo", "has_drums", "avg_note_density", "duration"]].copy()
    df["matched"] = df["midi_id"].isin(set(matches["midi_id"]))
    val = features.set_index("midi_id")["valence"] if len(features) else pd.Series(dtype=float)
    df["spotify_valence"] = df["midi_id"].map(val).astype(float)
    df["valence"] = [valence_label(v, cfg.valence_zero_is_missing) for v in df["spotify_valence"]]
    if cfg.arousal_feature == "tempo":
        df["arousal"] = [
            arousal_from_tempo(t, d, cfg.arousal_tempo_min, cfg.arousal_tempo_max) for t, d in zip(df["tempo"], df["has_drums"])
        ]
    elif cfg.arousal_feature == "note_density":
        ref = df.loc[df["matched"], "avg_note_density"]
        top = float(np.nanpercentile(ref, 99)) if len(ref) else float("nan")
        df["arousal"] = [arousal_from_density(x, top) for x in df["avg_note_density"]]
    else:
        from emsync.core.errors import ParamsError

        raise ParamsError(f"labeling.arousal_feature: {cfg.arousal_feature!r} is not one of tempo, note_density")
    test = test_split(df.loc[df["matched"], "midi_id"], cfg.test_fraction)
    df["split"] = np.where(df["midi_id"].isin(test), "test", "train")
    return df.sort_values("midi_id").reset_index(drop=True)


def _clean(v):
    if isinstance(v, (float, np.floating)) and np.isnan(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    if v is pd.NA:
        return None
    return v


def listing_entry(file_row: dict, match_row: dict | None, audio: dict | None) -> dict:
    """Listing 3.1: {"midi_features": {...}, "matched_features": {..., "spotify_audio_features"}}."""
    entry = {
        "midi_features": {
            k: _clean(file_row.get(k)) for k in ("note_density", "tempo", "n_instruments", "avg_note_density", "has_drums", "duration")
        }
    }
    if match_row is not None:
        mf = {
            k: _clean(match_row.get(k))
            for k in (
                "track_id",
                "match_score",
                "song_id",
                "title",
                "artist",
                "release",
                "spotify_id",
                "spotify_title",
                "spotify_artist",
                "spotify_album",
                "spotify_source",
            )
        }
        mf["spotify_audio_features"] = {k: _clean(v) for k, v in audio.items() if k not in ("midi_id",)} if audio else None
        entry["matched_features"] = mf
    return entry
