"""The one FFmpeg runner: the binary from imageio-ffmpeg, never the system PATH."""

from __future__ import annotations

import logging
import os
import shlex
import subprocess
from functools import lru_cache

from ..errors import EncodeError

__all__ = ["ffmpeg_exe", "run_ffmpeg"]

log = logging.getLogger("hdrkit.ffmpeg")


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the FFmpeg binary shipped by the imageio-ffmpeg wheel, or the one the
    ``IMAGEIO_FFMPEG_EXE`` environment variable names (as imageio-ffmpeg takes it).

    ``imageio_ffmpeg.get_ffmpeg_exe()`` runs the binary first (``ffmpeg -version``: 20-40 ms
    of every command that uses FFmpeg) and, should that fail, falls back to an ``ffmpeg`` on
    the PATH. hdrkit takes the wheel's file as it is (a broken one fails at its first run,
    with FFmpeg's message) and never the PATH.

    Raises
    ------
    EncodeError
        The installed imageio-ffmpeg has no binary for this platform.
    """
    explicit = os.environ.get("IMAGEIO_FFMPEG_EXE")
    if explicit:
        return explicit
    from importlib.resources import files

    from imageio_ffmpeg._definitions import FNAME_PER_PLATFORM, get_platform

    name = FNAME_PER_PLATFORM.get(get_platform())
    exe = files("imageio_ffmpeg.binaries") / name if name else None
    if exe is None or not exe.is_file():
        raise EncodeError(f"imageio-ffmpeg ships no FFmpeg binary for this platform ({get_platform()}); "
                          "set IMAGEIO_FFMPEG_EXE to one")
    return str(exe)


def run_ffmpeg(args: list[str], *, check: bool = True, capture: bool = True, timeout: float | None = None,
               input: bytes | None = None) -> subprocess.CompletedProcess:
    """Run ``ffmpeg ARGS`` (``-hide_banner -nostdin`` added); raise :class:`EncodeError` on failure.

    The exact command is logged with ``shlex.join``. stderr is returned (bytes) in the result.
    """
    cmd = [ffmpeg_exe(), "-hide_banner", *([] if input is not None else ["-nostdin"]), *map(str, args)]
    log.debug("%s", shlex.join(cmd))
    try:
        proc = subprocess.run(cmd, input=input, stdout=subprocess.PIPE if capture else None,
                              stderr=subprocess.PIPE if capture else None, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise EncodeError(f"ffmpeg timed out after {timeout} s") from e
    if check and proc.returncode != 0:
        tail = (proc.stderr or b"").decode("utf-8", "replace").strip().splitlines()[-3:]
        raise EncodeError(f"ffmpeg failed (exit {proc.returncode}): {' | '.join(tail)}")
    return proc
