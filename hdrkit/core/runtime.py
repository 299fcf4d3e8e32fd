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

__all__ = ["cache_counts", "load_cached_kernels", "scipy_linalg_hidden"]


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


def load_cached_kernels(prefix: str = "hdrkit.") -> int:
    """Build numba's CPU target and load every serial kernel of the imported modules under
    ``prefix`` from numba's cache.

    Kernels compiled with ``parallel=True`` are left alone: loading one starts numba's
    threading layer (OpenMP), whose threads a forked child could not use (the command
    server, :mod:`hdrkit.io.server`, forks after this). Specialisations not in the cache are
    not compiled. Reads numba's cache index, an internal layout: if it changes, nothing is
    loaded and each kernel loads when it is first called, as without this call.

    Parameters
    ----------
    prefix
        Modules whose kernels are loaded (their names start with it).

    Returns
    -------
    int
        The number of specialisations loaded.

    Raises
    ------
    RuntimeError
        If loading started numba's threading layer after all (a serial kernel that calls a
        parallel one).
    """
    from numba.core.registry import cpu_target
    from numba.np.ufunc import parallel

    magic = cpu_target.target_context.codegen().magic_tuple()
    n = 0
    for obj in _dispatchers(prefix):
        if obj.targetoptions.get("parallel") or obj._cache is None:
            continue
        try:
            keys = list(obj._cache._cache_file._load_index())
        except Exception:  # noqa: BLE001 - another numba's layout: load on first call instead
            continue
        for key in keys:
            if isinstance(key, tuple) and len(key) > 1 and key[1] == magic:
                obj.compile(key[0])
                n += 1
    if parallel._is_initialized:
        raise RuntimeError("loading the serial kernels started numba's threading layer")
    return n


def cache_counts(prefix: str = "hdrkit.") -> dict:
    """What the cached kernels of the imported modules under ``prefix`` did in this process:
    specialisations compiled (numba's cache misses, per kernel) and loaded from the cache.

    Returns
    -------
    dict
        ``{"misses": {"module.kernel": n, ...}, "hits": n}``: every cached kernel, with 0 for one
        that compiled nothing (a first run after a complete precompile has only zeros).
    """
    misses, hits = {}, 0
    for d in _dispatchers(prefix):
        if getattr(d.stats, "cache_path", None):
            misses[f"{d.py_func.__module__}.{d.py_func.__name__}"] = sum(d.stats.cache_misses.values())
            hits += sum(d.stats.cache_hits.values())
    return {"misses": misses, "hits": hits}


def _dispatchers(prefix: str):
    """numba's compiled functions in the imported modules under ``prefix``, each once (a kernel
    imported into other modules is one kernel)."""
    from numba.core.dispatcher import Dispatcher

    seen: set[int] = set()
    for name, mod in list(sys.modules.items()):
        if not name.startswith(prefix) or mod is None:
            continue
        for obj in list(vars(mod).values()):
            if isinstance(obj, Dispatcher) and id(obj) not in seen:
                seen.add(id(obj))
                yield obj
