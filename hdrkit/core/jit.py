"""numba for the core's kernels, with a cache that goes stale when any of the core's sources changes.

numba keeps a compiled kernel (``cache=True``) beside its source, stamped with a hash of the
one file that defines it, and loads it while that file is unchanged. The machine code of a
kernel holds more than that file: every function it calls is compiled into it (the row
helpers of :mod:`hdrkit.core.signal` and :mod:`hdrkit.core.kernels` in the frame kernels of
:mod:`hdrkit.core.yuv420`, say), and the module globals it reads are frozen in as constants.
A change to such a callee or constant in another file would leave the kernel loading the old
code: an editable install updated from version control would compute with both versions at
once. Every kernel lives in :mod:`hdrkit.core` and calls nothing compiled outside it, so here
each kernel is stamped with a hash of all the core's source files instead (:func:`core_stamp`):
a change to any of them compiles every kernel again, once.

The core's modules take ``njit`` and ``prange`` from here; importing this module puts the
stamping cache locators first in numba's list (those of another package are numba's own, and
``NUMBA_CACHE_LOCATOR_CLASSES`` still overrides the list).
"""

from __future__ import annotations

import hashlib
import os
from functools import lru_cache
from pathlib import Path

from numba import get_num_threads, njit, prange
from numba.core import caching

__all__ = ["CORE_DIR", "core_stamp", "get_num_threads", "njit", "prange", "sources_stamp"]

#: The directory of the core's modules, whose sources stamp every kernel.
CORE_DIR = Path(__file__).resolve().parent


def sources_stamp(directory) -> str:
    """SHA-256 of the names and contents of the ``*.py`` files in ``directory`` (not of their
    times: a copy of the same sources has the same stamp)."""
    h = hashlib.sha256()
    for p in sorted(Path(directory).glob("*.py")):
        h.update(p.name.encode() + b"\0" + p.read_bytes() + b"\0")
    return h.hexdigest()


@lru_cache(maxsize=1)
def core_stamp() -> str:
    """:func:`sources_stamp` of :data:`CORE_DIR`, read once per process (every kernel's stamp)."""
    return sources_stamp(CORE_DIR)


class _CoreStamped:
    """Mixin for numba's source-file cache locators: a kernel defined in :data:`CORE_DIR` is
    stamped with :func:`core_stamp`; any other function gets no locator from this class."""

    @classmethod
    def from_function(cls, py_func, py_file):
        if os.path.dirname(os.path.realpath(py_file)) != str(CORE_DIR):
            return None
        return super().from_function(py_func, py_file)

    def get_source_stamp(self):
        return core_stamp()


def _install() -> None:
    """Put a stamping subclass of each of numba's source-file locators (the one for a
    ``NUMBA_CACHE_DIR``, the source tree's ``__pycache__``, the user's cache folder) before
    numba's own; a core inside a zip file keeps numba's. (Newer numba releases name the
    locators without their leading underscore.)"""
    impl = caching.CacheImpl
    if any(issubclass(c, _CoreStamped) for c in impl._locator_classes):
        return
    zipped = getattr(caching, "ZipCacheLocator", None) or getattr(caching, "_ZipCacheLocator", None)
    ours = [type(f"CoreStamped{c.__name__.lstrip('_')}", (_CoreStamped, c), {}) for c in impl._locator_classes
            if issubclass(c, caching._SourceFileBackedLocatorMixin) and c is not zipped]
    impl._locator_classes = ours + list(impl._locator_classes)


_install()
