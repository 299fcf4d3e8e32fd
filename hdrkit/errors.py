"""One exception family for everything hdrkit refuses.

Every error a user can cause with a file or an option is an :class:`HdrkitError`
subclass carrying a one-line message; the CLI prints that line and exits 2. An error
about one file names it first (``<path>: <what happened>``, ``path`` attribute set).
Errors about files are also the matching built-in :class:`OSError` subclasses, so code
written for Pillow or ``open()`` catches them: a missing input is an
:class:`InputNotFoundError` (a :class:`FileNotFoundError` and a :class:`ContainerError`),
an input that cannot be opened otherwise an :class:`InputFileError`, and an output that
cannot be written an :class:`OutputError` (both :class:`OSError`).
"""

from __future__ import annotations

import os
import re
from pathlib import Path

__all__ = [
    "HdrkitError",
    "ContainerError",
    "MetadataError",
    "DecodeError",
    "LimitError",
    "OptionError",
    "EncodeError",
    "OutputError",
    "InputFileError",
    "InputNotFoundError",
    "require_file",
    "os_error_message",
    "reason",
]


_ERRNO = re.compile(r"\[Errno -?\d+\] ")


class HdrkitError(Exception):
    """Root of every error hdrkit raises on purpose.

    Parameters
    ----------
    message : str
        What happened, one line.
    path : str or os.PathLike, optional
        The file the error is about; the message is then ``"<path>: <message>"``.
    """

    def __init__(self, message: str = "", *args, path=None):
        self.path = None if path is None else os.fspath(path)
        if self.path is not None and not str(message).startswith(self.path):
            message = f"{self.path}: {message}"
        super().__init__(message, *args)
        if isinstance(self, OSError) and self.path is not None:
            self.filename = self.path

    def __setstate__(self, state: dict) -> None:  # unpickled (process pools): the path again
        self.__dict__.update(state)
        if isinstance(self, OSError) and self.path is not None:
            self.filename = self.path

    def __str__(self) -> str:  # one line, always, without errno numbers FFmpeg's errors carry
        msg = self.args[0] if len(self.args) == 1 else Exception.__str__(self)
        return " ".join(_ERRNO.sub("", str(msg)).split())


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


class OutputError(HdrkitError, OSError):
    """The output cannot be written where asked (same as input, not writable, missing folder)."""


class InputFileError(ContainerError, OSError):
    """An input file cannot be opened: it is a folder, unreadable, or an I/O error occurred."""


class InputNotFoundError(InputFileError, FileNotFoundError):
    """An input file does not exist."""


def require_file(path, what: str = "file"):
    """Return ``path`` as a :class:`~pathlib.Path` when it names a readable regular file.

    Raises
    ------
    InputNotFoundError
        Nothing exists at ``path``.
    InputFileError
        ``path`` is a folder, or not readable by this process.
    """
    p = Path(os.fspath(path))
    if not p.exists():
        raise InputNotFoundError(f"no such {what}", path=p)
    if p.is_dir():
        raise InputFileError(f"is a folder, not a {what}", path=p)
    if not os.access(p, os.R_OK):
        raise InputFileError("permission denied (not readable)", path=p)
    return p


def reason(e: BaseException) -> str:
    """What an exception says happened, without errno number, file name or class name
    (``[Errno 1094995529] Invalid data found when processing input: 'x.mp4'`` ->
    ``invalid data found when processing input``)."""
    what = getattr(e, "strerror", None) or str(e) or type(e).__name__
    what = str(what).strip()
    return what[0].lower() + what[1:] if what[:1].isupper() and what[1:2].islower() else what


def os_error_message(e: OSError) -> str:
    """``"<path>: <what happened>"`` for an :class:`OSError`: no class name, no errno number."""
    what = reason(e)
    return f"{e.filename}: {what}" if e.filename else what
