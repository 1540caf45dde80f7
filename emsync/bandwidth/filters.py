"""The low-pass filters of thesis Table 7.1, all with the §7.3 cut-off (11,025 Hz at 44.1 kHz),
applied zero-phase (forward-backward, scipy's sosfiltfilt).

    sos = design("cheby1_6")                 # second-order sections
    y = lowpass(x, "butter_6")               # x: (channels, n) float; y same shape
    y = lowpass_window(audio, s, n, "ellip_12")   # one crop of a long (n, channels) array, filtered
                                                  # from a settled window, not the whole file

Ripple and attenuation: the thesis (Table 7.1) names only type and order. We take the values of
the thesis author's public implementation: Chebyshev-1 passband ripple 0.05 dB; elliptic passband
ripple 0.05 dB and stopband attenuation 20 dB; Bessel normalised so its gain is -3 dB at the
cut-off (scipy `norm="mag"`); Butterworth is -3 dB at the cut-off by definition. The cut-off is the
ripple edge for Chebyshev-1 and elliptic filters (gain -0.05 dB there) and the -3 dB point for the
others. Magnitudes are those of ONE pass; zero-phase filtering squares them (ripple 0.1 dB,
-6 dB at the cut-off), exactly as filtfilt did in the thesis.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from emsync.core.errors import InputError


@dataclass(frozen=True)
class FilterSpec:
    kind: str  # cheby1 | bessel | ellip | butter
    order: int
    ripple_db: float = 0.0  # passband ripple (cheby1, ellip)
    attenuation_db: float = 0.0  # minimum stopband attenuation (ellip)

    @property
    def edge_db(self) -> float:
        """One-pass gain at the cut-off: the ripple edge, or -3 dB."""
        return -self.ripple_db if self.kind in ("cheby1", "ellip") else -3.0103


# Table 7.1: the eight training filters and the unseen Butterworth-6.
FILTERS = {
    "cheby1_6": FilterSpec("cheby1", 6, 0.05),
    "cheby1_8": FilterSpec("cheby1", 8, 0.05),
    "cheby1_10": FilterSpec("cheby1", 10, 0.05),
    "cheby1_12": FilterSpec("cheby1", 12, 0.05),
    "bessel_6": FilterSpec("bessel", 6),
    "bessel_12": FilterSpec("bessel", 12),
    "ellip_6": FilterSpec("ellip", 6, 0.05, 20.0),
    "ellip_12": FilterSpec("ellip", 12, 0.05, 20.0),
    "butter_6": FilterSpec("butter", 6),
}
SINGLE_FILTER = ("cheby1_6",)  # §7.2.3: the single-filter (no augmentation) training set
MULTI_FILTER = ("cheby1_6", "cheby1_8", "cheby1_10", "cheby1_12", "bessel_6", "bessel_12", "ellip_6", "ellip_12")
UNSEEN_FILTER = "butter_6"  # §7.2.3: never used in training
SEEN_TEST_FILTER = "cheby1_6"  # §7.4.2: the one filter common to both training sets


def check_names(names, where="bandwidth filters") -> tuple:
    bad = [n for n in names if n not in FILTERS]
    if bad:
        raise InputError(f"{where}: unknown filter(s) {bad}; known: {sorted(FILTERS)}")
    return tuple(names)


@functools.lru_cache(maxsize=64)
def design(name: str, cutoff_hz: float = 11025.0, sample_rate: int = 44100) -> np.ndarray:
    """Second-order sections of filter `name` (order = 2 x rows)."""
    from scipy import signal

    check_names([name])
    s = FILTERS[name]
    kw = {"fs": sample_rate, "output": "sos"}
    if s.kind == "cheby1":
        sos = signal.cheby1(s.order, s.ripple_db, cutoff_hz, **kw)
    elif s.kind == "bessel":
        sos = signal.bessel(s.order, cutoff_hz, norm="mag", **kw)
    elif s.kind == "ellip":
        sos = signal.ellip(s.order, s.ripple_db, s.attenuation_db, cutoff_hz, **kw)
    else:
        sos = signal.butter(s.order, cutoff_hz, **kw)
    sos.setflags(write=False)  # cached: callers get a read-only array (scipy filters take a copy)
    return sos


def magnitude_db(name: str, freqs_hz, cutoff_hz: float = 11025.0, sample_rate: int = 44100) -> np.ndarray:
    """One-pass gain in dB of filter `name` at `freqs_hz`."""
    from scipy import signal

    _, h = signal.sosfreqz(design(name, cutoff_hz, sample_rate).copy(), worN=np.asarray(freqs_hz, float), fs=sample_rate)
    return 20 * np.log10(np.maximum(np.abs(h), 1e-300))


@functools.lru_cache(maxsize=64)
def settle_samples(name: str, cutoff_hz: float = 11025.0, sample_rate: int = 44100, tail_energy: float = 1e-10) -> int:
    """Samples after which the impulse response keeps less than `tail_energy` of its energy: a
    margin that lets a crop be filtered from a window instead of the whole file (error below
    about -100 dB for the default). Elliptic-12 (high-Q poles) needs ~2e4, Bessel-6 ~30."""
    from scipy import signal

    n = 1 << 12
    while True:
        imp = np.zeros(n)
        imp[0] = 1.0
        h2 = signal.sosfilt(design(name, cutoff_hz, sample_rate).copy(), imp) ** 2
        tail = np.cumsum(h2[::-1])[::-1] / h2.sum()
        below = np.flatnonzero(tail < tail_energy)
        if (below.size and below[0] < n // 4) or n >= 1 << 22:  # settled well inside the probe
            return int(below[0]) if below.size else n
        n *= 2


def lowpass(x: np.ndarray, name: str, cutoff_hz: float = 11025.0, sample_rate: int = 44100) -> np.ndarray:
    """Zero-phase low-pass of `x` ((..., n) float) along its last axis, float32 out."""
    from scipy import signal

    x = np.asarray(x, dtype=np.float64)
    return signal.sosfiltfilt(design(name, cutoff_hz, sample_rate).copy(), x, axis=-1).astype(np.float32)


def lowpass_window(
    audio, start: int, length: int, name: str, cutoff_hz: float = 11025.0, sample_rate: int = 44100, scale: float = 1 / 32768
) -> tuple:
    """(band-limited, full-band) crop [start, start+length) of `audio` ((n, channels), e.g. an int16
    memmap), each (channels, length) float32. Only a window of `settle_samples` around the crop is
    read and filtered; inside the file it equals `lowpass` of the whole file to ~-100 dB (tested),
    and at the file's ends sosfiltfilt's edge padding matches too because the window is clipped there."""
    n = audio.shape[0]
    m = settle_samples(name, cutoff_hz, sample_rate)
    a, b = max(0, start - m), min(n, start + length + m)
    win = np.asarray(audio[a:b], dtype=np.float64).T * scale  # (C, b - a)
    low = lowpass(win, name, cutoff_hz, sample_rate)
    s = start - a
    return low[:, s : s + length], win[:, s : s + length].astype(np.float32)
