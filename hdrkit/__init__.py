"""hdrkit: HDR to SDR that looks right, the same way every time.

The public API is re-exported here; everything else is an implementation detail.
"""

from importlib.metadata import PackageNotFoundError, version as _version

from .errors import (ContainerError, DecodeError, EncodeError, HdrkitError, LimitError, MetadataError,
                     OptionError, OutputError)

try:
    __version__ = _version("hdrkit")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

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
]
