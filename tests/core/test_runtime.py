"""Commands load numba without SciPy (hdrkit.core.runtime)."""

from __future__ import annotations

import subprocess
import sys

_CHILD = """
import sys
import numpy as np
from hdrkit.core.runtime import scipy_linalg_hidden
from types import SimpleNamespace

with scipy_linalg_hidden() as hidden:
    with scipy_linalg_hidden() as again:  # nested: the outer block hides it already
        from hdrkit.core.signal import yuv_to_linear
        import numba.np.arraymath
        c = SimpleNamespace(transfer="pq", matrix="bt2020", bit_depth=10, full_range=False, chroma_shift=(1, 1))
        y = np.full((4, 4), 940, np.uint16)
        u = np.full((2, 2), 512, np.uint16)
        lin = yuv_to_linear(y, u, u, c)  # a kernel loads (or compiles) without SciPy
    loaded = "scipy.linalg" in sys.modules and sys.modules["scipy.linalg"] is not None
import scipy.linalg  # SciPy itself is importable again after the block
print(hidden, again, numba.np.arraymath._HAVE_BLAS, loaded, round(float(lin[0, 0, 0]), 2), scipy.linalg.__name__)
"""


def test_kernels_load_without_scipy_which_stays_importable():
    out = subprocess.run([sys.executable, "-c", _CHILD], check=True, capture_output=True, text=True).stdout.split()
    # PQ code 940: 10000 cd/m^2 = 49.26 x 203
    assert out == ["True", "False", "False", "False", "49.26", "scipy.linalg"]


def test_a_process_that_imported_scipy_linalg_is_left_alone():
    code = ("import scipy.linalg; from hdrkit.core.runtime import scipy_linalg_hidden\n"
            "with scipy_linalg_hidden() as hidden:\n"
            "    import numba.np.arraymath as a\n"
            "print(hidden, a._HAVE_BLAS)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["False", "True"]


_LOAD = """
import threading
import numpy as np
from numba.np.ufunc import parallel
from hdrkit.core import kernels
from hdrkit.core.runtime import load_cached_kernels
n = load_cached_kernels()
print(n > 0, len(kernels.lerp_rows.overloads) > 0, len(kernels._render_sdr.overloads), parallel._is_initialized,
      threading.active_count())
"""


def test_serial_kernels_load_from_the_cache_without_threads():
    """What the command server does before it forks: serial kernels loaded, no thread started."""
    warm = ("import numpy as np; from hdrkit.core.kernels import lerp_rows; "
            "lerp_rows(np.zeros(3, np.float32), np.arange(4, dtype=np.float32))")  # in the cache, whatever ran before
    subprocess.run([sys.executable, "-c", warm], check=True)
    out = subprocess.run([sys.executable, "-c", _LOAD], check=True, capture_output=True, text=True).stdout.split()
    assert out == ["True", "True", "0", "False", "1"]
