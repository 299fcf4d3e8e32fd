#!/usr/bin/env python3
"""Synthesise HDR scenes and write real gain-map JPEGs from them.

Two ways to make a file:

- ``encode_libultrahdr``: libultrahdr's own encoder through ``imagecodecs.ultrahdr_encode``
  (3-channel 4:4:4 maps, ISO 21496-1 metadata, gamut BT.709 / Display P3 / BT.2100).
- ``assemble``: a file built piece by piece (base and map JPEGs from Pillow's libjpeg,
  ISO 21496-1 record and MPF index from hdrkit's writers, optional hdrgm XMP), for what
  that encoder does not produce: one-channel maps, 4:2:0 bases, gamma != 1, offsets,
  per-channel metadata, non-integer map scales, other aspect ratios, XMP-only metadata,
  little-endian MPF.

Scenes (``synth_scene``) are linear light, 1.0 = SDR white, in the requested primaries:
a log luminance ramp, saturated colour patches at three levels, skin tones, soft texture
and highlights up to 8x.

Examples::

    python scripts/make_ultrahdr.py --size 4000x3000 --gamut p3 --scale 4 \\
        --out samples/generated/bench_12mp.jpg
    python scripts/make_ultrahdr.py --set samples/generated/set   # the agreement-test variants
"""

from __future__ import annotations

import argparse
import io
import math
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from hdrkit.core.primaries import rgb_to_rgb_matrix  # noqa: E402
from hdrkit.core.transfer import eotf_inverse_srgb  # noqa: E402
from hdrkit.still.iso21496 import URN, ChannelFractions, Iso21496Record, to_fraction, write_iso21496  # noqa: E402
from hdrkit.still.jpeg import app_segment, insert_segments, scan_jpeg  # noqa: E402
from hdrkit.still.mpf import build_mpf  # noqa: E402

GAMUTS = {"bt709": "BT_709", "p3": "DISPLAY_P3", "bt2100": "BT_2100"}
HDRKIT_PRIMARIES = {"bt709": "bt709", "p3": "p3", "bt2100": "bt2020"}

# sRGB-encoded skin tones (light to dark), decoded to linear below
_SKIN = [(0.94, 0.78, 0.69), (0.87, 0.67, 0.55), (0.76, 0.57, 0.45), (0.62, 0.44, 0.34), (0.45, 0.31, 0.23)]


def synth_scene(width: int, height: int, gamut: str = "p3", seed: int = 0, peak: float = 8.0) -> np.ndarray:
    """A deterministic HDR test scene, float32 (H, W, 3), linear, 1.0 = SDR white, in ``gamut``."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    u, v = x / max(width - 1, 1), y / max(height - 1, 1)
    # base: soft texture around mid grey
    tex = 0.18 * (1.0 + 0.5 * np.sin(2 * math.pi * (3 * u + 0.3)) * np.cos(2 * math.pi * (2 * v)))
    img = np.repeat(tex[..., None], 3, axis=-1) * np.array([1.0, 0.95, 0.9], np.float32)
    # top band: log luminance ramp from 1/256 to peak
    band = v < 0.15
    ramp = 2.0 ** (np.log2(1 / 256) + (np.log2(peak) - np.log2(1 / 256)) * u)
    img[band] = ramp[band][:, None]
    # colour patches: 6 hues x 3 levels, saturated in the scene gamut (plus BT.709-saturated)
    hues = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 0], [0, 1, 1], [1, 0, 1]], np.float32)
    levels = [0.25, 1.0, 3.0]
    m709 = rgb_to_rgb_matrix("bt709", HDRKIT_PRIMARIES.get(gamut, gamut)).astype(np.float32)
    for i, hue in enumerate(hues):
        for j, lev in enumerate(levels):
            x0, y0 = 0.05 + i * 0.1, 0.2 + j * 0.12
            m = (u >= x0) & (u < x0 + 0.08) & (v >= y0) & (v < y0 + 0.1)
            col = hue * lev if (i + j) % 2 == 0 else (hue * 0.9 + 0.05) @ m709.T * lev
            img[m] = col
    # skin patches at two exposures
    for i, s in enumerate(_SKIN):
        lin = (np.asarray(s, np.float32) + 0.055) / 1.055
        lin = lin ** 2.4
        for j, lev in enumerate((0.6, 1.6)):
            x0, y0 = 0.65 + i * 0.065, 0.2 + j * 0.12
            m = (u >= x0) & (u < x0 + 0.055) & (v >= y0) & (v < y0 + 0.1)
            img[m] = lin * lev
    # highlights: soft blobs up to ``peak``
    for _ in range(6):
        cx, cy = rng.uniform(0.1, 0.9), rng.uniform(0.6, 0.95)
        r = rng.uniform(0.02, 0.06)
        amp = rng.uniform(2.0, peak)
        tint = rng.uniform(0.8, 1.0, 3).astype(np.float32)
        d2 = ((u - cx) ** 2 + ((v - cy) * height / width) ** 2) / r ** 2
        img += (amp * np.exp(-d2))[..., None] * tint
    return np.clip(img, 0.0, peak).astype(np.float32)


def encode_libultrahdr(linear: np.ndarray, gamut: str = "p3", scale: int = 1, quality: int = 95) -> bytes:
    """Encode a linear scene (1.0 = SDR white) with libultrahdr (imagecodecs)."""
    import imagecodecs

    h, w = linear.shape[:2]
    rgba = np.concatenate([linear, np.ones((h, w, 1), np.float32)], axis=-1).astype(np.float16)
    cg = getattr(imagecodecs.ULTRAHDR.CG, GAMUTS[gamut])
    return imagecodecs.ultrahdr_encode(rgba, level=quality, scale=scale, gamut=cg)


def libultrahdr_icc(gamut: str) -> bytes:
    """An ICC profile libultrahdr writes whose colorants are ``gamut``'s (from a tiny encode:
    the primary's profile, or the gain map's when the primary is in another gamut)."""
    from hdrkit.still.icc import icc_primaries

    data = encode_libultrahdr(np.full((16, 16, 3), 0.5, np.float32), gamut)
    prim = scan_jpeg(data)
    gm = scan_jpeg(data, prim.end)
    for icc in (prim.icc, gm.icc):
        if icc is not None and icc_primaries(icc) == HDRKIT_PRIMARIES[gamut]:
            return icc
    raise RuntimeError(f"libultrahdr wrote no ICC profile for {gamut}")


def iso_record(min_log2, max_log2, gamma=1.0, offset_sdr=0.0, offset_hdr=0.0, cap_min_log2=0.0,
               cap_max_log2=None, use_base_colour_space=True) -> Iso21496Record:
    """An ISO 21496-1 record from float values (per-channel values as 1 or 3-sequences)."""
    def tri(v):
        v = tuple(v) if isinstance(v, (tuple, list)) else (v,)
        return v * 3 if len(v) == 1 else v

    mn, mx, gm, os_, oh = map(tri, (min_log2, max_log2, gamma, offset_sdr, offset_hdr))
    chans = tuple(ChannelFractions(to_fraction(mn[c]), to_fraction(mx[c]), to_fraction(gm[c], signed=False),
                                   to_fraction(os_[c]), to_fraction(oh[c])) for c in range(3))
    cap_max = max(mx) if cap_max_log2 is None else cap_max_log2
    return Iso21496Record(0, 0, use_base_colour_space, to_fraction(cap_min_log2, signed=False),
                          to_fraction(cap_max, signed=False), chans)


def hdrgm_xmp(min_log2, max_log2, gamma=1.0, offset_sdr=0.0, offset_hdr=0.0, cap_min_log2=0.0, cap_max_log2=None,
              seq: bool = False) -> str:
    """Gain-map-image hdrgm XMP; ``seq`` writes 3-value properties as rdf:Seq elements (Adobe form)."""
    vals = {"GainMapMin": min_log2, "GainMapMax": max_log2, "Gamma": gamma, "OffsetSDR": offset_sdr,
            "OffsetHDR": offset_hdr, "HDRCapacityMin": cap_min_log2,
            "HDRCapacityMax": max(np.atleast_1d(max_log2)) if cap_max_log2 is None else cap_max_log2}
    attrs, elems = [], []
    for k, v in vals.items():
        v = np.atleast_1d(v)
        if len(v) == 3 and seq:
            lis = "".join(f"<rdf:li>{float(x):.6f}</rdf:li>" for x in v)
            elems.append(f"<hdrgm:{k}><rdf:Seq>{lis}</rdf:Seq></hdrgm:{k}>")
        else:
            attrs.append(f'hdrgm:{k}="{float(v[0]):.6f}"')
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            '<rdf:Description rdf:about="" xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" hdrgm:Version="1.0" '
            + " ".join(attrs) + ">" + "".join(elems) + "</rdf:Description></rdf:RDF></x:xmpmeta>")


def _pil_jpeg(arr: np.ndarray, quality: int, subsampling: int, icc: bytes | None = None) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    kw = {"icc_profile": icc} if icc else {}
    Image.fromarray(arr).save(buf, "JPEG", quality=quality, subsampling=subsampling, **kw)
    return buf.getvalue()


def sdr_base(linear: np.ndarray) -> np.ndarray:
    """Naive SDR rendition of a scene: clip to [0, 1], sRGB-encode, 8-bit."""
    return np.rint(eotf_inverse_srgb(np.clip(linear, 0, 1)) * 255).astype(np.uint8)


def gain_map(linear: np.ndarray, base_u8: np.ndarray, map_size: tuple[int, int], channels: int, min_log2, max_log2,
             gamma=1.0, offset=1 / 64) -> np.ndarray:
    """Encode per-pixel log2(HDR / SDR) into 8 bits at ``map_size`` (box-averaged), 1 or 3 channels."""
    from PIL import Image

    from hdrkit.core.transfer import eotf_srgb

    sdr = eotf_srgb(base_u8.astype(np.float64) / 255)
    hdr = linear.astype(np.float64)
    if channels == 1:
        hdr, sdr = hdr.max(-1, keepdims=True), sdr.max(-1, keepdims=True)
    g = np.log2((hdr + offset) / (sdr + offset))
    lo, hi = np.broadcast_to(np.atleast_1d(min_log2), (3,))[:channels], np.broadcast_to(np.atleast_1d(max_log2), (3,))[:channels]
    gm = np.broadcast_to(np.atleast_1d(gamma), (3,))[:channels]
    n = np.clip((g - lo) / (hi - lo), 0, 1) ** gm
    planes = []
    for c in range(channels):
        im = Image.fromarray(np.ascontiguousarray(n[..., c], dtype=np.float32))
        planes.append(np.asarray(im.resize(map_size, Image.BOX)))
    m = np.rint(np.stack(planes, -1) * 255).clip(0, 255).astype(np.uint8)
    return m[..., 0] if channels == 1 else m


def assemble(base_jpeg: bytes, map_jpeg: bytes, *, iso: Iso21496Record | None = None, map_xmp: str | None = None,
             primary_xmp: bool = False, byte_order: str = "big", iso_channels: int | None = None) -> bytes:
    """Wrap a base JPEG and a gain-map JPEG into one gain-map file with an MPF index."""
    gm_segs = []
    if map_xmp is not None:
        gm_segs.append(app_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + map_xmp.encode()))
    if iso is not None:
        gm_segs.append(app_segment(0xE2, URN + write_iso21496(iso, iso_channels)))
    gm = insert_segments(map_jpeg, gm_segs, after_app0=False)
    prim_segs = []
    if primary_xmp:
        x = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
             '<rdf:Description rdf:about="" xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" '
             'hdrgm:Version="1.0"/></rdf:RDF></x:xmpmeta>')
        prim_segs.append(app_segment(0xE1, b"http://ns.adobe.com/xap/1.0/\x00" + x.encode()))
    if iso is not None:
        prim_segs.append(app_segment(0xE2, URN + b"\x00\x00\x00\x00"))
    placeholder = app_segment(0xE2, build_mpf([(0x030000, 0, 0), (0, 0, 0)], byte_order))
    tmp = insert_segments(base_jpeg, prim_segs + [placeholder])
    s = scan_jpeg(tmp)
    base_off = s.mpf_base_offset
    primary_size = len(tmp)
    mpf = app_segment(0xE2, build_mpf([(0x030000, primary_size, 0), (0, len(gm), primary_size - base_off)],
                                      byte_order))
    assert len(mpf) == len(placeholder)
    prim = tmp[:s.mpf.offset] + mpf + tmp[s.mpf.end:]
    return prim + gm


def make_assembled(width=320, height=240, *, gamut="p3", map_w=None, map_h=None, channels=1, subsampling=2,
                   gamma=1.0, offset_sdr=0.0, offset_hdr=0.0, min_log2=-1.0, max_log2=3.0, metadata="iso",
                   byte_order="big", seed=0, quality=95, scene=None) -> bytes:
    """A complete assembled gain-map JPEG of a synthetic scene (see :func:`assemble`)."""
    lin = synth_scene(width, height, gamut, seed) if scene is None else scene
    base = sdr_base(lin)
    mw, mh = map_w or width // 4, map_h or height // 4
    off = offset_sdr if np.isscalar(offset_sdr) else offset_sdr[0]
    gm = gain_map(lin, base, (mw, mh), channels, min_log2, max_log2, gamma, offset=max(off, 1 / 64))
    base_jpeg = _pil_jpeg(base, quality, subsampling, libultrahdr_icc(gamut))
    map_jpeg = _pil_jpeg(gm, quality, 0)
    if metadata == "iso":
        rec = iso_record(min_log2, max_log2, gamma, offset_sdr, offset_hdr)
        return assemble(base_jpeg, map_jpeg, iso=rec, byte_order=byte_order)
    if metadata in ("xmp", "xmp-seq"):
        x = hdrgm_xmp(min_log2, max_log2, gamma, offset_sdr, offset_hdr, seq=metadata == "xmp-seq")
        return assemble(base_jpeg, map_jpeg, map_xmp=x, primary_xmp=True, byte_order=byte_order)
    raise ValueError(f"unknown metadata kind {metadata!r}")


#: Variants written by ``--set``: name -> keyword arguments of make_assembled, or
#: ("libultrahdr", gamut, scale) for encoder files.
VARIANTS = {
    "uhdr_p3_s1": ("libultrahdr", "p3", 1),
    "uhdr_bt709_s2": ("libultrahdr", "bt709", 2),
    "uhdr_bt2100_s4": ("libultrahdr", "bt2100", 4),
    "asm_gray_s4_420": dict(channels=1, subsampling=2),
    "asm_rgb_s2_gamma_offsets": dict(channels=3, map_w=160, map_h=120, gamma=(1.3, 1.0, 0.8),
                                     offset_sdr=(1 / 64, 0.01, 0.02), offset_hdr=(1 / 64, 0.02, 0.01),
                                     min_log2=(-1.0, -0.5, -1.5), max_log2=(3.0, 2.5, 3.2)),
    "asm_gray_nonint_scale_le": dict(channels=1, map_w=128, map_h=96, byte_order="little", gamut="bt709"),
    "asm_gray_aspect_mismatch": dict(channels=1, map_w=100, map_h=100),
    "asm_xmp_attr": dict(channels=1, metadata="xmp", gamma=1.2, offset_sdr=1 / 64, offset_hdr=1 / 64),
}


def make_variant(name: str, width: int = 320, height: int = 240) -> bytes:
    v = VARIANTS[name]
    if isinstance(v, tuple):
        _, gamut, scale = v
        return encode_libultrahdr(synth_scene(width, height, gamut), gamut, scale)
    return make_assembled(width, height, **v)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", default="4000x3000", help="WIDTHxHEIGHT (default 4000x3000, 12 MP)")
    ap.add_argument("--gamut", choices=sorted(GAMUTS), default="p3")
    ap.add_argument("--scale", type=int, default=4, help="gain-map downscale factor (libultrahdr encoder)")
    ap.add_argument("--quality", type=int, default=95)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default="samples/generated/ultrahdr_synthetic.jpg")
    ap.add_argument("--set", metavar="DIR", help="write every agreement-test variant into DIR instead")
    a = ap.parse_args(argv)
    if a.set:
        d = Path(a.set)
        d.mkdir(parents=True, exist_ok=True)
        for name in VARIANTS:
            (d / f"{name}.jpg").write_bytes(make_variant(name))
            print(d / f"{name}.jpg")
        return 0
    w, h = (int(x) for x in a.size.lower().split("x"))
    data = encode_libultrahdr(synth_scene(w, h, a.gamut, a.seed), a.gamut, a.scale, a.quality)
    out = Path(a.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(data)
    print(f"{out}: {w}x{h}, {a.gamut}, map 1/{a.scale}, {len(data)} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
