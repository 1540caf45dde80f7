"""Table 7.1 filters: magnitude responses checked numerically, and crops filtered from a window
equal to filtering the whole file (§7.5's upstream bottleneck removed)."""

import numpy as np
import pytest
from scipy import signal

from emsync.bandwidth import filters as F

FC, SR = 11025.0, 44100


@pytest.mark.parametrize("name", sorted(F.FILTERS))
def test_edge_at_cutoff_and_order(name):
    spec = F.FILTERS[name]
    sos = F.design(name)
    assert 2 * len(sos) == spec.order  # second-order sections: order = 2 x sections
    _z, p, _ = signal.sos2zpk(sos.copy())
    assert len(p) == spec.order and np.all(np.abs(p) < 1)  # stable, as many poles as the order
    edge = F.magnitude_db(name, [FC])[0]
    assert edge == pytest.approx(spec.edge_db, abs=0.01)  # -0.05 dB ripple edge or -3.01 dB
    low = F.magnitude_db(name, np.linspace(20, 0.5 * FC, 200))
    if spec.kind in ("cheby1", "ellip"):  # equiripple passband within the ripple
        assert low.max() <= 1e-6 and low.min() >= -spec.ripple_db - 1e-6
    else:  # monotone passband above -3 dB
        assert low.min() > -3.01
    stop = F.magnitude_db(name, np.linspace(1.5 * FC, SR / 2 - 1, 200))
    if spec.kind == "ellip":  # equiripple stopband at the attenuation
        assert stop.max() == pytest.approx(-spec.attenuation_db, abs=0.05)
    else:
        assert stop.max() < -9


def test_steeper_with_order_and_unseen_is_butterworth():
    at = 1.25 * FC
    g = {n: F.magnitude_db(n, [at])[0] for n in F.FILTERS}
    assert g["cheby1_12"] < g["cheby1_10"] < g["cheby1_8"] < g["cheby1_6"]
    assert F.magnitude_db("bessel_12", [1.8 * FC])[0] < F.magnitude_db("bessel_6", [1.8 * FC])[0]
    # Butterworth-6 through the bilinear transform: |H(f)|^2 = 1 / (1 + (tan(pi f/fs) / tan(pi fc/fs))^12)
    f = np.array([3000.0, 9000.0, 13000.0, 18000.0])
    exact = -10 * np.log10(1 + (np.tan(np.pi * f / SR) / np.tan(np.pi * FC / SR)) ** 12)
    assert np.allclose(F.magnitude_db("butter_6", f), exact, atol=1e-6)
    assert F.UNSEEN_FILTER not in F.MULTI_FILTER and F.SEEN_TEST_FILTER in F.MULTI_FILTER
    assert len(F.MULTI_FILTER) == 8 and F.SINGLE_FILTER == ("cheby1_6",)


def test_zero_phase_squares_the_magnitude():
    t = np.arange(SR) / SR
    x = np.sin(2 * np.pi * 5000 * t)
    y = F.lowpass(x, "butter_6")
    mid = slice(SR // 4, 3 * SR // 4)
    assert np.max(np.abs(y[mid] - x[mid] * 10 ** (2 * F.magnitude_db("butter_6", [5000])[0] / 20))) < 1e-4  # no delay
    z = F.lowpass(np.sin(2 * np.pi * 16000 * t), "cheby1_6")
    assert np.abs(z[mid]).max() < 1e-3  # far in the stopband


@pytest.mark.parametrize("name", ["ellip_12", "cheby1_6", "bessel_12"])
def test_window_crop_equals_whole_file(name):
    x = (np.random.default_rng(1).standard_normal((120_000, 2)) * 4000).astype("<i2")
    whole = F.lowpass(x.T / 32768, name)
    for start in (0, 777, 60_000, 120_000 - 8192):
        low, full = F.lowpass_window(x, start, 8192, name)
        ref = whole[:, start : start + 8192]
        assert np.array_equal(full, (x[start : start + 8192].T / 32768).astype(np.float32))
        snr = 10 * np.log10((ref**2).sum() / ((ref - low) ** 2).sum())
        assert snr > 90, (name, start, snr)
