"""Matrices derived from chromaticities, checked against colour-science."""

import colour
import numpy as np
import pytest

from hdrkit.core.primaries import PRIMARIES, luminance_weights, rgb_to_rgb_matrix, rgb_to_xyz_matrix
from hdrkit.core.ycbcr import rgb_to_ycbcr, ycbcr_to_rgb, ycbcr_to_rgb_matrix

CS = {"bt709": "ITU-R BT.709", "p3": "Display P3", "bt2020": "ITU-R BT.2020"}


@pytest.mark.parametrize("name", list(PRIMARIES))
def test_npm_matches_colour(name):
    np.testing.assert_allclose(rgb_to_xyz_matrix(name), colour.RGB_COLOURSPACES[CS[name]].matrix_RGB_to_XYZ, atol=2e-8)


@pytest.mark.parametrize("src", list(PRIMARIES))
@pytest.mark.parametrize("dst", list(PRIMARIES))
def test_rgb_to_rgb_matches_colour(src, dst):
    theirs = colour.matrix_RGB_to_RGB(colour.RGB_COLOURSPACES[CS[src]], colour.RGB_COLOURSPACES[CS[dst]])
    np.testing.assert_allclose(rgb_to_rgb_matrix(src, dst), theirs, atol=1e-8)


def test_luminance_weights_per_gamut():
    np.testing.assert_allclose(luminance_weights("bt709"), [0.2126, 0.7152, 0.0722], atol=6e-5)
    np.testing.assert_allclose(luminance_weights("bt2020"), [0.2627, 0.6780, 0.0593], atol=5e-5)
    w = luminance_weights("p3")
    assert abs(w[0] - 0.2627) > 0.02  # not BT.2020's weights
    for name in PRIMARIES:
        assert luminance_weights(name).sum() == pytest.approx(1.0)
        np.testing.assert_allclose(np.ones(3) @ rgb_to_rgb_matrix(name, "bt709").T, np.ones(3), atol=1e-12)


@pytest.mark.parametrize("matrix", ["bt601", "bt709", "bt2020"])
@pytest.mark.parametrize("bits, full", [(8, True), (10, False), (10, True)])
def test_ycbcr_round_trip(matrix, bits, full):
    rng = np.random.default_rng(1)
    rgb = rng.random((50, 3))
    ycc = rgb_to_ycbcr(rgb, matrix, bits, full)
    back = ycbcr_to_rgb(ycc[:, 0], ycc[:, 1], ycc[:, 2], matrix, bits, full)
    np.testing.assert_allclose(back, rgb, atol=1e-5)


def test_ycbcr_against_colour():
    m = ycbcr_to_rgb_matrix("bt2020")
    theirs = colour.matrix_YCbCr(K=colour.WEIGHTS_YCBCR["ITU-R BT.2020"], bits=10, is_legal=False, is_int=False)
    np.testing.assert_allclose(m, theirs, atol=2e-4)  # colour uses the printed 4-decimal Kr/Kb


def test_bt709_luma_weights_are_the_derived_ones_as_bt709_prints_them():
    from hdrkit.core.primaries import BT709_LUMA_WEIGHTS, luminance_weights

    assert tuple(np.round(luminance_weights("bt709"), 4)) == BT709_LUMA_WEIGHTS
