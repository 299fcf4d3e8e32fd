"""Transfer functions against colour-science (an independent implementation) and properties."""

import colour
import numpy as np
import pytest

from hdrkit.core import transfer as T

X = np.linspace(0, 1, 1001)


@pytest.mark.parametrize("ours, theirs", [
    (T.eotf_srgb, lambda v: colour.models.eotf_sRGB(v)),
    (T.eotf_inverse_srgb, lambda v: colour.models.eotf_inverse_sRGB(v)),
    (T.oetf_bt709, lambda v: colour.models.oetf_BT709(v)),
    (T.oetf_inverse_bt709, lambda v: colour.models.oetf_inverse_BT709(v)),
    (T.eotf_bt1886, lambda v: colour.models.eotf_BT1886(v)),
    (T.eotf_inverse_bt1886, lambda v: colour.models.eotf_inverse_BT1886(v)),
    (T.eotf_st2084, lambda v: colour.models.eotf_ST2084(v)),
    (T.oetf_hlg, lambda v: colour.models.oetf_BT2100_HLG(v)),
    (T.oetf_inverse_hlg, lambda v: colour.models.oetf_inverse_BT2100_HLG(v)),
])
def test_against_colour_science(ours, theirs):
    # colour derives HLG b, c from a; BT.2100 prints them to 8 decimals: 3e-9 relative apart
    np.testing.assert_allclose(ours(X), theirs(X), rtol=5e-9, atol=1e-12)


def test_pq_inverse_against_colour_science():
    nits = np.geomspace(1e-4, 10000, 500)
    np.testing.assert_allclose(T.eotf_inverse_st2084(nits), colour.models.eotf_inverse_ST2084(nits), rtol=1e-10)


@pytest.mark.parametrize("L_W", [400.0, 1000.0, 2000.0])
def test_hlg_ootf_against_colour_science(L_W):
    rng = np.random.default_rng(0)
    E = rng.random((200, 3))
    ours = T.ootf_hlg(E, L_W=L_W)
    theirs = colour.models.ootf_BT2100_HLG(E, L_W=L_W, L_B=0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-4)  # colour uses the 4-decimal BT.2020 weights
    np.testing.assert_allclose(T.ootf_inverse_hlg(ours, L_W=L_W), E, rtol=1e-9, atol=1e-12)


def test_hlg_system_gamma():
    assert T.hlg_system_gamma(1000) == pytest.approx(1.2)
    assert T.hlg_system_gamma(2000) == pytest.approx(1.2 + 0.42 * np.log10(2))


def test_reference_white_anchors():
    """BT.2408: 203 cd/m^2 = PQ 58 %, = HLG 75 % on a 1000 cd/m^2 display."""
    assert T.eotf_inverse_st2084(203.0) == pytest.approx(0.5807, abs=1e-4)
    grey = np.full(3, 0.75)
    assert T.eotf_hlg(grey)[0] == pytest.approx(203.0, rel=0.003)
    assert T.nits_to_relative(203.0) == 1.0


@pytest.mark.parametrize("fwd, inv", [(T.eotf_srgb, T.eotf_inverse_srgb), (T.oetf_bt709, T.oetf_inverse_bt709),
                                      (T.eotf_bt1886, T.eotf_inverse_bt1886), (T.oetf_hlg, T.oetf_inverse_hlg)])
def test_round_trip_and_monotone(fwd, inv):
    y = fwd(X)
    assert np.all(np.diff(y) > 0)
    np.testing.assert_allclose(inv(y), X, atol=1e-12)


def test_pq_round_trip_monotone():
    E = np.linspace(0, 1, 4097)
    L = T.eotf_st2084(E)
    assert np.all(np.diff(L) > 0)
    np.testing.assert_allclose(T.eotf_inverse_st2084(L), E, atol=1e-6)  # below PQ(0) = c1^m2 = 7.3e-7 all is black


@pytest.mark.parametrize("fn", [T.eotf_srgb, T.eotf_inverse_srgb, T.oetf_bt709, T.eotf_st2084, T.eotf_inverse_st2084,
                                T.oetf_hlg, T.oetf_inverse_hlg])
def test_shapes_and_nan_safety(fn):
    v = np.linspace(0, 1, 24)
    np.testing.assert_array_equal(fn(v).reshape(2, 3, 4), fn(v.reshape(2, 3, 4)))
    with np.errstate(all="ignore"):
        out = fn(np.array([-0.5, np.nan, np.inf]))
    assert out.shape == (3,)
    assert fn(np.float32(0.5)).dtype == np.float32
