"""Session fixtures: the synthetic test clips (scripts/make_clips.py --test-set) and the phone clip."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PHONE = ROOT / "samples" / "video" / "hlg10-color-test.mp4"


@pytest.fixture(scope="session")
def clips(tmp_path_factory) -> dict[str, Path]:
    """name -> path of the clips of ``make_clips.TEST_SET`` (320x180, made once per session)."""
    d = tmp_path_factory.mktemp("clips")
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_clips.py"), "--test-set", "--out", str(d)],
                   check=True, capture_output=True)
    out = {p.stem: p for p in d.iterdir() if p.suffix in (".mp4", ".mov", ".nut")}
    assert {"pq", "hlg", "pq_flat", "hlg_flat", "untagged", "sdr", "pq_rot90", "pq_cut", "hlg_cut"} <= set(out)
    return out


@pytest.fixture(scope="session")
def phone() -> Path:
    assert PHONE.is_file(), "samples/video/hlg10-color-test.mp4 is missing (see samples/PROVENANCE.md)"
    return PHONE


@pytest.fixture(scope="session")
def make_clips_module():
    """scripts/make_clips.py as a module (patch layout of the synthetic scene)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("make_clips", ROOT / "scripts" / "make_clips.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def ffmpeg_stream_text(path) -> str:
    """FFmpeg's own description of a file (``ffmpeg -i``): the independent oracle for tags and side data."""
    from hdrkit.io.ffmpeg import run_ffmpeg

    return run_ffmpeg(["-i", str(path)], check=False).stderr.decode("utf-8", "replace")
