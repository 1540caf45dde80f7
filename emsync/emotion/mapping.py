"""Ekman emotion probabilities -> one valence/arousal condition (thesis §6.1, §6.2).

The video emotion classifier outputs a probability per Ekman (1971) category; the music generator
wants valence and arousal in [-1, 1]. §6.1 maps each category to a Gaussian over (valence,
arousal) with the per-emotion means and standard deviations of Table 6.1 (from the user studies
of Russell & Mehrabian, 1977), shifted and scaled so the means span [-r, r] on each axis
(r = `max_abs_mean`, 0.8 in §6.2):

    v'_means = 2r (v_means - min v_means) / (max v_means - min v_means) - r
    v'_stds  = 2r v_stds / (max v_means - min v_means)            (the same for arousal)

The probabilities weight a mixture of these Gaussians. §6.2 conditions on the mixture *mean*
(the probability-weighted average of the scaled means, "more robust"); `sample_mixture` draws
from the mixture instead (pick a category by probability, then sample its Gaussian).

    >>> mixture_mean({"joy": 1.0})          # joy's scaled mean: (0.8, 0.4766...)
    >>> mixture_mean(parse_probs("anger=0.3,sadness=0.7"))
"""

import math
from dataclasses import dataclass

import numpy as np

from emsync.core.errors import InputError

# Table 6.1 (§6.1): emotion -> (valence mean, valence std, arousal mean, arousal std).
TABLE_6_1 = {
    "anger": (-0.51, 0.20, 0.59, 0.29),
    "disgust": (-0.60, 0.20, 0.35, 0.41),
    "fear": (-0.64, 0.20, 0.60, 0.32),
    "joy": (0.76, 0.22, 0.48, 0.26),
    "sadness": (-0.63, 0.23, -0.27, 0.34),
    "surprise": (0.40, 0.30, 0.67, 0.27),
}
EMOTIONS = tuple(TABLE_6_1)  # Ekman's six, in Table 6.1 order


@dataclass(frozen=True)
class EmotionGaussians:
    """Per-emotion Gaussians over (valence, arousal) after the §6.1 rescaling."""

    emotions: tuple
    means: np.ndarray  # (K, 2) valence, arousal
    stds: np.ndarray  # (K, 2)


def scaled_gaussians(max_abs_mean: float = 0.8) -> EmotionGaussians:
    """Table 6.1 shifted and scaled so each axis's means span [-r, r], r = max_abs_mean (§6.1)."""
    if not (0.0 < max_abs_mean <= 1.0):
        raise InputError(f"emotion.max_abs_mean {max_abs_mean}: must be in (0, 1]")
    r = float(max_abs_mean)
    tab = np.array([TABLE_6_1[e] for e in EMOTIONS], dtype=np.float64)  # (K, 4)
    means, stds = tab[:, [0, 2]], tab[:, [1, 3]]  # (K, 2) each
    lo, hi = means.min(axis=0), means.max(axis=0)  # (2,): (-0.64, -0.27), (0.76, 0.67)
    span = hi - lo
    return EmotionGaussians(EMOTIONS, 2 * r * (means - lo) / span - r, 2 * r * stds / span)


def parse_probs(text: str) -> dict:
    """'anger=0.2, joy=0.7' -> {"anger": 0.2, "joy": 0.7}; one clear error for anything else."""
    out = {}
    for part in (text or "").split(","):
        part = part.strip()
        if not part:
            continue
        name, sep, value = part.partition("=")
        name = name.strip().lower()
        if not sep:
            raise InputError(f"--emotion-probs: {part!r} is not NAME=PROBABILITY (e.g. joy=0.7)")
        try:
            out[name] = float(value)
        except ValueError:
            raise InputError(f"--emotion-probs: {value.strip()!r} (for {name}) is not a number") from None
    if not out:
        raise InputError("--emotion-probs: empty; give e.g. anger=0.1,joy=0.9")
    return out


def weights(probs) -> np.ndarray:
    """Mixture weights (K,) in EMOTIONS order, summing to 1. `probs` is a {emotion: p} mapping
    (absent emotions get 0) or a length-6 sequence in EMOTIONS order; non-normalised scores are
    divided by their sum."""
    if isinstance(probs, dict):
        unknown = sorted(set(probs) - set(EMOTIONS))
        if unknown:
            raise InputError(f"emotion probabilities: unknown emotion {unknown[0]!r} (known: {', '.join(EMOTIONS)})")
        w = np.array([float(probs.get(e, 0.0)) for e in EMOTIONS], dtype=np.float64)
    else:
        w = np.asarray(probs, dtype=np.float64).reshape(-1)
        if len(w) != len(EMOTIONS):
            raise InputError(f"emotion probabilities: expected {len(EMOTIONS)} values ({', '.join(EMOTIONS)}), got {len(w)}")
    if not np.isfinite(w).all() or (w < 0).any():
        raise InputError("emotion probabilities: every value must be a finite number >= 0")
    total = w.sum()
    if total <= 0:
        raise InputError("emotion probabilities: all zero; at least one emotion needs a positive probability")
    return w / total


def mixture_mean(probs, max_abs_mean: float = 0.8) -> tuple[float, float]:
    """(valence, arousal): the probability-weighted mean of the scaled emotion means (§6.2)."""
    g = scaled_gaussians(max_abs_mean)
    v, a = weights(probs) @ g.means  # (K,) @ (K, 2) -> (2,)
    return float(v), float(a)


def sample_mixture(probs, rng: np.random.Generator, max_abs_mean: float = 0.8) -> tuple[float, float]:
    """One draw from the mixture (§6.1): a category by probability, then its Gaussian; clipped to [-1, 1]."""
    g = scaled_gaussians(max_abs_mean)
    k = int(rng.choice(len(g.emotions), p=weights(probs)))
    v, a = np.clip(rng.normal(g.means[k], g.stds[k]), -1.0, 1.0)
    return float(v), float(a)


def check_condition(name: str, x: float) -> float:
    """A valence/arousal flag value: in [-1, 1] (NaN = unconditioned)."""
    if not (math.isnan(x) or -1.0 <= x <= 1.0):
        raise InputError(f"--{name} {x}: must be in [-1, 1] (or nan for unconditioned)")
    return float(x)
