"""The array forms of pow and atan2 (hdrkit.core.vecmath) against the C library (numpy)."""

import numpy as np
import pytest

from hdrkit.core.ipt import IPT_EXPONENT
from hdrkit.core.vecmath import atan2_rows, spow_rows


def _ulps(got, ref):
    return np.abs(got - ref) / np.spacing(np.abs(ref))


@pytest.mark.parametrize("e", [IPT_EXPONENT, 1.0 / IPT_EXPONENT])
def test_spow_within_a_few_ulp_over_the_gamut_map_range(e):
    rng = np.random.default_rng(3)
    x = np.concatenate([10 ** rng.uniform(-6, np.log10(8), 200_000), rng.uniform(0, 2, 100_000),
                        -(10 ** rng.uniform(-6, 0.5, 50_000)), [1.0, 2.0, 0.5, -1.0, 1e-6, 8.0]])
    ref = np.sign(x) * np.abs(x) ** e
    got = x.copy()
    spow_rows(got, e, got.size)
    u = _ulps(got, ref)
    assert u.max() <= (8 if e < 1 else 64), u.max()  # e ln|x| rounds to |e ln x| ulp of the exponent
    assert np.abs(got / ref - 1).max() < 1e-14
    assert got[-6] == 1.0 and got[-3] == -1.0


def test_spow_zero_sign_tiny_and_only_the_first_n():
    x = np.array([0.0, -0.0, 1e-301, -1e-301, 4.0, 9.0])
    spow_rows(x, 0.5, 5)
    np.testing.assert_array_equal(x[:4], 0.0)
    assert x[4] == 2.0 and x[5] == 9.0  # past n untouched
    y = np.array([1e-200])
    spow_rows(y, 2.3, 1)
    assert y[0] == 0.0  # the power underflows


def test_atan2_matches_numpy_over_all_quadrants():
    rng = np.random.default_rng(4)
    n = 300_000
    y = rng.normal(size=n) * 10 ** rng.uniform(-8, 1, n)
    x = rng.normal(size=n) * 10 ** rng.uniform(-8, 1, n)
    axes = np.array([[0.0, 1.0], [1.0, 0.0], [-1.0, 0.0], [0.0, -1.0], [2.0, 2.0], [-3.0, 3.0], [-1.0, -1.0]])
    y = np.concatenate([y, axes[:, 0]])
    x = np.concatenate([x, axes[:, 1]])
    out = np.empty(n + len(axes))
    atan2_rows(y, x, out, out.size)
    ref = np.arctan2(y, x)
    assert np.abs(out - ref).max() <= 4.5e-16  # 2 ulp of pi
    z = np.zeros(1)
    atan2_rows(np.zeros(1), np.zeros(1), z, 1)
    assert z[0] == 0.0
