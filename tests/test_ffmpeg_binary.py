"""The FFmpeg binary: imageio-ffmpeg's own file (or the one IMAGEIO_FFMPEG_EXE names), found
without running it and never looked up on the PATH."""

import os
import subprocess
import sys
from pathlib import Path

import imageio_ffmpeg

CODE = ("import subprocess, sys\n"
        "def refuse(*a, **k):\n"
        "    raise AssertionError('ran a process: ' + repr(a[:1]))\n"
        "subprocess.Popen.__init__ = refuse\n"
        "from hdrkit.io.ffmpeg import ffmpeg_exe\n"
        "print(ffmpeg_exe())\n")


def _exe(env) -> str:
    return subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, check=True,
                          env=env).stdout.strip()


def test_the_wheels_binary_without_running_it():
    """imageio-ffmpeg's lookup runs ``ffmpeg -version`` first (20-40 ms of every command that
    uses FFmpeg) and falls back to an ``ffmpeg`` on the PATH; hdrkit's takes the wheel's file."""
    env = {k: v for k, v in os.environ.items() if k != "IMAGEIO_FFMPEG_EXE"}
    env["PATH"] = ""  # nothing to find there either
    exe = Path(_exe(env))
    assert exe.is_file() and exe.parent == Path(imageio_ffmpeg.__file__).parent / "binaries"
    assert os.path.samefile(exe, imageio_ffmpeg.get_ffmpeg_exe())  # the file imageio-ffmpeg's own lookup picks
    out = subprocess.run([str(exe), "-hide_banner", "-version"], capture_output=True, text=True, check=True).stdout
    assert out.startswith("ffmpeg version")


def test_an_explicit_binary_is_taken_as_given(tmp_path):
    env = {**os.environ, "IMAGEIO_FFMPEG_EXE": str(tmp_path / "my-ffmpeg")}
    assert _exe(env) == str(tmp_path / "my-ffmpeg")
