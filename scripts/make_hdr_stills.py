#!/usr/bin/env python3
"""HDR stills as a PQ or HLG camera would deliver them: 16-bit signals and their linear light.

``hdr_still(width, height, transfer, gamut)`` takes the synthetic scene of
``make_ultrahdr.synth_scene`` (log ramp, saturated patches in the scene gamut, skin,
highlights up to 8x SDR white = 1624 cd/m^2), encodes it with the PQ inverse EOTF (peak
10000 cd/m^2) or the HLG inverse EOTF (1000 cd/m^2 display, so highlights clip at
1000 cd/m^2), quantises the signal to 16 bits and decodes it again. It returns the 16-bit
signal and its linear light (1.0 = SDR white = 203 cd/m^2), the buffer hdrkit's core holds
for such a picture.

The PNG carries a ``cICP`` chunk (PNG Third Edition; H.273 primaries, transfer, RGB, full
range) written by :func:`hdrkit.still.cicp.add_cicp`, since FFmpeg's PNG encoder writes none;
``--no-cicp`` leaves it out, and a ``.tif`` output is an (untagged) 16-bit TIFF.

Example::

    python scripts/make_hdr_stills.py --size 4000x3000 --transfer pq --gamut p3 \\
        --out samples/generated/hdr_12mp_pq_p3.png
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from make_ultrahdr import synth_scene  # noqa: E402

from hdrkit.still.cicp import CICP_PRIMARIES, CICP_TRANSFERS, add_cicp  # noqa: E402
from hdrkit.core.transfer import (SDR_WHITE_NITS, eotf_hlg, eotf_inverse_hlg, eotf_inverse_st2084,  # noqa: E402
                                  eotf_st2084)

HLG_PEAK_NITS = 1000.0


def hdr_still(width: int, height: int, transfer: str = "pq", gamut: str = "p3", seed: int = 0,
              peak: float = 8.0) -> tuple[np.ndarray, np.ndarray]:
    """(16-bit signal uint16 (H, W, 3), linear float32 (H, W, 3), 1.0 = 203 cd/m^2) in ``gamut``."""
    nits = synth_scene(width, height, gamut, seed, peak).astype(np.float64) * SDR_WHITE_NITS
    if transfer == "pq":
        sig = eotf_inverse_st2084(nits)
    elif transfer == "hlg":
        sig = eotf_inverse_hlg(np.minimum(nits, HLG_PEAK_NITS), HLG_PEAK_NITS)
    else:
        raise ValueError(f"transfer must be pq or hlg, not {transfer!r}")
    code = np.round(np.clip(sig, 0, 1) * 65535).astype(np.uint16)
    e = code.astype(np.float64) / 65535
    lin = eotf_st2084(e) if transfer == "pq" else eotf_hlg(e, HLG_PEAK_NITS)
    return code, (lin / SDR_WHITE_NITS).astype(np.float32)


def encode16(code: np.ndarray, codec: str = "png") -> bytes:
    """A 16-bit RGB PNG or TIFF of ``code`` (FFmpeg's encoders through PyAV), as bytes."""
    import io

    import av

    buf = io.BytesIO()
    with av.open(buf, "w", format="image2pipe") as c:
        s = c.add_stream(codec, rate=1)
        s.width, s.height, s.pix_fmt = code.shape[1], code.shape[0], "rgb48be" if codec == "png" else "rgb48le"
        fr = av.VideoFrame.from_ndarray(np.ascontiguousarray(code), format="rgb48le")
        for pkt in s.encode(fr):
            c.mux(pkt)
        for pkt in s.encode():
            c.mux(pkt)
    return buf.getvalue()


def cicp_png(code: np.ndarray, transfer: str, gamut: str) -> bytes:
    """A 16-bit PNG of ``code`` tagged with its cICP chunk."""
    prim = {v: k for k, v in CICP_PRIMARIES.items()}[gamut]
    trc = {"pq": 16, "hlg": 18}[transfer]
    assert CICP_TRANSFERS[trc] == transfer
    return add_cicp(encode16(code, "png"), prim, trc)


def write_png16(code: np.ndarray, dst: Path) -> None:
    """A 16-bit RGB PNG of ``code`` without colour tags."""
    dst.write_bytes(encode16(code, "png"))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="640x480", help="WxH (default 640x480)")
    ap.add_argument("--transfer", choices=["pq", "hlg"], default="pq")
    ap.add_argument("--gamut", choices=["bt709", "p3", "bt2020"], default="p3")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--no-cicp", action="store_true", help="write the PNG without its cICP chunk")
    ap.add_argument("--out", type=Path, required=True,
                    help="16-bit PNG (.png, with cICP), TIFF (.tif, untagged) or .npy (the linear buffer)")
    a = ap.parse_args(argv)
    w, h = (int(v) for v in a.size.lower().split("x"))
    code, lin = hdr_still(w, h, a.transfer, a.gamut, a.seed)
    a.out.parent.mkdir(parents=True, exist_ok=True)
    if a.out.suffix == ".npy":
        np.save(a.out, lin)
    elif a.out.suffix.lower() in (".tif", ".tiff"):
        a.out.write_bytes(encode16(code, "tiff"))
    elif a.no_cicp:
        write_png16(code, a.out)
    else:
        a.out.write_bytes(cicp_png(code, a.transfer, a.gamut))
    print(f"{a.out}: {w}x{h} {a.transfer} {a.gamut}, peak {lin.max() * SDR_WHITE_NITS:.0f} cd/m^2")
    return 0


if __name__ == "__main__":
    sys.exit(main())
