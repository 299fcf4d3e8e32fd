"""Fixtures for the robustness tests: real samples, generated stills and clips, subprocess helpers."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session", autouse=True)
def _fuzz_seed_cache(tmp_path_factory):
    """Generated fuzz seeds (small clips) go to a session tmp folder, not the checkout."""
    if "HDRKIT_FUZZ_SEEDS" not in os.environ:
        os.environ["HDRKIT_FUZZ_SEEDS"] = str(tmp_path_factory.mktemp("fuzz-seeds"))
    yield


@pytest.fixture(scope="session")
def samples() -> Path:
    from tools.fuzz.corpus import samples_dir

    d = samples_dir()
    if d is None:
        pytest.skip("real samples not found (samples/ or $HDRKIT_SAMPLES)")
    return d


@pytest.fixture(scope="session")
def uhdr_sample(samples) -> Path:
    return samples / "ultrahdr" / "libultrahdr_minnie_ultrahdr_sys.jpg"


@pytest.fixture(scope="session")
def small_gainmap_jpeg() -> bytes:
    """A 64x48 gain-map JPEG assembled from hdrkit's writers (see tools.fuzz.corpus)."""
    from tools.fuzz.corpus import gainmap_jpeg

    return gainmap_jpeg()


def _clip(tmp_path_factory, kind: str, container: str = "mp4") -> Path:
    from tools.fuzz.corpus import encode_clip

    d = tmp_path_factory.mktemp(f"clip-{kind}")
    p = encode_clip(d / f"clip_{kind}.{container}", kind)
    assert p is not None, f"the bundled FFmpeg could not encode the {kind} test clip"
    return p


@pytest.fixture(scope="session")
def hlg_clip(tmp_path_factory) -> Path:
    """128x72, 8 frames, HEVC Main10 HLG BT.2020 (x265 of imageio-ffmpeg)."""
    return _clip(tmp_path_factory, "hlg")


@pytest.fixture(scope="session")
def pq_clip(tmp_path_factory) -> Path:
    """128x72, 8 frames, HEVC Main10 PQ with HDR10 (MDCV + CLL) and HDR10+ SEIs."""
    return _clip(tmp_path_factory, "pq")


@pytest.fixture(scope="session")
def untagged_clip(tmp_path_factory) -> Path:
    return _clip(tmp_path_factory, "untagged")


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def hdrkit_cmd(*args) -> list[str]:
    return [sys.executable, "-m", "hdrkit", *map(str, args)]


def run_hdrkit(*args, timeout=300, **kw) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run(hdrkit_cmd(*args), capture_output=True, text=True, timeout=timeout, env=env, cwd=ROOT, **kw)


def peak_rss_of(code: str, timeout=120) -> tuple[float, str]:
    """Run ``code`` in a fresh interpreter; (its peak RSS in MB, its stdout)."""
    wrapper = code + "\nimport resource as _r\nprint('PEAK_RSS_MB', _r.getrusage(_r.RUSAGE_SELF).ru_maxrss / 1024)\n"
    env = {**os.environ, "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", "")}
    p = subprocess.run([sys.executable, "-c", wrapper], capture_output=True, text=True, timeout=timeout, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    line = [ln for ln in p.stdout.splitlines() if ln.startswith("PEAK_RSS_MB")][-1]
    return float(line.split()[1]), p.stdout


def outcome_within(seconds: float, fn, *args, **kw) -> str:
    """Run ``fn(*args)`` in a forked child with a hard time limit.

    Returns 'accepted', 'refused' (an HdrkitError), 'error: <type>: <message>' for any other
    exception, or 'timeout' when the child had to be killed (e.g. stuck in a regex)."""
    import multiprocessing as mp

    def child(conn):
        from hdrkit.errors import HdrkitError

        try:
            fn(*args, **kw)
            conn.send("accepted")
        except HdrkitError:
            conn.send("refused")
        except BaseException as e:  # noqa: BLE001 - reported to the test
            conn.send(f"error: {type(e).__name__}: {str(e)[:200]}")

    ctx = mp.get_context("fork")
    a, b = ctx.Pipe()
    p = ctx.Process(target=child, args=(b,), daemon=True)
    p.start()
    res = a.recv() if a.poll(seconds) else "timeout"
    if p.is_alive():
        p.kill()
    p.join(5)
    return res


def proxy_args(src, out) -> list:
    """``hdrkit proxy`` arguments for IN -> OUT."""
    return ["proxy", src, "-o", out]
