"""Elementary functions over packed float64 arrays, in loops LLVM vectorises (numba, cached on disk).

numba compiles ``math.pow`` and ``math.atan2`` to calls of the C library, one value at a
time: a loop holding one stays scalar. These forms use only arithmetic, ``floor``,
``sqrt`` and integer operations on the bits of a float64, so LLVM turns each loop into
AVX2 / AVX-512 code (4 or 8 values at once). They serve the hue-preserving gamut map of
:mod:`hdrkit.core.kernels`, whose pixels need six powers and one arc tangent each.

Accuracy (measured against the C library over the ranges the gamut map uses, arguments
1e-6..8, tests in ``tests/core/test_vecmath.py``): :func:`spow_rows` within 8 units in the
last place (ulp, 1e-15 relative) for the exponent 0.43 and 43 ulp (6e-15) for 1 / 0.43,
where rounding ``e ln|x|`` is magnified by the exponent; :func:`atan2_rows` within 4.5e-16
rad. All are far below float32 resolution (6e-8 relative), the precision of every kernel
output.

References
----------
- W. J. Cody, W. Waite, *Software Manual for the Elementary Functions*, Prentice-Hall (1980):
  argument reduction by a two-part ln 2.
- fdlibm 5.3 (Sun Microsystems, 1993), ``e_log.c`` and ``e_exp.c``: reduction of the argument
  to [sqrt(2)/2, sqrt(2)], the series in ``s = f / (2 + f)``, the Remez coefficients Lg1-Lg7
  and P1-P5, and the rational form of ``exp`` on [-ln2 / 2, ln2 / 2].
- S. L. Moshier, *Methods and Programs for Mathematical Functions*, Prentice-Hall (1989)
  (Cephes ``atan.c``): reduction at tan(3 pi / 8) and 0.66, and the rational approximation
  P(x^2) / Q(x^2).
"""

from __future__ import annotations

import math

import numpy as np

from .jit import njit

__all__ = ["spow_rows", "atan2_rows"]

#: No reassociation: the reductions below rely on the order of their additions.
_FM = {"nsz", "contract"}

_LN2_HI = 6.93147180369123816490e-01  # ln 2 rounded to 32 significant bits: k * _LN2_HI is exact
_LN2_LO = 1.90821492927058770002e-10
_INV_LN2 = 1.44269504088896338700e+00
_LG1, _LG2, _LG3 = 6.666666666666735130e-01, 3.999999999940941908e-01, 2.857142874366239149e-01
_LG4, _LG5, _LG6 = 2.222219843214978396e-01, 1.818357216161805012e-01, 1.531383769920937332e-01
_LG7 = 1.479819860511658591e-01
_P1, _P2, _P3 = 1.66666666666666019037e-01, -2.77777777770155933842e-03, 6.61375632143793436117e-05
_P4, _P5 = -1.65339022054652515390e-06, 4.13813679705723846039e-08
_SQRT_HALF_HI = 0x3FE6A09E  # high word of sqrt(2) / 2
#: Below this |x| the power is returned as 0 (for exponents 0.3-3 the exact value is < 1e-90).
_TINY = 1e-300


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _log_pos(x):
    """Natural logarithm of a positive normal float64 (fdlibm ``e_log.c``, branch-free), error < 1 ulp."""
    ix = np.float64(x).view(np.int64) + np.int64((0x3FF00000 - _SQRT_HALF_HI) << 32)
    k = (ix >> np.int64(52)) - np.int64(0x3FF)
    m = np.int64((ix & np.int64(0x000FFFFFFFFFFFFF)) + np.int64(_SQRT_HALF_HI << 32)).view(np.float64)
    f = m - 1.0  # m in [sqrt(2)/2, sqrt(2)): x = 2^k m
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (_LG2 + w * (_LG4 + w * _LG6))
    t2 = z * (_LG1 + w * (_LG3 + w * (_LG5 + w * _LG7)))
    R = t2 + t1
    dk = np.float64(k)
    return dk * _LN2_HI - ((hfsq - (s * (hfsq + R) + dk * _LN2_LO)) - f)


@njit(cache=True, inline="always", error_model="numpy", fastmath=_FM)
def _exp_small(y):
    """e^y for -708 <= y <= 709 (fdlibm ``e_exp.c``, branch-free), error < 1 ulp."""
    kf = math.floor(y * _INV_LN2 + 0.5)
    hi = y - kf * _LN2_HI  # exact
    lo = kf * _LN2_LO
    r = hi - lo
    rr = r * r
    c = r - rr * (_P1 + rr * (_P2 + rr * (_P3 + rr * (_P4 + rr * _P5))))
    e = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    scale = np.int64((np.int64(kf) + np.int64(0x3FF)) << np.int64(52)).view(np.float64)
    return e * scale


@njit(cache=True, error_model="numpy", fastmath=_FM)
def spow_rows(x, e, n):
    """``x[k] <- sign(x[k]) |x[k]|^e`` for k < ``n``, in place (float64, |x| up to 1e300).

    ``e^(e ln|x|)`` with fdlibm's logarithm and exponential; 0 where |x| < 1e-300 or the power
    is below 1e-307 (it would underflow).
    """
    for k in range(n):
        v = x[k]
        a = abs(v)
        y = e * _log_pos(max(a, _TINY))
        p = _exp_small(min(max(y, -708.0), 709.0))
        p = p if (a >= _TINY) & (y >= -708.0) else 0.0
        x[k] = -p if v < 0.0 else p


_T3P8 = 2.41421356237309504880  # tan(3 pi / 8)
_MOREBITS = 6.123233995736765886130e-17  # pi / 2 - float64(pi / 2)
_ATP = (-8.750608600031904122785e-01, -1.615753718733365076637e+01, -7.500855792314704667340e+01,
        -1.228866684490136173410e+02, -6.485021904942025371773e+01)
_ATQ = (2.485846490142306297962e+01, 1.650270098316988542046e+02, 4.328810604912902668951e+02,
        4.853903996359136964868e+02, 1.945506571482613964425e+02)


@njit(cache=True, error_model="numpy", fastmath=_FM)
def atan2_rows(y, x, out, n):
    """``out[k] <- atan2(y[k], x[k])`` in (-pi, pi] for k < ``n`` (0 where both are 0).

    The quotient of the smaller and the larger magnitude (0-1) goes through Cephes' arc
    tangent (reduced at 0.66 by ``(t - 1) / (t + 1)``), then the octant sets the angle.
    """
    p0, p1, p2, p3, p4 = _ATP
    q0, q1, q2, q3, q4 = _ATQ
    pio2 = math.pi / 2
    pio4 = math.pi / 4
    for k in range(n):
        yv = y[k]
        xv = x[k]
        ay = abs(yv)
        ax = abs(xv)
        big = max(ax, ay)
        t = min(ax, ay) / big if big > 0.0 else 0.0
        red = t > 0.66
        u = (t - 1.0) / (t + 1.0) if red else t
        z = u * u
        pz = (((p0 * z + p1) * z + p2) * z + p3) * z + p4
        qz = ((((z + q0) * z + q1) * z + q2) * z + q3) * z + q4
        a = u * (z * pz / qz) + u
        a = (pio4 + (a + 0.5 * _MOREBITS)) if red else a  # atan(t), 0 <= t <= 1
        a = (pio2 - a) + _MOREBITS if ay > ax else a
        a = (math.pi - a) + 2.0 * _MOREBITS if xv < 0.0 else a
        out[k] = -a if yv < 0.0 else a
