#!/usr/bin/env python3
"""Which kernels each command compiles on its first run after an install.

Precompiles into an empty numba cache as ``pip install -e .`` does
(``build_backend/precompiling_backend.py``), then runs every command line of :data:`LINES`
in a fresh process on that cache (commands and options that run kernels, on the bundled
samples) and prints, per line, its time and the kernels it compiled (numba cache misses).
An install whose first runs compile nothing prints ``{}`` on every line. Exit status 1 if
any line compiled something or failed.

Usage:
    python scripts/first_run_check.py            # a fresh precompile first (about 100 s on two cores)
    python scripts/first_run_check.py --cache DIR  # an existing cache, e.g. another precompile's
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
_U = "samples/ultrahdr/"
_HLG = "samples/video/hlg10-color-test.mp4"
_PQ = "samples/goldens/ci/clip_pq.mp4"
_PHONE = "samples/video/sample_edit_list.mp4"  # an iPhone clip: HLG, rotated, Dolby Vision 8.4, edit list

#: Command lines (``{tmp}``: a scratch directory for the outputs).
LINES = (
    ("still", _U + "photoshop_seine_sdr_gainmap_srgb.jpg", "-o", "{tmp}/a.jpg"),
    ("still", _U + "apple_gainmap_new.jpg", "--display-boost", "2", "--ultrahdr", "--gainmap-channels", "3",
     "-o", "{tmp}/b.jpg"),
    ("still", "samples/goldens/ci/night_neon.jpg", "--ultrahdr", "-o", "{tmp}/c.jpg"),
    ("still", _U + "libultrahdr_minnie_ultrahdr_sys.jpg", "--gamut-map", "clip", "-o", "{tmp}/d.jpg"),
    ("proxy", _HLG, "--height", "480", "-o", "{tmp}/p.mp4"),
    ("proxy", _PQ, "-o", "{tmp}/q.mp4"),
    ("keyframes", _PQ, "-o", "{tmp}/kp/", "--limit", "2"),
    ("keyframes", _HLG, "-o", "{tmp}/kh/", "--every", "0.5"),
    ("proxy", _PHONE, "-o", "{tmp}/r.mp4"),
    ("keyframes", _PHONE, "-o", "{tmp}/kr/"),
    ("analyze", _PHONE),
    ("analyze", _PQ, "--hdr10"),
    ("analyze", _PQ, "--hdr10plus", "{tmp}/h.json"),
    ("analyze", _HLG, "--full", "--plot", "{tmp}/f.png"),
    ("encode", _HLG, "--hdr10", "-o", "{tmp}/e.mp4", "--preset", "ultrafast"),
    ("encode", _PQ, "--hdr10plus", "auto", "-o", "{tmp}/e10p.mp4", "--preset", "ultrafast"),
    ("deliver", _PQ, "-o", "{tmp}/dl/", "--x265-preset", "ultrafast"),
    ("hdr10plus", "plot", "samples/hdr10plus/single-frame-metadata.json", "-o", "{tmp}/m.png"),
    ("info", _HLG),
    ("curves", "--plot", "{tmp}/c.png"),
)

_COUNT = r'''
import json, sys
from hdrkit.cli import main
from hdrkit.core.runtime import cache_counts
rc = main(sys.argv[1:])
print(json.dumps({"rc": rc, "compiled": {k: n for k, n in cache_counts()["misses"].items() if n}}))
'''


def _precompile(cache: Path) -> None:
    spec = importlib.util.spec_from_file_location("precompiling_backend",
                                                  ROOT / "build_backend" / "precompiling_backend.py")
    be = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(be)
    be.RECORD = cache / "precompiled.json"  # not the tree's own record
    if not be.precompile(sys.stdout):
        sys.exit("the precompile failed")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", type=Path, help="an existing numba cache directory (default: precompile a new one)")
    args = ap.parse_args(argv)
    cache = args.cache or Path(tempfile.mkdtemp(prefix="hdrkit-first-run-"))
    os.environ["NUMBA_CACHE_DIR"] = str(cache)
    if args.cache is None:
        _precompile(cache)
    bad = 0
    with tempfile.TemporaryDirectory(prefix="hdrkit-first-run-out-") as tmp:
        env = {**os.environ, "HDRKIT_SERVER": "0"}
        for line in LINES:
            argv_ = ["-q", *(a.format(tmp=tmp) for a in line)]
            t0 = time.perf_counter()
            p = subprocess.run([sys.executable, "-c", _COUNT, *argv_], cwd=ROOT, env=env, capture_output=True,
                               text=True)
            try:
                out = json.loads(p.stdout.strip().splitlines()[-1])
            except (IndexError, ValueError):
                out = {"rc": p.returncode, "compiled": None, "error": (p.stderr.strip().splitlines() or ["?"])[-1]}
            bad += out["rc"] != 0 or out["compiled"] != {}
            print(f"{' '.join(line[:2]):<60} {time.perf_counter() - t0:5.1f} s  {json.dumps(out)}", flush=True)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
