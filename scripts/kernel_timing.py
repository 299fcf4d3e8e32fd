#!/usr/bin/env python3
"""Compile time and run time of one family of video kernels, in a fresh process.

The first call runs with an empty ``NUMBA_CACHE_DIR`` (so it measures compilation plus one
run); then the median, minimum and maximum of ``--runs`` further calls on the first frame of
``--clip`` (default: the bundled 1080p HLG clip). Prints one JSON line. The machine is often
shared: compare medians of several alternating runs, not single figures.

Usage:
    python scripts/kernel_timing.py measure
    PYTHONPATH=/path/to/other/checkout python scripts/kernel_timing.py render_lut   # another revision
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KERNELS = ("yuv_to_linear", "measure", "render_lut", "display_to_yuv")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("kernel", choices=KERNELS)
    ap.add_argument("--clip", type=Path, default=ROOT / "samples" / "video" / "hlg10-color-test.mp4")
    ap.add_argument("--runs", type=int, default=9)
    args = ap.parse_args(argv)
    os.environ["NUMBA_CACHE_DIR"] = tempfile.mkdtemp(prefix="hdrkit-kernel-timing-")
    import numpy as np

    from hdrkit.core.pipeline import RenderParams
    from hdrkit.video.reader import VideoReader

    with VideoReader(args.clip) as r:
        f = next(r.frames())
        col = r.colour
    if args.kernel == "yuv_to_linear":
        fn = lambda: r.to_linear(f)  # noqa: E731
    elif args.kernel == "measure":
        from hdrkit.video.render import sample_linear

        fn = lambda: sample_linear(f.y, f.u, f.v, col, 2)  # noqa: E731
    elif args.kernel == "render_lut":
        from hdrkit.video.lut3d import bake_lut
        from hdrkit.video.render import render_lut_yuv420

        cube = bake_lut(col.transfer, RenderParams(), 4.93, 33, primaries=col.primaries)
        fn = lambda: render_lut_yuv420(f.y, f.u, f.v, col, cube)  # noqa: E731
    else:
        from hdrkit.video.render import yuv420_from_display

        lin = np.random.default_rng(0).random((*f.y.shape, 3), dtype=np.float32)
        fn = lambda: yuv420_from_display(lin)  # noqa: E731
    t0 = time.perf_counter()
    fn()
    first = time.perf_counter() - t0
    ts = []
    for _ in range(args.runs):
        t0 = time.perf_counter()
        fn()
        ts.append(time.perf_counter() - t0)
    print(json.dumps({"kernel": args.kernel, "first_call_s": round(first, 2),
                      "median_ms": round(1000 * statistics.median(ts), 2), "min_ms": round(1000 * min(ts), 2),
                      "max_ms": round(1000 * max(ts), 2)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
