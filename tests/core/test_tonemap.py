"""Properties of every registered tone curve, over its parameter ranges and source peaks."""

import itertools

import numpy as np
import pytest

from hdrkit.core.tonemap import (MID_GREY_ANCHOR, PRESETS, TONE_CURVES, apply_maxrgb, curve_lut, encoded_mid_grey,
                                 resolve_curve)
from hdrkit.errors import OptionError

PEAKS = [1.2, 2.0, 4.93, 10.0, 49.26]


def _param_grid(curve):
    """Defaults, plus each parameter at its low and high end (one at a time)."""
    yield curve.defaults()
    for p in curve.params:
        for v in (p.lo, p.hi):
            yield {**curve.defaults(), p.name: v}


@pytest.mark.parametrize("name", list(TONE_CURVES))
def test_properties(name):
    c = TONE_CURVES[name]
    for params, P in itertools.product(list(_param_grid(c)), PEAKS):
        x = np.linspace(0, P * 1.2, 60001)
        y = c.apply(x, P, 1.0, **params)
        assert np.all(np.isfinite(y)), (params, P)
        assert y[0] == 0.0, "black must stay black"
        d = np.diff(y)
        assert d.min() >= -1e-12, f"not monotone at {params}, peak {P}"
        assert y[np.searchsorted(x, P)] == pytest.approx(1.0, abs=1e-6), "peak must land on the display peak"
        assert y.max() <= 1.0 + 1e-12
        # continuity: refining the grid tenfold shrinks the largest step about tenfold (a jump would not)
        h = x[1] - x[0]
        slope = d / h
        i = int(np.argmax(d))
        xf = np.linspace(x[i], x[i + 1], 11)
        assert np.diff(c.apply(xf, P, 1.0, **params)).max() < 0.2 * d[i] + 1e-12
        if c.c1:
            # a kink is a slope jump that does not shrink when the grid is refined; a steep but
            # smooth bend does (C1: jump ~ h)
            below = x[1:] < P * 0.999
            jumps = np.abs(np.diff(slope[below]))
            k = int(np.argmax(jumps))
            if jumps[k] > 1e-3 * max(slope[below].max(), 1.0):
                xf = np.linspace(x[k], x[k + 2], 2001)
                sf = np.diff(c.apply(xf, P, 1.0, **params)) / (xf[1] - xf[0])
                assert np.abs(np.diff(sf)).max() < 0.1 * jumps[k], f"C1 violated at {params}, peak {P}"


@pytest.mark.parametrize("name", list(TONE_CURVES))
def test_identity_without_headroom(name):
    c = TONE_CURVES[name]
    x = np.linspace(0, 2, 101)
    np.testing.assert_array_equal(c.apply(x, 1.0, 1.0), np.minimum(x, 1.0))
    np.testing.assert_array_equal(c.apply(x, 0.8, 1.0), np.minimum(x, 1.0))


@pytest.mark.parametrize("name", [n for n, c in TONE_CURVES.items() if c.mid_grey_anchored])
@pytest.mark.parametrize("P", [2.0, 4.93, 10.0])
def test_mid_grey_anchor(name, P):
    c = TONE_CURVES[name]
    lo, hi = MID_GREY_ANCHOR
    assert lo <= encoded_mid_grey(c, c.defaults(), P) <= hi


def test_bt2390_matches_report_knee():
    """Below KS = 1.5 maxLum - 0.5 (normalised PQ) the EETF is the identity."""
    from hdrkit.core.transfer import eotf_inverse_st2084, eotf_st2084
    c = TONE_CURVES["bt2390"]
    P = 1000 / 203
    pq = eotf_inverse_st2084
    ks = 1.5 * pq(203.0) / pq(1000.0) - 0.5
    knee_rel = eotf_st2084(ks * pq(1000.0)) / 203.0
    x = np.linspace(0, knee_rel * 0.999, 50)
    np.testing.assert_allclose(c.apply(x, P, 1.0), x, rtol=1e-12)
    assert c.apply(np.array([knee_rel * 1.2]), P, 1.0)[0] < knee_rel * 1.2


def test_presets_resolve_and_overrides():
    for name, (curve, params) in PRESETS.items():
        c, p = resolve_curve(None, name, None)
        assert c.name == curve and p == {**c.defaults(), **params}
    c, p = resolve_curve(None, "portrait", {"knee_out": 0.28})
    assert p["knee_out"] == 0.28
    with pytest.raises(OptionError):
        resolve_curve("hable", "portrait", None)
    with pytest.raises(OptionError):
        resolve_curve("pwl", None, {"knee_in": 5.0})
    with pytest.raises(OptionError):
        resolve_curve("nope", None, None)


@pytest.mark.parametrize("name", list(TONE_CURVES))
def test_lut_matches_curve(name):
    c = TONE_CURVES[name]
    P = 6.0
    lut = curve_lut(c, c.defaults(), P)
    m = np.geomspace(1e-3, P, 2000)
    u = np.sqrt(m / P) * (lut.size - 1)
    approx = np.interp(u, np.arange(lut.size), lut) * m
    np.testing.assert_allclose(approx, c.apply(m, P), atol=2e-4)


def test_maxrgb_keeps_ratios():
    c = TONE_CURVES["bt2390"]
    rgb = np.array([[4.0, 2.0, 1.0], [0.1, 0.05, 0.02]])
    out = apply_maxrgb(rgb, c, c.defaults(), 5.0)
    np.testing.assert_allclose(out[:, 1] / out[:, 0], rgb[:, 1] / rgb[:, 0])
    np.testing.assert_allclose(out[1], rgb[1])  # below the knee: untouched
