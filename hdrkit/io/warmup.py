"""First run on a machine: compile the still path's kernels in two processes at once.

numba compiles each kernel the first time it runs on a machine and caches the machine code
(next to the source in ``__pycache__``, or under ``NUMBA_CACHE_DIR``); later runs load it
in a fraction of a second. That first compilation is about 8 s of CPU for the still path
and numba does it in one thread (under a process-wide lock), so a cold ``hdrkit still``
would spend it all before the first picture.

:func:`warm_still` splits it over two cores. A child process compiles the gain-map rebuild,
the thumbnail box filter and the subsampling statistics by running them on the real first
input (so the compiled types are exactly the ones the export passes), while this process
compiles the SDR render kernel; once both are done the export loads everything from the
cache. On a warm machine it only reads two cache index files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

__all__ = ["cached", "still_cold", "warm_still", "CHILD_TIMEOUT"]

#: Seconds to wait for the compiling child (it needs about 4 s on a 2-core machine).
CHILD_TIMEOUT = 120.0


def cached(dispatcher) -> bool:
    """Whether numba's on-disk cache holds a current compilation of ``dispatcher`` (any signature).

    Reads the cache index the way numba does (it is empty when the source changed). If
    numba's cache layout is not the expected one, answers True: the caller then simply
    compiles on first use, as without this module.
    """
    try:
        return bool(dispatcher._cache._cache_file._load_index())
    except Exception:  # noqa: BLE001 - private numba API: any change means "do nothing special"
        return True


def _child_kernels() -> tuple:
    from ..core import kernels
    from ..still import render

    return render._rebuild_kernel, kernels._box_mean, kernels._subsampling_stats


def still_cold() -> bool:
    """Whether the SDR render kernel still has to be compiled on this machine."""
    from ..core import kernels

    return not cached(kernels._render_sdr)


def warm_still(first_input) -> bool:
    """Compile what a still export needs, on two cores, if this machine has not yet.

    Returns whether anything was compiled. Never raises for a bad input: the child then
    fails quietly and the export compiles what is missing itself.
    """
    if not still_cold():
        return False
    child = None
    if not all(cached(d) for d in _child_kernels()):
        child = subprocess.Popen([sys.executable, "-m", "hdrkit.io.warmup", "still", str(Path(first_input))],
                                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        _compile_render()
    finally:
        if child is not None:
            try:
                child.wait(timeout=CHILD_TIMEOUT)
            except subprocess.TimeoutExpired:  # the export compiles what the child did not
                child.kill()
                child.wait()
    return True


def _compile_render() -> None:
    """The SDR kernel for the types :func:`hdrkit.still.export.export_array` passes (float32 C RGB, 8 bits)."""
    import numpy as np

    from ..core.kernels import render_sdr_fast
    from ..core.pipeline import RenderParams

    render_sdr_fast(np.zeros((2, 2, 3), np.float32), "bt2020", RenderParams(), 4.0)


def _child_still(path: str) -> None:
    """Run the export's other kernels on ``path``: rebuild (as the export loads it), box filter, statistics."""
    import numpy as np

    from ..core.kernels import box_mean, subsampling_stats
    from ..still.export import load_linear

    try:
        load_linear(path)
    finally:  # these two do not depend on the input
        box_mean(np.zeros((4, 4, 3), np.float32), 2)
        subsampling_stats(np.zeros((4, 4, 3), np.uint8), 1)


if __name__ == "__main__":  # python -m hdrkit.io.warmup still PATH
    if len(sys.argv) == 3 and sys.argv[1] == "still":
        _child_still(sys.argv[2])
