"""Tone metrics: definitions checked with colour-science's sRGB and constructed images."""

import colour
import numpy as np
import pytest

from hdrkit.core.tonemap import get_curve
from hdrkit.metrics import tone

RNG = np.random.default_rng(11)
W709 = np.array([0.2126, 0.7152, 0.0722])


def _ramp(h=64, w=256):
    x = np.linspace(0, 1, w)[None, :, None] * np.ones((h, 1, 3))
    return x * np.array([1.0, 0.9, 0.8])


def test_mad_8bit_units_and_dtypes():
    prev = _ramp()
    e8 = np.clip(np.round(prev * 255) + 2, 0, 255).astype(np.uint8)
    inside = (np.round(prev * 255) + 2 <= 255).all(-1)
    expected = np.abs(e8.astype(float) - prev * 255)[inside].mean()
    assert tone.mad_8bit(prev, e8, inside) == pytest.approx(expected, rel=1e-12)
    assert 1.5 < tone.mad_8bit(prev, e8, inside) < 2.5  # about two codes
    assert tone.mad_8bit(e8, e8) == 0.0
    assert tone.mad_8bit(prev, e8.astype(np.float64) / 255, inside) == pytest.approx(expected)


def test_highlight_mask_is_top_decile_and_handles_ties():
    prev = _ramp()
    m = tone.highlight_mask(prev)
    assert 0.08 < m.mean() <= 0.10
    Y = colour.models.eotf_sRGB(prev) @ W709
    assert Y[m].min() >= Y[~m].max()
    flat = np.ones((10, 10, 3))
    flat[0, 0] = 0.2  # 99 % of the picture tied at the top
    assert tone.highlight_mask(flat).sum() == 99


def test_highlight_delta_y_against_colour_science():
    prev = _ramp()
    exp = np.clip(prev * 0.98, 0, 1)
    m = tone.highlight_mask(prev)
    dy = np.abs(colour.models.eotf_sRGB(exp) @ W709 - colour.models.eotf_sRGB(prev) @ W709)[m]
    mean, p95 = tone.highlight_delta_y(prev, exp)
    assert mean == pytest.approx(dy.mean(), rel=1e-4)  # derived vs printed BT.709 weights
    assert p95 == pytest.approx(np.percentile(dy, 95), rel=1e-4)


def test_encoded_level_of_a_grey_patch():
    patch = np.full((8, 8, 3), colour.models.eotf_inverse_sRGB(0.18))
    assert tone.encoded_level(patch, np.ones((8, 8), bool)) == pytest.approx(0.4614, abs=1e-4)
    assert np.isnan(tone.encoded_level(patch, np.zeros((8, 8), bool)))


def test_highlight_retention():
    src = np.full((4, 4, 3), 3.0)  # 609 cd/m^2: above what SDR shows
    mask = np.ones((4, 4), bool)
    assert tone.highlight_retention(np.ones((4, 4, 3)), src, mask) == pytest.approx(1.0)
    half = np.full((4, 4, 3), colour.models.eotf_inverse_sRGB(0.5))
    assert tone.highlight_retention(half, src, mask) == pytest.approx(0.5, rel=1e-6)
    # saturated highlights count by their strongest channel
    red = np.zeros((4, 4, 3))
    red[..., 0] = 1.0
    assert tone.highlight_retention(red, src * np.array([1, 0, 0]), mask) == pytest.approx(1.0)


@pytest.mark.parametrize("curve", ["bt2390", "hable", "pwl"])
def test_eotf_rmse_zero_for_the_curves_own_output_and_sees_an_offset(curve):
    c = get_curve(curve)
    peak = 8.0
    x = np.geomspace(1 / 128, peak, 512)
    src = np.repeat(x[None, :, None], 3, axis=-1) * np.ones((4, 1, 1))
    intent = colour.models.eotf_inverse_sRGB(c.apply(src[..., 0], peak, 1.0))
    exact = np.repeat(intent[..., None], 3, axis=-1)
    mask = np.ones(src.shape[:2], bool)
    assert tone.eotf_rmse(exact, src, mask, c, c.defaults(), peak) < 1e-9
    q8 = np.round(exact * 255).astype(np.uint8)
    assert tone.eotf_rmse(q8, src, mask, c, c.defaults(), peak) < 0.5 / 255 * 1.01
    off = np.clip(np.round(exact * 255) + 5, 0, 255).astype(np.uint8)
    assert tone.eotf_rmse(off, src, mask, c, c.defaults(), peak) == pytest.approx(5 / 255, rel=0.15)
