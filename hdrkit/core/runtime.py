"""The compiled kernels' runtime (numba) in a command-line process: without SciPy.

numba's array-maths module asks for SciPy's BLAS wrappers when it is first imported (for
``np.dot``-style inner products in ``np.correlate`` / ``np.convolve``), which imports
``scipy.linalg`` and with it most of SciPy: on the test machine 0.15-0.3 s of CPU and 17-19 MB
of memory in every process that loads a kernel. hdrkit's kernels call no BLAS routine, so the
command line runs each command with ``scipy.linalg`` hidden (:func:`scipy_linalg_hidden`):
numba, loaded by the command when it needs a kernel, then records that it has no BLAS. A
library caller's process is left as it is: there SciPy may be wanted by other code.

numba's linear-algebra functions (``np.linalg.*``, ``np.dot`` of matrices) still find SciPy
when they are compiled after the command: they look for it when they are typed, not at import.
"""

from __future__ import annotations

import sys
from contextlib import contextmanager
from typing import Iterator

__all__ = ["scipy_linalg_hidden"]


@contextmanager
def scipy_linalg_hidden() -> Iterator[bool]:
    """Within the block, ``import scipy.linalg`` raises ImportError (numba then loads without it).

    Nothing is hidden (the block gets False) when ``scipy.linalg`` is already imported: the
    process has paid for it, and a numba loaded since found its BLAS. Nothing is imported
    here, so a command that loads no kernel pays nothing.

    Yields
    ------
    bool
        Whether ``scipy.linalg`` is hidden in the block.
    """
    if "scipy.linalg" in sys.modules:
        yield False
        return
    sys.modules["scipy.linalg"] = None  # its import raises ImportError: numba records "no BLAS"
    try:
        yield True
    finally:
        if sys.modules.get("scipy.linalg", 0) is None:
            del sys.modules["scipy.linalg"]
