"""numba loaded without SciPy for the command line's process (hdrkit.core.runtime)."""

from __future__ import annotations

import subprocess
import sys

_CHILD = """
import sys
import numpy as np
from hdrkit.core.runtime import load_without_scipy
from hdrkit.core.signal import yuv_to_linear
from types import SimpleNamespace

first, again = load_without_scipy(), load_without_scipy()
import numba.np.arraymath
c = SimpleNamespace(transfer="pq", matrix="bt2020", bit_depth=10, full_range=False, chroma_shift=(1, 1))
y = np.full((4, 4), 940, np.uint16)
u = np.full((2, 2), 512, np.uint16)
lin = yuv_to_linear(y, u, u, c)  # a kernel loads (or compiles) without SciPy
loaded = "scipy.linalg" in sys.modules
import scipy.linalg  # SciPy itself is still there for whoever wants it
print(first, again, numba.np.arraymath._HAVE_BLAS, loaded, round(float(lin[0, 0, 0]), 2))
"""


def test_kernels_load_without_scipy_which_stays_importable():
    out = subprocess.run([sys.executable, "-c", _CHILD], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["True", "False", "False", "False", "49.26"]  # PQ code 940: 10000 cd/m^2 = 49.26 x 203


def test_a_process_that_imported_scipy_linalg_is_left_alone():
    code = ("import scipy.linalg; from hdrkit.core.runtime import load_without_scipy; "
            "import numba.np.arraymath as a; print(load_without_scipy(), a._HAVE_BLAS)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["False", "True"]
