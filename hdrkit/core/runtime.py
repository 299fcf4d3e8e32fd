"""The compiled kernels' runtime (numba) in a command-line process: without SciPy, and
kernels loaded from numba's cache without numba's whole compiler.

numba's array-maths module asks for SciPy's BLAS wrappers when it is first imported (for
``np.dot``-style inner products in ``np.correlate`` / ``np.convolve``), which imports
``scipy.linalg`` and with it most of SciPy: on the test machine 0.15-0.3 s of CPU and 17-19 MB
of memory in every process that loads a kernel. hdrkit's kernels call no BLAS routine, so the
command line runs each command with ``scipy.linalg`` hidden (:func:`imports_hidden`): numba,
loaded by the command when it needs a kernel, then records that it has no BLAS. The same
block hides, while numba itself is imported, what else numba imports whenever it is installed
(the SciPy package for a version check, colorama for coloured compile errors, PyYAML for a
configuration file the working directory does not have); the command can import them once
numba is loaded (Dask needs PyYAML). A library caller's process is left as it is: there SciPy
may be wanted by other code.

numba's linear-algebra functions (``np.linalg.*``, ``np.dot`` of matrices) still find SciPy
when they are compiled after the command: they look for it when they are typed, not at import.

Before loading a cached kernel numba refreshes its CPU target: it imports and registers every
implementation it could compile (NumPy's array functions, typed containers, random
generators...) and refreshes the typing templates, 0.15-0.25 s of CPU, although loading
machine code from the cache needs only numba's runtime (NRT). The command line loads kernels
with :func:`light_cache_loads`; a kernel that is not in the cache still compiles as always
(numba's compiler refreshes both contexts itself before compiling).
"""

from __future__ import annotations

import importlib.abc
import importlib.util
import os
import sys
from contextlib import contextmanager
from typing import Callable, Iterator

__all__ = ["NUMBA_EXTRAS", "UNTIL_NUMBA_IMPORTED", "cache_counts", "imports_hidden", "kernel_threads",
           "light_cache_loads", "load_cached_kernels"]


#: What numba imports whenever it is installed and no command uses: the SciPy package (a
#: version check, 6 ms) and SciPy's BLAS wrappers (``scipy.linalg``, with most of SciPy:
#: 0.15-0.3 s of CPU), colorama (coloured compile errors, 6 ms) and PyYAML (to read a
#: ``.numba_config.yaml`` in the working directory, 20 ms).
NUMBA_EXTRAS = ("scipy", "scipy.linalg", "colorama", "yaml")

#: Those numba imports while it is itself imported: hidden during that import only, so that a
#: command can import them before or after it (Dask reads its configuration with PyYAML).
#: SciPy's BLAS stays hidden for the whole block: numba's array maths looks for it when it is
#: first imported, which can be at the first kernel's load from the cache.
UNTIL_NUMBA_IMPORTED = ("scipy", "colorama", "yaml")

#: numba's configuration file, read from the working directory when PyYAML is importable.
NUMBA_CONFIG_FILE = ".numba_config.yaml"


@contextmanager
def imports_hidden(names: tuple[str, ...] = NUMBA_EXTRAS) -> Iterator[tuple[str, ...]]:
    """Within the block, importing any of ``names`` raises ImportError (numba then loads
    without them: no BLAS, plain error text, no configuration file); those of
    :data:`UNTIL_NUMBA_IMPORTED` only while numba itself is being imported (before and after
    it, a command imports them as usual: Dask, say, for ``--cluster``).

    A module already imported is left alone (the process has paid for it, and a numba loaded
    since has found it), and so is ``yaml`` where the working directory has a numba
    configuration file to read. Nothing is imported here, so a command that loads no kernel
    pays nothing; after the block every module imports as usual.

    Yields
    ------
    tuple of str
        The modules hidden from the block's start (those hidden around numba's import are
        chosen when it starts).
    """
    def hide(which) -> tuple[str, ...]:
        out = tuple(n for n in which if n not in sys.modules
                    and not (n == "yaml" and os.path.isfile(NUMBA_CONFIG_FILE)))
        for n in out:
            sys.modules[n] = None  # its import raises ImportError
        return out

    def show(which) -> None:
        for n in which:
            if sys.modules.get(n, 0) is None:
                del sys.modules[n]

    hidden = hide(tuple(n for n in names if n not in UNTIL_NUMBA_IMPORTED))
    around: list[str] = []
    hook = _AfterImport("numba", lambda module: show(around),
                        before=lambda: around.extend(hide(tuple(n for n in names if n in UNTIL_NUMBA_IMPORTED))))
    if "numba" not in sys.modules and any(n in UNTIL_NUMBA_IMPORTED for n in names):
        sys.meta_path.insert(0, hook)
    try:
        yield hidden
    finally:
        if hook in sys.meta_path:
            sys.meta_path.remove(hook)
        show(hidden + tuple(around))


@contextmanager
def light_cache_loads() -> Iterator[None]:
    """Within the block, numba loads a cached kernel after initialising its runtime (NRT) only,
    not after refreshing its whole CPU target (see the module's text), and types an array
    argument without importing ``numpy.ma`` (:func:`_typeof_without_ma`).

    Nothing is imported here: each change is made when the numba module it changes is imported
    (at once if it is already), and undone at the block's end. If numba no longer has what a
    change replaces, that change is not made.
    """
    undo: list[Callable[[], None]] = []
    hooks = [_AfterImport("numba.core.caching", lambda module: undo.append(_load_without_refresh(module))),
             _AfterImport("numba.core.typing.typeof", lambda module: undo.append(_typeof_without_ma(module)))]
    for hook in hooks:
        if hook.name in sys.modules:
            hook.then(sys.modules[hook.name])
        else:
            sys.meta_path.insert(0, hook)
    try:
        yield
    finally:
        for hook in hooks:
            if hook in sys.meta_path:
                sys.meta_path.remove(hook)
        for fn in reversed(undo):
            fn()


def _typeof_without_ma(typeof) -> Callable[[], None]:
    """Make numba type an ndarray without importing ``numpy.ma`` while nothing else has; returns the undo.

    numba's ``typeof`` of an ndarray first refuses masked arrays with ``isinstance(val,
    np.ma.MaskedArray)``, and NumPy 2 imports ``numpy.ma`` on that first access: 25 ms at a
    command's first kernel call (a quarter of a warm ``hdrkit still``), for a module no command
    uses. While ``numpy.ma`` is not imported no masked array can exist, so the test is skipped
    and the type is made as numba makes it (dtype, dimensions, layout, read-only); once it is
    imported, numba's own function answers.
    """
    impl = getattr(typeof, "typeof_impl", None)
    try:
        import numpy as np
        from numba.core import errors, types
        from numba.np import numpy_support

        original = impl.dispatch(np.ndarray)
    except (AttributeError, ImportError):  # another numba: leave it as it is
        return lambda: None
    if getattr(original, "light", False):  # nested blocks: the outer one's change
        return lambda: None

    def typeof_ndarray(val, c):
        if "numpy.ma" in sys.modules:
            return original(val, c)
        try:
            dtype = numpy_support.from_dtype(val.dtype)
        except errors.NumbaNotImplementedError:
            raise errors.NumbaValueError(f"Unsupported array dtype: {val.dtype}") from None
        return types.Array(dtype, val.ndim, numpy_support.map_layout(val), readonly=not val.flags.writeable)

    typeof_ndarray.light = True
    impl.register(np.ndarray, typeof_ndarray)

    def undo():
        impl.register(np.ndarray, original)
    return undo


def _load_without_refresh(caching) -> Callable[[], None]:
    """Make ``caching.Cache.load_overload`` refresh nothing but the runtime; returns the undo."""
    cache = getattr(caching, "Cache", None)
    original = getattr(cache, "load_overload", None)
    if original is None or getattr(original, "light", False):  # nested blocks: the outer one's change
        return lambda: None
    from numba.core.runtime import rtsys

    def load_overload(self, sig, target_context):
        if "refresh" in vars(target_context):  # a load within a load
            return original(self, sig, target_context)
        target_context.refresh = lambda: rtsys.initialize(target_context)  # this call only
        try:
            return original(self, sig, target_context)
        finally:
            del target_context.refresh  # the class's method again

    load_overload.light = True
    cache.load_overload = load_overload

    def undo():
        cache.load_overload = original
    return undo


class _AfterImport(importlib.abc.MetaPathFinder):
    """Runs ``then(module)`` right after module ``name`` is first imported (and ``before()`` when
    that import starts); finds nothing itself."""

    def __init__(self, name: str, then: Callable[[object], None], before: Callable[[], None] | None = None):
        self.name, self.then, self.before = name, then, before

    def find_spec(self, fullname, path, target=None):
        if fullname != self.name:
            return None
        sys.meta_path.remove(self)  # once, and the lookup below goes to the real finders
        if self.before is not None:
            self.before()
        spec = importlib.util.find_spec(fullname)
        if spec is not None and spec.loader is not None:
            spec.loader = _ThenLoader(spec.loader, self.then)
        return spec


class _ThenLoader(importlib.abc.Loader):
    """``loader``, then ``then(module)`` once the module has run."""

    def __init__(self, loader, then):
        self.loader, self.then = loader, then

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        self.loader.exec_module(module)
        self.then(module)


def load_cached_kernels(prefix: str = "hdrkit.", *, parallel: bool = False) -> int:
    """Build numba's CPU target and load every serial kernel of the imported modules under
    ``prefix`` from numba's cache.

    Kernels compiled with ``parallel=True`` are left alone by default: loading one starts
    numba's threading layer (OpenMP), whose threads a forked child could not use (the command
    server, :mod:`hdrkit.io.server`, forks after this). Specialisations not in the cache are
    not compiled. Reads numba's cache index, an internal layout: if it changes, nothing is
    loaded and each kernel loads when it is first called, as without this call.

    Parameters
    ----------
    prefix
        Modules whose kernels are loaded (their names start with it).
    parallel
        Load the parallel kernels too (and start the threading layer).

    Returns
    -------
    int
        The number of specialisations loaded.

    Raises
    ------
    RuntimeError
        If loading the serial kernels only started numba's threading layer after all (a
        serial kernel that calls a parallel one).
    """
    from numba.core.registry import cpu_target
    from numba.np.ufunc import parallel as threading_layer

    magic = cpu_target.target_context.codegen().magic_tuple()
    n = 0
    for obj in _dispatchers(prefix):
        if (obj.targetoptions.get("parallel") and not parallel) or obj._cache is None:
            continue
        try:
            keys = list(obj._cache._cache_file._load_index())
        except Exception:  # noqa: BLE001 - another numba's layout: load on first call instead
            continue
        for key in keys:
            if isinstance(key, tuple) and len(key) > 1 and key[1] == magic:
                obj.compile(key[0])
                n += 1
    if not parallel and threading_layer._is_initialized:
        raise RuntimeError("loading the serial kernels started numba's threading layer")
    return n


def kernel_threads(n: int) -> int:
    """Run the parallel kernels that the calling thread starts on at most ``n`` threads (numba's
    count is per calling thread; other threads keep theirs). Returns the count now in force:
    ``n`` clipped to 1 .. numba's thread pool size."""
    import numba

    n = max(1, min(int(n), numba.config.NUMBA_NUM_THREADS))
    numba.set_num_threads(n)
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
