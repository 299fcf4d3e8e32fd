"""PQ <-> HLG conversion: colour-science as the oracle, BT.2408 anchors, properties."""

import colour
import numpy as np
import pytest

from hdrkit.core import pq_hlg as C
from hdrkit.core.transfer import eotf_inverse_st2084, eotf_st2084


def grey(nits):
    n = np.asarray(nits, dtype=np.float64)
    return np.repeat(n[..., None], 3, axis=-1)


def test_reference_white_is_75_percent_hlg():
    # BT.2408 §2.1: 203 cd/m^2 on the 1000 cd/m^2 reference display = 75 % HLG
    e = C.pq_to_hlg(eotf_inverse_st2084(grey(203.0)))
    np.testing.assert_allclose(e, 0.75, atol=5e-4)
    np.testing.assert_allclose(eotf_st2084(C.hlg_to_pq(grey(0.75))), 203.0, rtol=2e-3)


def test_hlg_peak_is_1000_nits():
    np.testing.assert_allclose(C.hlg_to_pq_display(grey(1.0)), 1000.0, rtol=1e-7)  # 8-decimal a, b, c
    np.testing.assert_allclose(C.pq_to_hlg_display(grey(1000.0)), 1.0, atol=1e-7)


def test_against_colour_science():
    rng = np.random.default_rng(1)
    e_hlg = rng.random((500, 3))
    ours = C.hlg_to_pq(e_hlg)
    theirs = colour.models.eotf_inverse_BT2100_PQ(colour.models.eotf_BT2100_HLG(e_hlg, L_B=0, L_W=1000))
    np.testing.assert_allclose(ours, theirs, atol=2e-5)  # colour: 4-decimal BT.2020 weights
    # and PQ display light within 1000 cd/m^2 (no tone mapping) back to HLG
    F = colour.models.eotf_BT2100_HLG(e_hlg, L_B=0, L_W=1000)
    np.testing.assert_allclose(C.pq_to_hlg_display(F, src_peak_nits=1000.0),
                               colour.models.eotf_inverse_BT2100_HLG(F, L_B=0, L_W=1000), atol=1e-4)


def test_round_trip_within_one_percent():
    nits = np.geomspace(0.1, 1000.0, 400)
    # greys, and coloured pixels up to 800 cd/m^2: a saturated colour near the peak needs
    # scene light above 1.0 in one channel (HLG's own gamut limit at 1000 cd/m^2) and clips
    col = np.geomspace(0.1, 800.0, 400)
    rgb = np.concatenate([grey(nits), col[:, None] * np.array([1.0, 0.4, 0.1]),
                          col[:, None] * np.array([0.2, 1.0, 0.6])])
    back = eotf_st2084(C.hlg_to_pq(C.pq_to_hlg(eotf_inverse_st2084(rgb), src_peak_nits=1000.0)))
    big = rgb > 0.05  # channels far below the pixel's maxRGB are not what the anchor is about
    np.testing.assert_allclose(back[big], rgb[big], rtol=0.01)
    np.testing.assert_allclose(back[:, 0][:400], nits, rtol=0.01)


def test_above_1000_is_tone_mapped_with_the_eetf():
    from hdrkit.core.tonemap import ToneContext, apply_maxrgb, get_curve

    nits = np.array([100.0, 500.0, 1000.0, 2000.0, 4000.0])
    F = grey(nits)
    out = C.pq_tone_map_to_hlg_peak(F, src_peak_nits=4000.0)
    c = get_curve("bt2390")
    want = apply_maxrgb(F / 203.0, c, c.defaults(), ToneContext(4000 / 203.0, 1000 / 203.0)) * 203.0
    np.testing.assert_allclose(out, want, rtol=1e-12)
    assert out.max() == pytest.approx(1000.0)
    assert out[0, 0] == pytest.approx(100.0)  # below the knee: untouched
    e = C.pq_to_hlg_display(F, src_peak_nits=4000.0)
    assert e.max() == pytest.approx(1.0)
    assert np.all(np.diff(e[:, 0]) > 0)


def test_hue_kept_through_the_eetf():
    F = np.array([[3000.0, 1500.0, 300.0]])
    out = C.pq_tone_map_to_hlg_peak(F, src_peak_nits=4000.0)
    np.testing.assert_allclose(out / out.max(), F / F.max(), rtol=1e-12)


@pytest.mark.parametrize("peak", [1000.0, 2000.0, 4000.0, 10000.0])
def test_monotone_and_continuous(peak):
    e_pq = np.linspace(0, 1, 20001)
    e = C.pq_to_hlg(grey(e_pq), src_peak_nits=peak)[:, 0]
    assert np.all(np.diff(e) >= -1e-12)
    assert np.max(np.abs(np.diff(e))) < 0.01  # no jump between neighbouring PQ codes
    back = C.hlg_to_pq(grey(np.linspace(0, 1, 20001)))[:, 0]
    assert np.all(np.diff(back) >= 0)
    assert np.max(np.abs(np.diff(back))) < 0.01


def test_shapes_dtypes_and_bad_values():
    x = np.full((2, 3, 3), 0.5, dtype=np.float32)
    assert C.pq_to_hlg(x).dtype == np.float32
    assert C.hlg_to_pq(x).shape == (2, 3, 3)
    bad = np.array([[np.nan, -1.0, 2.0]])
    assert np.all(np.isfinite(C.pq_to_hlg(bad)))
    assert np.all(np.isfinite(C.hlg_to_pq(bad)))
    with pytest.raises(ValueError):
        C.pq_to_hlg(np.zeros(4))
