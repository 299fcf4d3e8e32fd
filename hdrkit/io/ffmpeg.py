"""The one FFmpeg runner: the binary from imageio-ffmpeg, never the system PATH."""

from __future__ import annotations

import logging
import shlex
import subprocess
from functools import lru_cache

from ..errors import EncodeError

__all__ = ["ffmpeg_exe", "run_ffmpeg"]

log = logging.getLogger("hdrkit.ffmpeg")


@lru_cache(maxsize=1)
def ffmpeg_exe() -> str:
    """Path of the FFmpeg binary shipped by the imageio-ffmpeg wheel."""
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


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
