"""Atomic outputs: write to a temporary file beside the target, then rename.

A process killed at any moment leaves either no file or the previous one at the final
path, never a truncated one (``os.replace`` is atomic on POSIX within a filesystem).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path

from ..errors import OutputError

__all__ = ["atomic_path", "atomic_write_bytes", "check_not_input"]


@contextlib.contextmanager
def atomic_path(dst, suffix: str | None = None):
    """Yield a temporary path beside ``dst``; on success rename it over ``dst``.

    On any exception the temporary file is removed and ``dst`` is left as it was.
    ``suffix`` defaults to ``dst``'s own suffix so tools that pick a format from the
    extension (FFmpeg) still do.
    """
    dst = Path(dst)
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        raise OutputError(f"output folder does not exist: {parent}")
    fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=suffix if suffix is not None else dst.suffix, dir=parent)
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.replace(tmp, dst)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


def atomic_write_bytes(dst, data: bytes) -> None:
    """Write ``data`` to ``dst`` atomically (fsync before the rename)."""
    with atomic_path(dst) as tmp:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())


def check_not_input(src, dst, force: bool = False) -> None:
    """Refuse to write over an input file unless ``force``."""
    try:
        same = Path(src).resolve() == Path(dst).resolve()
    except OSError:
        same = False
    if same and not force:
        raise OutputError(f"output would overwrite the input {src}; pass --force to allow it")
