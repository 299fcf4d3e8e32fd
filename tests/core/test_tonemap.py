"""Properties of every registered tone curve, over its parameter ranges and source peaks."""

import itertools

import numpy as np
import pytest

from hdrkit.core.tonemap import (MID_GREY_ANCHOR, PRESETS, TONE_CURVES, ToneContext, apply_maxrgb, curve_lut,
                                 encoded_mid_grey, resolve_curve)
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
    lut = curve_lut(c, c.defaults(), ToneContext(P))
    m = np.geomspace(1e-3, P, 2000)
    u = np.sqrt(m / P) * (lut.size - 1)
    approx = np.interp(u, np.arange(lut.size), lut) * m
    np.testing.assert_allclose(approx, c.apply(m, P), atol=2e-4)


def test_maxrgb_keeps_ratios():
    c = TONE_CURVES["bt2390"]
    rgb = np.array([[4.0, 2.0, 1.0], [0.1, 0.05, 0.02]])
    out = apply_maxrgb(rgb, c, c.defaults(), ToneContext(5.0))
    np.testing.assert_allclose(out[:, 1] / out[:, 0], rgb[:, 1] / rgb[:, 0])
    np.testing.assert_allclose(out[1], rgb[1])  # below the knee: untouched


# ------------------------------------------------------- reference-white anchor
def _code(y):
    """BT.1886 (2.4) 8-bit limited-range luma code of display light y (1.0 = SDR white)."""
    return 16 + 219 * np.asarray(y) ** (1 / 2.4)


@pytest.mark.parametrize("name", ["bt2390", "pwl", "hable", "knee-exp"])
def test_anchored_curve_keeps_white_and_below_when_the_peak_moves(name):
    """With the anchor (static source peak) fixed, reference white and everything below it do not
    move whatever the frame peak does (a light switching on must not pump a grey card)."""
    from hdrkit.core.tonemap import ToneContext, apply_anchored, get_curve

    c = get_curve(name)
    p = c.defaults()
    x = np.linspace(0.0, 1.0, 200)
    A = 4000 / 203
    base = apply_anchored(c, p, x, ToneContext(A, 1.0, A))
    for P in (1.0, 1.5, 2000 / 203, 6000 / 203):
        np.testing.assert_array_equal(apply_anchored(c, p, x, ToneContext(P, 1.0, A)), base)


@pytest.mark.parametrize("A", [400 / 203, 1000 / 203, 4000 / 203, 10000 / 203])
@pytest.mark.parametrize("P", [1.0, 1.2, 1000 / 203, 4000 / 203])
def test_anchored_curve_monotone_c1_and_reaches_the_peak(A, P):
    from hdrkit.core.tonemap import ToneContext, anchored_peak, apply_anchored, get_curve

    c = get_curve("bt2390")
    p = c.defaults()
    Pe = anchored_peak(c, p, P, 1.0, A)
    assert Pe >= P
    x = np.geomspace(1e-3, Pe, 20001)
    y = apply_anchored(c, p, x, ToneContext(P, 1.0, A))
    assert np.all(np.diff(y) >= 0) and y[-1] == pytest.approx(1.0) and y[0] >= 0
    d = np.diff(y) / np.diff(x)
    i = np.searchsorted(x, 1.0)
    assert d[i] == pytest.approx(d[i - 2], rel=0.02)  # C1 at reference white
    assert np.all(apply_anchored(c, p, np.array([Pe, 2 * Pe]), ToneContext(P, 1.0, A)) == 1.0)


def test_anchored_shoulder_keeps_highlight_levels():
    """A 4000 cd/m^2 source: 1000 and 4000 cd/m^2 at least 16 codes apart (the BT.2390 Hermite
    ends flat: 4), white and grey where BT.2390 puts them."""
    from hdrkit.core.tonemap import ToneContext, apply_anchored, get_curve

    c = get_curve("bt2390")
    p = c.defaults()
    A = 4000 / 203
    y = apply_anchored(c, p, np.array([0.18, 1.0, 1000 / 203, 4000 / 203]), ToneContext(A, 1.0, A))
    old = c.apply(np.array([0.18, 1.0, 1000 / 203, 4000 / 203]), A, 1.0, **p)
    assert _code(y[3]) - _code(y[2]) >= 16 > _code(old[3]) - _code(old[2]) + 10
    np.testing.assert_allclose(y[:2], old[:2], atol=1e-12)


def test_render_card_does_not_pump():
    """A 203 cd/m^2 card renders to the same codes whether or not a 2000 cd/m^2 light is in the
    frame (its peak), given the static anchor; without the anchor it would move."""
    from hdrkit.core.pipeline import RenderParams, render_sdr

    card = np.full((8, 8, 3), 1.0, np.float32)
    p = RenderParams()
    on = render_sdr(card, "bt2020", p, 2000 / 203, "bt1886", anchor_peak=4000 / 203)
    off = render_sdr(card, "bt2020", p, 1.0, "bt1886", anchor_peak=4000 / 203)
    np.testing.assert_array_equal(on, off)
    assert abs(int(render_sdr(card, "bt2020", p, 2000 / 203, "bt1886")[0, 0, 1])
               - int(render_sdr(card, "bt2020", p, 1.05, "bt1886")[0, 0, 1])) > 5


def test_reference_white_anchor_is_kept_per_curve_and_anchor():
    """The anchor of a clip is computed once (every LUT of the clip asks for it), gives what the
    curve gives, and a curve whose fields cannot be hashed still gets its anchor computed."""
    import dataclasses

    from hdrkit.core import tonemap as tm

    curve, params = tm.get_curve("bt2390"), {"knee_offset": 0.5}
    tm._anchor_at.cache_clear()
    first = tm._anchor(curve, params, 1.0, 4.9)
    again = tm._anchor(curve, dict(params), 1.0, 4.9)
    assert again == first and tm._anchor_at.cache_info().hits == 1
    # the anchor is white's output and slope, in PQ, of the curve at the anchor peak
    y = curve.apply(np.array([1.0]), 4.9, 1.0, **params)
    assert first[0] == pytest.approx(float(tm._pq_rel(y)[0]), abs=1e-12) and first[1] > 0
    unhashable = dataclasses.replace(curve, params=[*curve.params])  # a list: no hash
    assert tm._anchor(unhashable, params, 1.0, 4.9) == first
