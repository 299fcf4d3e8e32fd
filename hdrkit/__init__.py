"""hdrkit: HDR to SDR that looks right, the same way every time.

The public API is what ``__all__`` lists; everything else is an implementation detail.

Stills: :func:`read_gainmap` -> :class:`GainMapImage` (``.render()`` rebuilds linear HDR),
:func:`export_sdr` -> :class:`ExportResult`. Video: :func:`make_proxy`,
:func:`export_keyframes`, :func:`analyze`, :func:`encode_video`. Every job takes its
rendering choices as one :class:`RenderParams`; long jobs take ``progress`` (a bool or a
:class:`ProgressCallback`). Errors are :class:`HdrkitError` subclasses with a one-line
message.

Every public name is imported on first use (the jobs load numpy, PyAV and the compiled
kernels), so ``import hdrkit`` stays light.
"""

import os as _os
from importlib import import_module as _import_module

#: Idle worker threads sleep instead of spinning (unless the environment says otherwise):
#: decoder and encoder threads share the same cores, and a spinning pool starves them. The
#: OpenMP workers of the parallel kernels made every parallel call cost ~15 ms on a busy
#: 2-core machine; numpy's OpenBLAS starts its workers when numpy is imported, and they spun
#: for 2^28 cycles (0.1 s of CPU per process, 20 % of a small still's command) before sleeping.
#: Read when those runtimes start, so set here, ahead of every import of numpy or a kernel.
IDLE_THREADS_ENV = {"OMP_WAIT_POLICY": "PASSIVE", "OPENBLAS_THREAD_TIMEOUT": "4"}
for _k, _v in IDLE_THREADS_ENV.items():
    _os.environ.setdefault(_k, _v)

#: The package's version; pyproject.toml reads it from here (every export writes it into its tags).
__version__ = "0.1.0"

#: Public name -> module that defines it, imported on first use: ``import hdrkit`` loads
#: nothing but this file, so the command line's client side (:mod:`hdrkit.io.server`) starts in
#: milliseconds, and a video job does not import the still export.
_LAZY = {
    "HdrkitError": "hdrkit.errors",
    "ContainerError": "hdrkit.errors",
    "MetadataError": "hdrkit.errors",
    "DecodeError": "hdrkit.errors",
    "LimitError": "hdrkit.errors",
    "OptionError": "hdrkit.errors",
    "EncodeError": "hdrkit.errors",
    "OutputError": "hdrkit.errors",
    "RenderParams": "hdrkit.core.pipeline",
    "ProgressCallback": "hdrkit.io.progress",
    "read_gainmap": "hdrkit.still.gainmap",
    "GainMapImage": "hdrkit.still.gainmap",
    "export_sdr": "hdrkit.still.export",
    "ExportResult": "hdrkit.still.export",
    "make_proxy": "hdrkit.video.proxy",
    "export_keyframes": "hdrkit.video.keyframes",
    "analyze": "hdrkit.video.analysis",
    "encode_video": "hdrkit.video.encode",
}

__all__ = [
    "__version__",
    "HdrkitError",
    "ContainerError",
    "MetadataError",
    "DecodeError",
    "LimitError",
    "OptionError",
    "EncodeError",
    "OutputError",
    "RenderParams",
    "ProgressCallback",
    "read_gainmap",
    "GainMapImage",
    "export_sdr",
    "ExportResult",
    "make_proxy",
    "export_keyframes",
    "analyze",
    "encode_video",
]


def __getattr__(name: str):
    if name in _LAZY:
        value = getattr(_import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'hdrkit' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY))
