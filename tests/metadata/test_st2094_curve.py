"""ST 2094-40 knee + Bezier curve (libplacebo maths) against an independent Bernstein evaluation."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.interpolate import BPoly

from hdrkit.core.st2094 import pick_knee, st2094_40_curve, st2094_40_params, st2094_40_relative

# the hdr10plus_tool sample's curve: knee 164/4095, 240/4095, nine anchors / 1023
KX, KY = 164 / 4095, 240 / 4095
ANCH = [a / 1023 for a in (143, 298, 447, 592, 731, 864, 891, 917, 938)]


def _oracle(x_nits, peak, target):
    """ST 2094-40 Annex B as written: linear below the knee, Bernstein polynomial above (scipy)."""
    x = np.asarray(x_nits) / peak
    P = np.array([0.0, *ANCH, 1.0])
    bp = BPoly(P.reshape(-1, 1), [KX, 1.0])  # Bernstein basis on [Kx, 1]
    y = np.where(x <= KX, x * KY / KX, KY + (1 - KY) * bp(np.clip(x, KX, 1)))
    return y * target


def test_metadata_curve_at_target_display_matches_oracle():
    L = np.linspace(0, 4000, 2001)
    got = st2094_40_curve(L, 4000, 400, KX, KY, ANCH, 400)
    assert np.allclose(got, _oracle(L, 4000, 400), rtol=1e-9, atol=1e-9)


@pytest.mark.parametrize("D", [150.0, 300.0, 400.0, 800.0, 2000.0, 3999.0])
def test_display_adaptation_is_monotone_and_anchored(D):
    L = np.linspace(0, 4000, 4001)
    y = st2094_40_curve(L, 4000, D, KX, KY, ANCH, 400)
    assert y[0] == pytest.approx(0.0, abs=1e-9)
    assert y[-1] == pytest.approx(D)
    assert np.all(np.diff(y) >= -1e-9)


def test_brighter_display_tends_to_linear():
    L = np.linspace(0, 4000, 801)
    near = st2094_40_curve(L, 4000, 3990, KX, KY, ANCH, 400)
    assert np.max(np.abs(near - L * 3990 / 4000)) < 0.02 * 4000


def test_no_metadata_knee_mode():
    c = st2094_40_params(1000, 203)
    assert 0 < c.knee_x < 1 and 0 < c.knee_y < 1
    assert c.points[0] == 0 and c.points[-1] == 1
    sk, dk = pick_knee(0.0, 1000.0, 0.0, 203.0)
    assert c.knee_x == pytest.approx(sk / 1000) and c.knee_y == pytest.approx(dk / 203)
    L = np.linspace(0, 1000, 1001)
    y = c(L)
    assert np.all(np.diff(y) >= -1e-9) and y[-1] == pytest.approx(203)
    # the Bezier start slope matches the linear part (libplacebo st2094_intercept): C1 at the knee
    k = c.knee_x * 1000
    left = (c(k) - c(k - 1e-3)) / 1e-3
    right = (c(k + 1e-3) - c(k)) / 1e-3
    assert right == pytest.approx(left, rel=2e-2)


def test_relative_wrapper_for_the_curve_registry():
    x = np.linspace(0, 5, 501)
    y = st2094_40_relative(x, 5.0, 1.0)
    assert y[0] == pytest.approx(0) and y[-1] == pytest.approx(1.0)
    assert np.all(np.diff(y) >= -1e-12)
