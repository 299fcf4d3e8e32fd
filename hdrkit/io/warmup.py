"""First run on a machine: compile the kernels a command needs in two processes at once.

numba compiles each kernel the first time it runs on a machine and caches the machine code
(next to the source in ``__pycache__``, or under ``NUMBA_CACHE_DIR``); later runs load it
in a fraction of a second. That first compilation is CPU work of about 9.5 s for the still
path and 15 s for a proxy, and numba does it in one thread (under a process-wide lock), so
a cold command would spend it all before its first picture.

The commands split it over two cores: a child process (``python -m hdrkit.io.warmup JOB``)
compiles one part while this process compiles the other, each by running the kernels
with the argument types the real work passes; the work then loads everything from the
cache. ``hdrkit still``: the child runs the gain-map rebuild (the row-streamed passes for a
large gain-map JPEG), thumbnail box filter and subsampling statistics on the real first input,
this process the SDR render kernel. The install also compiles the gain-map kernels for every
kind of map on its small sample (``python -m hdrkit.io.warmup kinds render|rebuild FILE``, two
processes at once), so a first photo of any kind and size compiles nothing.
``hdrkit proxy`` / ``analyze``: the child compiles the linear render (the LUT bake and the
SDR luma prediction), this process the measurement and LUT kernels on the clip's first
frame. On a warm machine each check only reads a few cache index files.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Callable

import numpy as np

from ..core.pipeline import RenderParams, render_linear
from ..still.export import load_linear, streams_rows
from ..still.gainmap import read_gainmap

__all__ = ["cached", "still_cold", "warm_still", "video_cold", "warm_video", "CHILD_TIMEOUT"]

#: Seconds to wait for the compiling child (it needs a few seconds on a 2-core machine).
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


def _split(job: str, arg: str | None, here: Callable[[], None]) -> None:
    """Run child ``job`` (on ``arg``) and ``here`` at the same time; return when both are done.

    The child's failure is ignored: whatever it did not compile, the work compiles itself.
    """
    argv = [sys.executable, "-m", "hdrkit.io.warmup", job] + ([arg] if arg is not None else [])
    child = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        here()
    finally:
        try:
            child.wait(timeout=CHILD_TIMEOUT)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()


# -------------------------------------------------------------------- stills
def still_cold() -> bool:
    """Whether the SDR render kernel still has to be compiled on this machine."""
    from ..core import kernels

    return not cached(kernels._render_sdr)


def warm_still(first_input) -> bool:
    """Compile what a still export needs, on two cores, if this machine has not yet.

    Returns whether anything was compiled. Never raises for a bad input: the child then
    fails quietly and the export compiles what is missing itself.
    """
    from ..core import kernels, resample

    if not still_cold():
        return False
    # the integer map scale is the common case (Ultra HDR writers use 1, 2 or 4); the child
    # compiles whichever rebuild kernels the first input needs
    others = (kernels._box_mean, kernels._subsampling_stats, resample._horizontal, resample._vertical,
              resample.lanczos_coefficients)
    if all(cached(d) for d in _still_kernels(_streams(first_input)) + others):
        _compile_render_sdr()
    else:
        _split("still", str(Path(first_input)), _compile_render_sdr)
    return True


def _still_kernels(streamed: bool) -> tuple:
    """The rebuild kernels of the float export (integer map scale), or of the row-streamed one."""
    from ..core import kernels, rebuild

    if streamed:
        return rebuild._sample_kernel, kernels._render_sdr_rebuilt
    return (rebuild._integer_scale_kernel,)


def _streams(path) -> bool:
    """Whether :func:`hdrkit.still.export.export_sdr` renders ``path`` row by row (False if it does not read)."""
    try:
        return streams_rows(read_gainmap(path), RenderParams())
    except Exception:  # noqa: BLE001 - not a gain-map JPEG, or a bad one: the float path, or the export's error
        return False


def _compile_render_sdr() -> None:
    """The SDR kernel for the types :func:`hdrkit.still.export.export_array` passes (float32 C RGB, 8 bits)."""
    from ..core.kernels import render_sdr_fast

    render_sdr_fast(np.zeros((2, 2, 3), np.float32), "bt2020", RenderParams(), 4.0)


def _child_still(path: str) -> None:
    """Run the export's other kernels on ``path``: the rebuild as the export does it (the float
    picture, or the row-streamed passes of a large gain-map JPEG), the thumbnail's box filter and
    Lanczos resize, statistics."""
    from ..core.kernels import box_mean, subsampling_stats
    from ..core.resample import lanczos_resize

    try:
        if _streams(path):
            _compile_streamed(path)
        else:
            load_linear(path)
    finally:  # these do not depend on the input
        box_mean(np.zeros((4, 4, 3), np.float32), 2)
        lanczos_resize(np.zeros((4, 4, 3), np.float32), 2, 2)
        subsampling_stats(np.zeros((4, 4, 3), np.uint8), 1)


def _compile_streamed(path: str) -> None:
    """The row-streamed export's passes (sampled rebuild; rebuild + render + box) for the kind of
    ``path``'s gain map, whatever its size (a cold command's first input)."""
    from ..core.rebuild import rebuild_sampled

    gm = read_gainmap(path)
    if gm.gainmap is not None:
        inputs = gm.map_inputs(None)
        rebuild_sampled(inputs, 4)
        _render_rebuilt(gm, inputs)


def _render_rebuilt(gm, inputs) -> None:
    """The row-streamed export's pass (rebuild + render + box) for the types of ``inputs``."""
    from ..core.kernels import render_sdr_rebuilt

    render_sdr_rebuilt(inputs, gm.primaries, RenderParams(), 4.0, 2, rgbx=True)


def _compile_map_kinds(part: str, path: str) -> None:
    """The gain-map kernels for every kind of map (:func:`hdrkit.core.rebuild.map_input_kinds`: integer
    map scale or not, gamma 1 or not), on ``path``'s picture and map. ``part`` ``"render"``: the
    row-streamed export's pass; ``"rebuild"``: its sampled rebuild and the float picture's rebuild.
    The install runs the two parts at once, in two processes: no kernel has two writers of its
    cache (numba's index of a kernel's cached types is rewritten whole by each writer)."""
    from ..core.rebuild import map_input_kinds, rebuild_inputs, rebuild_sampled

    if part not in ("render", "rebuild"):
        raise SystemExit(f"unknown part {part!r}: render or rebuild")
    gm = read_gainmap(path)
    for inputs in map_input_kinds(gm.map_inputs(None)):
        if part == "render":
            _render_rebuilt(gm, inputs)
        else:
            rebuild_sampled(inputs, 4)
            rebuild_inputs(inputs)


# --------------------------------------------------------------------- video
def video_cold() -> bool:
    """Whether the linear render kernel (LUT bakes, SDR luma) still has to be compiled here."""
    from ..core import kernels

    return not cached(kernels._render_linear)


def warm_video(path, reader_kwargs: dict | None = None, *, stats: bool = False) -> bool:
    """Compile what a proxy (``stats``: an analysis) of ``path`` needs, on two cores, if not yet done.

    Returns whether anything was compiled. A clip that does not open is left to the command
    to report.
    """
    if not video_cold() or not Path(path).is_file():  # a missing clip: let the command say so at once
        return False

    def here():
        try:
            _compile_video(path, reader_kwargs or {}, stats)
        except Exception:  # noqa: BLE001 - the command itself reports a bad clip, with its own message
            pass

    _split("linear", None, here)
    return True


def _compile_video(path, reader_kwargs: dict, stats: bool) -> None:
    """The measurement and LUT kernels on the clip's first frame (the planes' real types)."""
    from ..video.reader import VideoReader  # here: a still command loads no video module
    from ..video.render import even_size, measure_planes, render_lut_yuv420, yuv420_buffer

    with VideoReader(path, **reader_kwargs) as r:
        f = next(iter(r.frames()), None)
        if f is None:
            return
        measure_planes(f.y, f.u, f.v, r.colour)
        if stats:
            from ..core.stats import frame_stats

            frame_stats(np.ones((4, 4, 3), np.float32))
        else:
            _, planes = yuv420_buffer(*even_size(r.height, r.width))
            render_lut_yuv420(f.y, f.u, f.v, r.colour, np.zeros((2, 2, 2, 3), np.float32), out=planes, measure=False)


def _compile_render_linear() -> None:
    """The linear render kernel for the types a LUT bake and the SDR luma prediction pass."""
    render_linear(np.zeros((2, 2, 3), np.float32), "bt2020", RenderParams(), 4.0)


_CHILD_JOBS = {"still": _child_still, "kinds": _compile_map_kinds, "linear": _compile_render_linear}

if __name__ == "__main__":  # python -m hdrkit.io.warmup JOB [ARG ...]
    _CHILD_JOBS[sys.argv[1]](*sys.argv[2:])
