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

# Idle OpenMP workers of the parallel kernels sleep instead of spinning: decoder and encoder
# threads share the same cores, and a spinning pool starves them (on a busy 2-core machine it
# made every parallel call cost ~15 ms). Must be set before the OpenMP runtime starts, so it
# lives here, ahead of every import that can compile or run a kernel.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

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
