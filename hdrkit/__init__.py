"""hdrkit: HDR to SDR that looks right, the same way every time.

The public API is re-exported here; everything else is an implementation detail.
"""

import os as _os
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
from .still.export import ExportResult, export_sdr  # noqa: E402
from .still.gainmap import GainMapImage, read_gainmap  # noqa: E402

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
    "read_gainmap",
    "GainMapImage",
    "export_sdr",
    "ExportResult",
]
