"""Atomic outputs: write to a temporary file beside the target, then rename.

A process killed at any moment leaves either no file or the previous one at the final
path, never a truncated one (``os.replace`` is atomic on POSIX within a filesystem).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

from ..errors import OutputError

__all__ = ["atomic_path", "atomic_write_bytes", "check_not_input", "check_output_file", "check_output_dir",
           "make_output_dir", "save_png"]


def _umask() -> int:
    try:  # Linux: read it without changing it (os.umask() would race with other threads)
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _mode_for(dst: Path) -> int:
    """Permissions of the final file: those of the file it replaces, else 0666 minus the umask."""
    try:
        return stat.S_IMODE(dst.stat().st_mode)
    except OSError:
        return 0o666 & ~_umask()


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
        raise OutputError(f"its folder {parent} does not exist", path=dst)
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{dst.name}.", suffix=suffix if suffix is not None else dst.suffix,
                                   dir=parent)
    except OSError as e:
        raise OutputError(f"cannot write in {parent}: {(e.strerror or str(e)).lower()}", path=dst) from None
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        if tmp.exists():  # mkstemp makes the file 0600: give it the mode a plain open() would
            os.chmod(tmp, _mode_for(dst))
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


def save_png(fig, dst, dpi: int = 100) -> Path:
    """Write a matplotlib figure as PNG atomically, then close it (frees its memory)."""
    import matplotlib.pyplot as plt  # lazy: matplotlib takes about a second to import

    dst = Path(dst)
    try:
        with atomic_path(dst, suffix=".png") as tmp:
            fig.savefig(tmp, dpi=dpi, format="png")
    finally:
        plt.close(fig)
    return dst


def check_not_input(src, dst, force: bool = False) -> None:
    """Refuse to write over an input file unless ``force``."""
    try:
        same = Path(src).resolve() == Path(dst).resolve()
    except OSError:
        same = False
    if same and not force:
        raise OutputError("is the input; pass --force to overwrite it", path=dst)


def _probe_writable(folder: Path, dst: Path) -> None:
    """Create and remove a temporary file in ``folder`` (``os.access`` says yes to root even
    where the filesystem or an immutable flag says no)."""
    try:
        fd, tmp = tempfile.mkstemp(prefix=".hdrkit-probe.", dir=folder)
    except OSError as e:
        raise OutputError(f"cannot write in {folder}: {(e.strerror or str(e)).lower()}", path=dst) from None
    os.close(fd)
    os.unlink(tmp)


def check_output_file(dst, *, inputs=(), force: bool = False) -> Path:
    """Check, before any work, that a file can be written at ``dst``.

    Parameters
    ----------
    dst : str or os.PathLike
        The output file. Its folder must exist (it is not created).
    inputs : iterable of path
        Input files ``dst`` must not be (unless ``force``).
    force : bool
        Allow ``dst`` to be one of ``inputs``.

    Returns
    -------
    pathlib.Path
        ``dst``.

    Raises
    ------
    OutputError
        ``dst`` is a folder, its folder is missing or not writable, or it is an input.
    """
    dst = Path(dst)
    if dst.is_dir():
        raise OutputError("is a folder; give a file name", path=dst)
    parent = dst.parent if str(dst.parent) else Path(".")
    if not parent.is_dir():
        what = "is a file, not a folder" if parent.exists() else "does not exist"
        raise OutputError(f"its folder {parent} {what}", path=dst)
    for src in inputs:
        check_not_input(src, dst, force)
    _probe_writable(parent, dst)
    return dst


def check_output_dir(folder) -> Path:
    """Check, before any work, that ``folder`` is a writable folder or can be created.

    Nothing is created here (:func:`make_output_dir` does that once there is a file to
    write). Raises :class:`OutputError` when ``folder`` is a file, or when it (or the
    nearest existing folder above it) is not writable.
    """
    folder = Path(folder)
    probe = folder
    while not probe.exists():
        if probe.parent == probe:
            break
        probe = probe.parent
    if probe.exists() and not probe.is_dir():
        raise OutputError("is a file, not a folder" if probe == folder else f"{probe} is a file, not a folder",
                          path=folder)
    _probe_writable(probe if str(probe) else Path("."), folder)
    return folder


def make_output_dir(folder) -> Path:
    """Create ``folder`` (and its parents) if missing; :class:`OutputError` when impossible."""
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise OutputError(f"cannot create the folder: {(e.strerror or str(e)).lower()}", path=folder) from None
    return folder
