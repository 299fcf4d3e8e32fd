"""hdrkit: HDR to SDR that looks right, the same way every time.

The public API is what ``__all__`` lists; everything else is an implementation detail.

Stills: :func:`read_gainmap` -> :class:`GainMapImage` (``.render()`` rebuilds linear HDR),
:func:`export_sdr` -> :class:`ExportResult`. Video: :func:`make_proxy`,
:func:`export_keyframes`, :func:`analyze`, :func:`encode_video`. Every job takes its
rendering choices as one :class:`RenderParams`; long jobs take ``progress`` (a bool or a
:class:`ProgressCallback`). Errors are :class:`HdrkitError` subclasses with a one-line
message.

The video jobs are imported on first use (they load PyAV and the compiled kernels), so
``import hdrkit`` stays light.
"""

import os as _os
from importlib import import_module as _import_module
from importlib.metadata import PackageNotFoundError, version as _version

# Idle OpenMP workers of the parallel kernels sleep instead of spinning: decoder and encoder
# threads share the same cores, and a spinning pool starves them (on a busy 2-core machine it
# made every parallel call cost ~15 ms). Must be set before the OpenMP runtime starts, so it
# lives here, ahead of every import that can compile or run a kernel.
_os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

try:
    __version__ = _version("hdrkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

from .errors import (ContainerError, DecodeError, EncodeError, HdrkitError, LimitError, MetadataError,  # noqa: E402
                     OptionError, OutputError)
from .core.pipeline import RenderParams  # noqa: E402
from .io.progress import ProgressCallback  # noqa: E402
from .still.export import ExportResult, export_sdr  # noqa: E402
from .still.gainmap import GainMapImage, read_gainmap  # noqa: E402

#: Public name -> module that defines it, imported on first use (start-up time).
_LAZY = {
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
