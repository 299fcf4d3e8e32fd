"""kill -9 at any moment: the output path holds nothing, the previous file, or the complete new
one, never a truncated file; the input never changes.

Each run starts ``hdrkit still`` (a 4.3 MP gain-map JPEG) or ``hdrkit proxy`` (a small clip)
in its own process group, measures how long a full run takes, then SIGKILLs the group at
fractions of that time, with and without a previous output at the final path.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from .conftest import ROOT, hdrkit_cmd, proxy_args, sha256

pytestmark = pytest.mark.slow

KILL_FRACTIONS = (0.15, 0.45, 0.75, 0.93, 1.05)


def _env():
    return {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}


def _start(args) -> subprocess.Popen:
    return subprocess.Popen(hdrkit_cmd(*args), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=ROOT, env=_env(),
                            start_new_session=True)


def _kill_after(args, seconds: float) -> int | None:
    p = _start(args)
    try:
        p.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
    p.wait(30)
    p.stderr.close()
    return p.returncode


def _full_run(args) -> float:
    t0 = time.monotonic()
    p = _start(args)
    _, err = p.communicate(timeout=600)
    assert p.returncode == 0, err.decode(errors="replace")[-2000:]
    return time.monotonic() - t0


def _jpeg_complete(path: Path, size) -> bool:
    from PIL import Image

    try:
        with Image.open(path) as im:
            im.load()
            return im.size == size and path.read_bytes().endswith(b"\xff\xd9")
    except Exception:  # noqa: BLE001 - any decoder complaint means "not a complete JPEG"
        return False


def _mp4_complete(path: Path) -> bool:
    from hdrkit.io.ffmpeg import run_ffmpeg

    p = run_ffmpeg(["-v", "error", "-i", str(path), "-f", "null", "-"], check=False, timeout=120)
    return p.returncode == 0 and not (p.stderr or b"").strip()


def _leftovers(folder: Path, keep: set[str]) -> list[str]:
    return sorted(f.name for f in folder.iterdir() if f.name not in keep)


def _check_kills(tmp_path, args_for, out: Path, src: Path, complete, previous_args) -> dict:
    src_hash = sha256(src)
    full = _full_run(args_for(out))
    assert complete(out)
    seen = {"nothing": 0, "previous": 0, "new": 0}
    temps = []
    for with_previous in (False, True):
        for frac in KILL_FRACTIONS:
            for f in out.parent.iterdir():
                if f != src and f.is_file():
                    f.unlink()
            prev = None
            if with_previous:
                assert subprocess.run(hdrkit_cmd(*previous_args(out)), capture_output=True, cwd=ROOT, env=_env(),
                                      timeout=600).returncode == 0
                prev = out.read_bytes()
            _kill_after(args_for(out), frac * full)
            if out.exists():
                now = out.read_bytes()
                if prev is not None and now == prev:
                    seen["previous"] += 1
                else:
                    assert complete(out), f"truncated or broken output after a kill at {frac:.2f} x {full:.1f} s"
                    seen["new"] += 1
            else:
                assert prev is None, f"the previous output vanished after a kill at {frac:.2f} x {full:.1f} s"
                seen["nothing"] += 1
            left = _leftovers(out.parent, {src.name, out.name})
            assert all(n.startswith("." + out.name + ".") for n in left), f"non-temporary leftovers: {left}"
            temps += left
            assert sha256(src) == src_hash, "the input changed"
    return {"full_run_s": round(full, 2), **seen, "temp_leftovers": len(temps)}


@pytest.fixture(scope="module")
def big_still(tmp_path_factory) -> Path:
    from tools.fuzz.corpus import gainmap_jpeg

    p = tmp_path_factory.mktemp("kill-still") / "big.jpg"
    p.write_bytes(gainmap_jpeg(h=1800, w=2400, scale=4))
    return p


def test_kill_9_during_still_export(big_still, tmp_path):
    folder = big_still.parent
    out = folder / "out.jpg"
    res = _check_kills(tmp_path, lambda o: ["still", big_still, "-o", o], out, big_still,
                       lambda p: _jpeg_complete(p, (2400, 1800)), lambda o: ["still", big_still, "-o", o, "--quality", "40"])
    print("still kill -9:", res)
    assert res["nothing"] + res["previous"] > 0  # some kills did land before the rename


def test_kill_9_during_proxy(tmp_path):
    from tools.fuzz.corpus import encode_clip

    folder = tmp_path / "p"
    folder.mkdir()
    # long enough for kills to land while frames are being encoded
    src = encode_clip(folder / "clip.mp4", "hlg", frames=96, size="640x360")
    assert src is not None
    out = folder / "proxy.mp4"
    res = _check_kills(tmp_path, lambda o: proxy_args(src, o), out, src, _mp4_complete,
                       lambda o: proxy_args(src, o) + ["--crf", "35"])
    print("proxy kill -9:", res)
