"""Loading the compiled kernels' runtime (numba) for a command-line process.

numba's array-maths module asks for SciPy's BLAS wrappers when it is first imported (for
``np.dot``-style inner products in ``np.correlate`` / ``np.convolve``), which imports
``scipy.linalg`` and with it most of SciPy: on the test machine 0.15-0.3 s of CPU and 17-19 MB
of memory in every process that loads a kernel. hdrkit's kernels call no BLAS routine, so a
process that hdrkit's command line owns loads numba without SciPy (:func:`load_without_scipy`).
A library caller's process is left as it is: there SciPy may be wanted by other code.

numba's linear-algebra functions (``np.linalg.*``, ``np.dot`` of matrices) still find SciPy
when they are compiled later: they look for it when they are typed, not at import.
"""

from __future__ import annotations

import sys
import threading

__all__ = ["load_without_scipy"]

_lock = threading.Lock()


def load_without_scipy() -> bool:
    """Import numba and its array-maths registry with ``scipy.linalg`` hidden for that import.

    Does nothing (returns False) when ``scipy.linalg`` or the registry is already imported: the
    process has paid for it then, and numba found its BLAS. Returns True when numba was loaded
    without it. Meant for the command line's own process, before the first kernel loads.

    Returns
    -------
    bool
        Whether the registry was imported here, without SciPy.
    """
    with _lock:
        if "scipy.linalg" in sys.modules or "numba.np.arraymath" in sys.modules:
            return False
        sys.modules["scipy.linalg"] = None  # its import raises ImportError: numba records "no BLAS"
        try:
            import numba.np.arraymath  # noqa: F401 - the import is the point
        finally:
            if sys.modules.get("scipy.linalg", 0) is None:
                del sys.modules["scipy.linalg"]
        return True
