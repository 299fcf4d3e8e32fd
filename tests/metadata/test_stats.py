"""hdrkit.core.stats: the fast histogram path against plain numpy, active-area detection, speed."""

from __future__ import annotations


import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from hdrkit.core import stats
from hdrkit.core.stats import (GENERAL_PERCENTILES, HDR10PLUS_DISTRIBUTION_INDEX, detect_active_area, frame_stats,
                               frame_stats_reference, merge_active_areas)
from hdrkit.errors import OptionError

BT2020_Y = np.array([0.2627, 0.6780, 0.0593])  # BT.2020 Table 4 luminance coefficients


def _scene(h=120, w=200, seed=0, bars=(10, 12, 0, 0)):
    rng = np.random.default_rng(seed)
    img = rng.lognormal(3.0, 1.4, (h, w, 3)).astype(np.float32)
    t, b, l, r = bars
    img[:t] = 0
    img[h - b:] = 0
    img[:, :l] = 0
    img[:, w - r:] = 0
    img[40:50, 60:80] = [1200.0, 3.0, 0.5]  # saturated red highlight, constant patch
    return img


def _close(a, b, rel=2e-3, abs_=1e-3):
    return abs(a - b) <= max(abs_, rel * abs(b))


def test_fast_matches_reference_everywhere():
    img = _scene()
    act = detect_active_area(img)
    f, r = frame_stats(img, act), frame_stats_reference(img, act)
    assert f.active == r.active == (10, 108, 0, 200)
    assert f.pixels == r.pixels == 98 * 200
    assert f.max_nits == r.max_nits and f.maxscl == r.maxscl  # exact: maxima are not binned
    assert _close(f.mean_nits, r.mean_nits, 1e-6)
    assert _close(f.mean_luma_nits, r.mean_luma_nits, 1e-6)
    assert abs(f.apl - r.apl) < 5e-4
    for (p, a), (_, b) in zip(f.percentiles, r.percentiles):
        assert _close(a, b, 4e-3), (p, a, b)  # within the 0.4 % bin width
    assert all(abs(a - b) <= max(2, 0.004 * b) for a, b in zip(f.hdr10plus_distribution, r.hdr10plus_distribution))
    assert np.allclose(f.histogram, r.histogram, atol=2e-3)
    assert f.frac_le_100 == r.frac_le_100 and f.frac_above_sdr == r.frac_above_sdr


def test_reference_definitions_against_plain_numpy():
    img = _scene(seed=3)
    act = (10, 108, 0, 200)
    r = frame_stats_reference(img, act)
    crop = img[10:108].astype(np.float64)
    m = crop.max(axis=-1)
    assert r.max_nits == pytest.approx(m.max())
    assert r.mean_nits == pytest.approx(m.mean())  # linear-light mean of maxRGB
    assert r.maxscl == pytest.approx(tuple(crop.reshape(-1, 3).max(axis=0)))
    assert r.mean_luma_nits == pytest.approx((crop @ BT2020_Y).mean(), rel=1e-4)
    for p in (1, 50, 99.98):
        assert r.percentile(p) == pytest.approx(np.percentile(m, p))
    # HDR10+ slots (0.1 cd/m^2): 1 -> P1, 5 -> P99.99, 10 -> % <= 100 nits, 99 -> P99.98
    d = dict(zip(HDR10PLUS_DISTRIBUTION_INDEX, r.hdr10plus_distribution))
    assert d[1] == round(np.percentile(m, 1) * 10)
    assert d[5] == round(np.percentile(m, 99.99) * 10)
    assert d[10] == round(100 * np.mean(m <= 100))
    assert d[50] == round(np.percentile(m, 50) * 10)
    assert d[99] == round(np.percentile(m, 99.98) * 10)


def test_constant_patch_percentiles_exact():
    img = np.zeros((64, 64, 3), np.float32)
    img[:] = [10.0, 20.0, 5.0]
    img[:8, :8] = [0.0, 0.0, 987.654]
    f = frame_stats(img, (0, 64, 0, 64))
    assert f.percentile(50) == pytest.approx(20.0, rel=1e-6)
    assert f.percentile(99.99) == pytest.approx(987.654, rel=1e-6)
    assert f.maxscl == pytest.approx((10.0, 20.0, 987.654), rel=1e-6)


def test_nan_negative_and_float64_input():
    img = _scene(seed=5).astype(np.float64)
    img[0:5, 0:5] = np.nan
    img[5:9, 0:5] = -50.0
    f = frame_stats(img, (0, img.shape[0], 0, img.shape[1]))
    r = frame_stats_reference(img, (0, img.shape[0], 0, img.shape[1]))
    assert np.isfinite(f.mean_nits) and f.max_nits == pytest.approx(r.max_nits)
    assert _close(f.mean_nits, r.mean_nits, 1e-5)


@settings(max_examples=25, deadline=None)
@given(h=st.integers(1, 40), w=st.integers(1, 40), seed=st.integers(0, 10_000), scale=st.floats(0.01, 5000))
def test_fast_vs_reference_random(h, w, seed, scale):
    img = (np.random.default_rng(seed).random((h, w, 3)) * scale).astype(np.float32)
    a = (0, h, 0, w)
    f, r = frame_stats(img, a), frame_stats_reference(img, a)
    assert f.max_nits == r.max_nits
    assert _close(f.mean_nits, r.mean_nits, 1e-5, 1e-6)
    for (_, x), (_, y) in zip(f.percentiles, r.percentiles):
        assert _close(x, y, 4e-3, 1e-6)


def test_active_area_letterbox_pillarbox_and_black():
    img = np.zeros((90, 160, 3), np.float32)
    img[12:78, 20:140] = 50.0
    img[30:78:7, 20:140] = 0.0  # black rows inside the picture do not end it
    img[0:12] = 0.01  # coding noise in the bar, below the threshold
    assert detect_active_area(img) == (12, 78, 20, 140)
    assert detect_active_area(img[..., 1]) == (12, 78, 20, 140)  # luminance plane works too
    assert detect_active_area(np.zeros((10, 10, 3))) == (0, 10, 0, 10)
    assert merge_active_areas([(12, 78, 20, 140), (10, 80, 22, 138)]) == (10, 80, 20, 140)


def test_letterbox_excluded_from_mean():
    img = np.zeros((100, 100, 3), np.float32)
    img[20:80] = 100.0
    f = frame_stats(img)  # auto-detected active area
    assert f.active == (20, 80, 0, 100)
    assert f.mean_nits == pytest.approx(100.0)
    assert frame_stats(img, (0, 100, 0, 100)).mean_nits == pytest.approx(60.0)


def test_bad_arguments():
    with pytest.raises(OptionError):
        frame_stats(np.zeros((4, 4)))
    with pytest.raises(OptionError):
        frame_stats(np.zeros((4, 4, 3)), (3, 2, 0, 4))
    with pytest.raises(OptionError):
        frame_stats(np.zeros((4, 4, 3)), (0, 4, 0, 4)).percentile(12.5)


def test_to_dict_round_trip():
    f = frame_stats(_scene())
    assert stats.FrameStats.from_dict(f.to_dict()) == f
    assert {p for p, _ in f.percentiles} == set(GENERAL_PERCENTILES)


def test_row_and_column_maxima_equal_numpy_with_nan_inf_and_negatives():
    from hdrkit.core.stats import _row_col_max

    rng = np.random.default_rng(5)
    img = (rng.standard_normal((301, 517, 3)) * 300).astype(np.float32)  # bands of uneven size
    img[rng.random(img.shape) < 0.01] = np.nan
    img[rng.random(img.shape) < 0.001] = np.inf
    img[rng.random(img.shape) < 0.001] = -np.inf
    m = np.where(img > 0, img, 0).max(axis=2)  # NaN and negatives count as 0
    rows, cols = _row_col_max(img)
    np.testing.assert_array_equal(rows, m.max(axis=1))
    np.testing.assert_array_equal(cols, m.max(axis=0))
    gray_rows, gray_cols = _row_col_max(img[..., :1])  # the general channel loop
    g = np.where(img[..., 0] > 0, img[..., 0], 0)
    np.testing.assert_array_equal(gray_rows, g.max(axis=1))
    np.testing.assert_array_equal(gray_cols, g.max(axis=0))
