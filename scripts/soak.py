#!/usr/bin/env python3
"""Soak test: export a batch of a few hundred generated stills in one process and watch memory and CPU.

Generates ``--variants`` distinct gain-map JPEGs (tools.fuzz.corpus.gainmap_jpeg: gray and
colour maps, 1- and 3-channel metadata, map scales 1-4, ICC / EXIF / extended XMP
variants, a few sizes), then exports ``--images`` of them in turn with
``hdrkit.still.export.export_sdr`` (the loop ``hdrkit still`` runs), in this process.

Reported:

- RSS (resident set, from /proc/self/statm) sampled every ``--every`` images: at the start
  (after the first, warm-up image), peak, end, and the slope of a least-squares line
  through the samples after warm-up, in MB per 100 images (a leak shows as a steady slope);
- CPU utilisation = process CPU time (user + system, all threads) / wall time; above 1.0
  on a multi-core machine means the kernels ran on several cores at once;
- images per second.

Usage:
    python scripts/soak.py                      # 300 images of 1.2 MP
    python scripts/soak.py --images 500 --size 1600x1200 --json soak.json
Exit status 1 when the slope exceeds ``--max-slope`` MB per 100 images (default 2).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

_PAGE = os.sysconf("SC_PAGE_SIZE")


def rss_mb() -> float:
    """Resident set size of this process from /proc/self/statm, in MB."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * _PAGE / 2**20


def cpu_seconds() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def slope_per_100(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of ys over xs, times 100."""
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    den = sum((x - mx) ** 2 for x in xs)
    return 100.0 * sum((x - mx) * (y - my) for x, y in zip(xs, ys)) / den if den else 0.0


def make_inputs(folder: Path, variants: int, width: int, height: int) -> list[Path]:
    from tools.fuzz.corpus import gainmap_jpeg, sample_exif
    from hdrkit.still.export import srgb_icc

    kinds = [dict(), dict(channels=3, gray_map=False, xmp_form="seq", scale=2), dict(iso=False, scale=4, icc=srgb_icc()),
             dict(xmp=False, channels=3, gray_map=False), dict(extended_xmp=True, exif=sample_exif(), scale=1),
             dict(progressive=True, mpf_order="little")]
    out = []
    for i in range(variants):
        f = 1.0 - 0.15 * (i % 3)  # a few sizes
        w, h = max(16, int(width * f)) // 2 * 2, max(16, int(height * f)) // 2 * 2
        p = folder / f"soak_{i:02d}.jpg"
        p.write_bytes(gainmap_jpeg(h=h, w=w, seed=100 + i, **kinds[i % len(kinds)]))
        out.append(p)
    return out


def run(images: int = 300, every: int = 10, variants: int = 12, size: str = "1280x960", warmup: int = 10,
        out_dir: Path | None = None, log=print) -> dict:
    from hdrkit.still.export import export_sdr

    w, h = (int(v) for v in size.lower().split("x"))
    work = Path(tempfile.mkdtemp(prefix="hdrkit-soak-")) if out_dir is None else Path(out_dir)
    work.mkdir(parents=True, exist_ok=True)
    try:
        srcs = make_inputs(work, variants, w, h)
        dst = work / "out.jpg"  # the same output path each time: disk use stays flat too
        samples: list[tuple[int, float]] = []
        rss0 = rss_mb()
        t0, c0 = time.monotonic(), cpu_seconds()
        tw, cw = t0, c0
        for i in range(images):
            export_sdr(srcs[i % len(srcs)], dst)
            if i + 1 == warmup:
                tw, cw = time.monotonic(), cpu_seconds()
            if (i + 1) % every == 0 or i + 1 == images:
                samples.append((i + 1, rss_mb()))
                if log:
                    log(f"  {i + 1:5d} images  RSS {samples[-1][1]:7.1f} MB")
        wall, cpu = time.monotonic() - t0, cpu_seconds() - c0
        steady_wall, steady_cpu = time.monotonic() - tw, cpu_seconds() - cw
        after = [(n, r) for n, r in samples if n >= warmup] or samples
        res = {
            "images": images, "size": f"{w}x{h}", "variants": variants,
            "rss_before_mb": round(rss0, 1),
            "rss_start_mb": round(after[0][1], 1),
            "rss_peak_mb": round(max(r for _, r in samples), 1),
            "rss_end_mb": round(samples[-1][1], 1),
            "ru_maxrss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
            "slope_mb_per_100_images": round(slope_per_100([n for n, _ in after], [r for _, r in after]), 3),
            "wall_s": round(wall, 1),
            "images_per_s": round(images / wall, 2),
            "cpu_utilisation": round(cpu / wall, 2),
            "cpu_utilisation_steady": round(steady_cpu / max(steady_wall, 1e-9), 2),
            "cores": os.cpu_count(),
            "samples": samples,
        }
        return res
    finally:
        if out_dir is None:
            shutil.rmtree(work, ignore_errors=True)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--images", type=int, default=300, help="images to export (default 300)")
    ap.add_argument("--every", type=int, default=10, help="sample RSS every N images (default 10)")
    ap.add_argument("--variants", type=int, default=12, help="distinct generated inputs (default 12)")
    ap.add_argument("--size", default="1280x960", help="largest input size WxH (default 1280x960)")
    ap.add_argument("--warmup", type=int, default=10, help="images before the RSS baseline (default 10)")
    ap.add_argument("--max-slope", type=float, default=2.0, help="fail above this many MB per 100 images (default 2)")
    ap.add_argument("--json", type=Path, default=None, help="write the result as JSON")
    args = ap.parse_args(argv)
    res = run(args.images, args.every, args.variants, args.size, args.warmup)
    print(f"soak: {res['images']} images ({res['size']} max, {res['variants']} variants) in {res['wall_s']} s, "
          f"{res['images_per_s']} images/s")
    print(f"RSS: before {res['rss_before_mb']} MB, start {res['rss_start_mb']} MB (after {args.warmup} images), "
          f"peak {res['rss_peak_mb']} MB, end {res['rss_end_mb']} MB; slope {res['slope_mb_per_100_images']} MB "
          f"per 100 images")
    print(f"CPU utilisation: {res['cpu_utilisation']} (steady {res['cpu_utilisation_steady']}) on {res['cores']} cores")
    if args.json:
        args.json.write_text(json.dumps(res, indent=2) + "\n")
    return 1 if res["slope_mb_per_100_images"] > args.max_slope else 0


if __name__ == "__main__":
    sys.exit(main())
