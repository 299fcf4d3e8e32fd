#!/usr/bin/env python3
"""Bake a .cube 3D LUT from hdrkit's colour core for FFmpeg ``lut3d``.

Input of the LUT: R'G'B' signal of ``--transfer`` (PQ or HLG; bt1886 / srgb for SDR) in
``--primaries`` (BT.2020), the cube [0, 1]^3. Output: BT.709 R'G'B' encoded with BT.1886
(``--out-transfer``), [0, 1]. Every entry is :func:`hdrkit.core.pipeline.render_linear`
(tone map for a source peak of ``--peak`` cd/m^2, gamut map) followed by
:func:`hdrkit.core.pipeline.encode_transfer`, via :func:`hdrkit.video.lut3d.bake_lut`; no
colour maths lives here.

Use in FFmpeg (limited-range HDR Y'CbCr in, limited BT.709 Y'CbCr out)::

    ffmpeg -i in.mp4 -vf "zscale=r=full,format=gbrp16le,lut3d=file=pq_bt2390_1000_65.cube:interp=tetrahedral,\
setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=pc,zscale=m=bt709:r=limited,\
format=yuv420p" -c:v libx264 out.mp4

(``hdrkit proxy --engine ffmpeg`` builds that command, and strips the HDR side data.)

Usage:
    python filters/build_lut.py --transfer pq --peak 1000 --size 65 -o pq_bt2390_1000_65.cube
    python filters/build_lut.py --transfer hlg --size 33 --curve hable -o hlg_hable_33.cube
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from hdrkit.core.dither import DEFAULT_DITHER
from hdrkit.core.gamut import DEFAULT_GAMUT_MAP, GAMUT_MAPS
from hdrkit.core.pipeline import TRANSFER_ENCODERS, RenderParams
from hdrkit.core.tonemap import PRESETS, TONE_CURVES
from hdrkit.core.transfer import SDR_WHITE_NITS
from hdrkit.video.decode import TRANSFERS
from hdrkit.video.lut3d import bake_lut, write_cube


def build(transfer: str, out: Path, *, size: int = 65, peak_nits: float = 1000.0, params: RenderParams | None = None,
          primaries: str = "bt2020", out_transfer: str = "bt1886") -> Path:
    """Bake and write one LUT; returns its path."""
    params = params or RenderParams()
    lut = bake_lut(transfer, params, peak_nits / SDR_WHITE_NITS, size, primaries=primaries, out_transfer=out_transfer)
    tags = params.tags()
    write_cube(out, lut, title=f"hdrkit {transfer} {primaries} {peak_nits:g} cd/m2 -> bt709 {out_transfer}",
               comments=("baked by filters/build_lut.py from hdrkit.core.pipeline; do not edit",
                         *(f"{k}: {v}" for k, v in tags.items()), f"source peak: {peak_nits:g} cd/m2"))
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--transfer", choices=TRANSFERS, required=True, help="input signal transfer")
    ap.add_argument("--primaries", choices=("bt2020", "p3", "bt709"), default="bt2020", help="input primaries")
    ap.add_argument("--peak", type=float, default=1000.0, help="source peak in cd/m^2 (default 1000)")
    ap.add_argument("--size", type=int, default=65, help="grid points per axis (33 or 65 usual; default 65)")
    ap.add_argument("--curve", choices=sorted(TONE_CURVES), default=None)
    ap.add_argument("--preset", choices=sorted(PRESETS), default=None)
    ap.add_argument("--gamut-map", choices=sorted(GAMUT_MAPS), default=DEFAULT_GAMUT_MAP)
    ap.add_argument("--out-transfer", choices=sorted(TRANSFER_ENCODERS), default="bt1886")
    ap.add_argument("-o", "--output", type=Path, required=True, help="output .cube file")
    args = ap.parse_args(argv)
    params = RenderParams(curve=args.curve, preset=args.preset, gamut_map=args.gamut_map, dither=DEFAULT_DITHER)
    path = build(args.transfer, args.output, size=args.size, peak_nits=args.peak, params=params,
                 primaries=args.primaries, out_transfer=args.out_transfer)
    print(f"wrote {path} ({args.size}^3, {args.transfer} {args.peak:g} cd/m^2)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
