"""hdrkit: HDR to SDR that looks right, the same way every time.

The public API is re-exported here; everything else is an implementation detail.
"""

from importlib.metadata import PackageNotFoundError, version as _version

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
