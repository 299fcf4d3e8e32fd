"""One exception family for everything hdrkit refuses.

Every error a user can cause with a file or an option is an :class:`HdrkitError`
subclass carrying a one-line message; the CLI prints that line and exits 2.
"""

from __future__ import annotations

__all__ = [
    "HdrkitError",
    "ContainerError",
    "MetadataError",
    "DecodeError",
    "LimitError",
    "OptionError",
    "EncodeError",
    "OutputError",
]


class HdrkitError(Exception):
    """Root of every error hdrkit raises on purpose."""

    def __str__(self) -> str:  # one line, always
        msg = super().__str__()
        return " ".join(msg.split())


class ContainerError(HdrkitError):
    """A file's container (JPEG markers, MPF, MP4 boxes) is malformed or truncated."""


class MetadataError(HdrkitError):
    """Gain-map, HDR10, HDR10+ or colour metadata is missing, malformed or out of range."""


class DecodeError(HdrkitError):
    """The codec could not decode the pixel data."""


class LimitError(HdrkitError):
    """The input exceeds a configured safety limit (pixels, segments, sizes)."""


class OptionError(HdrkitError):
    """An option or a combination of options is invalid."""


class EncodeError(HdrkitError):
    """The encoder (JPEG, x264, x265) failed or refused the settings."""


class OutputError(HdrkitError):
    """The output cannot be written where asked (same as input, not writable)."""
