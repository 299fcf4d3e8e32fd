"""Seed corpora for the fuzz targets: the real samples plus generated files.

Every corpus is a list of byte strings, built deterministically:

- ``jpeg``: the real Ultra HDR / gain-map JPEGs (samples/ultrahdr) and generated ones:
  gain-map JPEGs assembled here from hdrkit's own writers (MPF index, ISO 21496-1 record,
  hdrgm + GContainer XMP, the ICC/EXIF/extended-XMP variants) around Pillow-encoded base
  and gain-map images, and plain JPEGs (gray, 4:4:4, progressive, with restart markers);
- ``still``: ``jpeg`` plus 8/16-bit PNG and TIFF;
- ``mpf`` / ``xmp`` / ``iso21496`` / ``icc`` / ``exif``: the payloads cut out of every
  ``jpeg`` seed (so real writers' quirks are in), plus generated ones;
- ``st2086`` / ``mdcv_sei``: x265 master-display strings and 24-byte SEI payloads,
  including the real-world mistakes (R,G,B order, luminance in cd/m^2);
- ``hdr10plus_json``: the hdr10plus_tool sample and generated profile A / B files;
- ``sidedata`` / ``cll``: FFmpeg side-data structs read back from generated HDR10 / HDR10+
  clips (PyAV ``bytes(side_data)``), each prefixed by a selector byte;
- ``video``: small generated HEVC clips (HLG, PQ with HDR10 + HDR10+, untagged; MP4 and raw
  Annex B) encoded by the imageio-ffmpeg binary, plus the real HLG phone clip.

Video seeds are cached under ``samples/generated/fuzz-seeds/`` (git-ignored).
"""

from __future__ import annotations

import io
import json
import os
import struct
import zlib
from functools import lru_cache
from pathlib import Path

import numpy as np

from .mutators import HOSTILE_XMP, split_nals

__all__ = ["samples_dir", "seed_cache_dir", "build_corpus", "CORPORA", "gainmap_jpeg", "plain_jpeg", "encode_clip",
           "video_seed", "sample_exif", "HOSTILE_XMP"]

_REPO = Path(__file__).resolve().parents[2]


def _sample_dirs() -> list[Path]:
    cands = [os.environ.get("HDRKIT_SAMPLES"), _REPO / "samples"]
    return [Path(c) for c in cands if c and Path(c).is_dir()]


def samples_dir() -> Path | None:
    """Where the real samples are: $HDRKIT_SAMPLES, else the repository's samples/."""
    return next((d for d in _sample_dirs() if (d / "ultrahdr").is_dir()), None)


def seed_cache_dir() -> Path:
    d = Path(os.environ.get("HDRKIT_FUZZ_SEEDS", _REPO / "samples" / "generated" / "fuzz-seeds"))
    d.mkdir(parents=True, exist_ok=True)
    return d


def _real(pattern: str) -> list[bytes]:
    """Real sample files matching ``pattern`` from the first samples folder that has any."""
    for d in _sample_dirs():
        files = [p for p in sorted(d.glob(pattern)) if p.is_file()]
        if files:
            return [p.read_bytes() for p in files]
    return []


# ----------------------------------------------------------------------- pictures
def _picture(h: int, w: int, seed: int) -> np.ndarray:
    """A small deterministic RGB8 picture: gradients, a saturated patch, noise."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:h, 0:w].astype(np.float32)
    img = np.stack([x / max(w - 1, 1), y / max(h - 1, 1), 0.5 + 0.5 * np.sin((x + y) / 5.0)], -1) * 220
    img[h // 4:h // 2, w // 4:w // 2] = (250, 30, 20)
    img += rng.normal(0, 6, img.shape)
    return np.clip(img, 0, 255).astype(np.uint8)


def _pil_jpeg(arr: np.ndarray, quality=85, subsampling=2, **kw) -> bytes:
    from PIL import Image

    mode = "L" if arr.ndim == 2 else "RGB"
    buf = io.BytesIO()
    Image.fromarray(arr, mode).save(buf, "JPEG", quality=quality, subsampling=subsampling, **kw)
    return buf.getvalue()


def plain_jpeg(h=48, w=64, seed=1, **kw) -> bytes:
    return _pil_jpeg(_picture(h, w, seed), **kw)


def _hdrgm_xmp(values: dict, version="1.0", form="attribute", container_len: int | None = None) -> bytes:
    """hdrgm XMP (Adobe gain-map spec) in attribute or rdf:Seq element form; GContainer when asked."""
    ns = ('xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/"'
          ' xmlns:Container="http://ns.google.com/photos/1.0/container/"'
          ' xmlns:Item="http://ns.google.com/photos/1.0/container/item/"')
    attrs = [f'hdrgm:Version="{version}"']
    elems = []
    for k, v in values.items():
        vs = v if isinstance(v, (tuple, list)) else (v,)
        if form == "attribute" or len(vs) == 1 and form != "seq":
            attrs.append(f'hdrgm:{k}="{vs[0]}"')
        else:
            lis = "".join(f"<rdf:li>{x}</rdf:li>" for x in vs)
            elems.append(f"<hdrgm:{k}><rdf:Seq>{lis}</rdf:Seq></hdrgm:{k}>")
    cont = ""
    if container_len is not None:
        cont = ("<Container:Directory><rdf:Seq>"
                '<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="Primary" Item:Mime="image/jpeg"/></rdf:li>'
                f'<rdf:li rdf:parseType="Resource"><Container:Item Item:Semantic="GainMap" Item:Mime="image/jpeg" '
                f'Item:Length="{container_len}"/></rdf:li></rdf:Seq></Container:Directory>')
    return ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
            f'<rdf:Description rdf:about="" {ns} {" ".join(attrs)}>{"".join(elems)}{cont}</rdf:Description>'
            "</rdf:RDF></x:xmpmeta>").encode()


_XMP_SIG = b"http://ns.adobe.com/xap/1.0/\x00"
_XMP_EXT_SIG = b"http://ns.adobe.com/xmp/extension/\x00"
_ISO_URN = b"urn:iso:std:iso:ts:21496:-1\x00"


def _iso_record(channels: int, gmin, gmax, gamma, off_sdr, off_hdr, cap_min, cap_max, base_cs=True) -> bytes:
    from hdrkit.still.iso21496 import ChannelFractions, Iso21496Record, to_fraction, write_iso21496

    def ch(i):
        pick = lambda v: v[i] if isinstance(v, (tuple, list)) else v  # noqa: E731
        return ChannelFractions(to_fraction(pick(gmin)), to_fraction(pick(gmax)), to_fraction(pick(gamma), False),
                                to_fraction(pick(off_sdr)), to_fraction(pick(off_hdr)))

    chans = tuple(ch(i) for i in range(3))
    rec = Iso21496Record(0, 0, base_cs, to_fraction(cap_min, False), to_fraction(cap_max, False), chans, channels)
    return write_iso21496(rec, channel_count=channels)


def _icc_chunks(icc: bytes, n: int) -> list[bytes]:
    from hdrkit.still.jpeg import app_segment

    size = -(-len(icc) // n)
    parts = [icc[i:i + size] for i in range(0, len(icc), size)]
    return [app_segment(0xE2, b"ICC_PROFILE\x00" + bytes((i + 1, len(parts))) + p) for i, p in enumerate(parts)]


def gainmap_jpeg(*, h=48, w=64, scale=2, channels=1, gray_map=True, iso=True, xmp=True, xmp_form="attribute",
                 mpf_order="big", exif: bytes | None = None, icc: bytes | None = None, icc_chunks=1,
                 extended_xmp=False, progressive=False, seed=3) -> bytes:
    """An Ultra HDR style gain-map JPEG assembled from hdrkit's writers (Ultra HDR v1.1 layout).

    Primary: SOI, APP0, [EXIF], [ICC], XMP (hdrgm:Version + GContainer), ISO 21496-1 version
    stub, MPF index, base image. Secondary: SOI, APP0, XMP (hdrgm values), ISO record, map.
    """
    from hdrkit.still.jpeg import app_segment, insert_segments
    from hdrkit.still.mpf import build_mpf

    base = _pil_jpeg(_picture(h, w, seed), progressive=progressive)
    mh, mw = max(1, h // scale), max(1, w // scale)
    g = _picture(mh, mw, seed + 1)
    gmap = _pil_jpeg(g[..., 1] if gray_map else g, subsampling=0)
    vals = {"GainMapMin": (0.0, 0.1, 0.0) if channels == 3 else 0.0, "GainMapMax": (2.0, 2.2, 1.8) if channels == 3 else 2.0,
            "Gamma": 1.0, "OffsetSDR": 0.015625, "OffsetHDR": 0.015625, "HDRCapacityMin": 0.0, "HDRCapacityMax": 2.0}
    sec_segs = []
    if xmp:
        sec_segs.append(app_segment(0xE1, _XMP_SIG + _hdrgm_xmp(vals, form=xmp_form)))
    if iso:
        sec_segs.append(app_segment(0xE2, _ISO_URN + _iso_record(channels, vals["GainMapMin"], vals["GainMapMax"], 1.0,
                                                                 0.015625, 0.015625, 0.0, 2.0)))
    secondary = insert_segments(gmap, sec_segs)
    prim_segs = []
    if exif:
        prim_segs.append(app_segment(0xE1, exif if exif.startswith(b"Exif") else b"Exif\x00\x00" + exif))
    if icc:
        prim_segs += _icc_chunks(icc, icc_chunks)
    if xmp:
        packet = _hdrgm_xmp({}, container_len=len(secondary))
        if extended_xmp:
            guid = "0123456789ABCDEF0123456789ABCDEF"
            packet = packet.replace(b'rdf:about=""', b'rdf:about="" xmlns:xmpNote="http://ns.adobe.com/xmp/note/" '
                                    b'xmpNote:HasExtendedXMP="' + guid.encode() + b'"')
            ext = _hdrgm_xmp(vals)
            half = len(ext) // 2
            for off, part in ((0, ext[:half]), (half, ext[half:])):
                prim_segs.append(app_segment(0xE1, _XMP_EXT_SIG + guid.encode() + struct.pack(">II", len(ext), off) + part))
        prim_segs.append(app_segment(0xE1, _XMP_SIG + packet))
    if iso:
        prim_segs.append(app_segment(0xE2, _ISO_URN + b"\x00\x00\x00\x00"))
    mpf_len = len(app_segment(0xE2, build_mpf([(0, 0, 0), (0, 0, 0)], mpf_order)))
    # the MPF segment goes after the other inserted ones; its endian field (the origin of
    # MP entry offsets) follows FF E2, the u16 length and 'MPF\0'
    endian_at = _insert_pos(base) + sum(map(len, prim_segs)) + 8
    total_primary = len(base) + sum(map(len, prim_segs)) + mpf_len
    mpf = build_mpf([(0x030000 | (1 << 29), total_primary, 0), (0, len(secondary), total_primary - endian_at)], mpf_order)
    primary = insert_segments(base, prim_segs + [app_segment(0xE2, mpf)])
    assert len(primary) == total_primary
    return primary + secondary


def _insert_pos(jpeg: bytes) -> int:
    """Where insert_segments puts new segments: after SOI and a leading APP0."""
    if jpeg[2:4] == b"\xff\xe0":
        return 4 + struct.unpack(">H", jpeg[4:6])[0]
    return 2


def _png(arr: np.ndarray, bits: int) -> bytes:
    h, w, c = arr.shape
    dt = ">u2" if bits == 16 else "u1"
    raw = b"".join(b"\x00" + arr[y].astype(dt).tobytes() for y in range(h))

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    ct = {1: 0, 3: 2, 4: 6}[c]
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, bits, ct, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _tiff(arr: np.ndarray) -> bytes:
    from PIL import Image

    buf = io.BytesIO()
    Image.fromarray(arr).save(buf, "TIFF")
    return buf.getvalue()


# ---------------------------------------------------------------- sub-payloads
def _jpeg_payloads(jpegs: list[bytes]) -> dict[str, list[bytes]]:
    """Cut EXIF / XMP / ICC / MPF / ISO payloads out of every JPEG (and its MPF images)."""
    from hdrkit.errors import HdrkitError
    from hdrkit.still.jpeg import scan_jpeg

    out: dict[str, list[bytes]] = {k: [] for k in ("exif", "xmp", "icc", "mpf", "iso21496")}
    for data in jpegs:
        starts = [0]
        i = data.find(b"\xff\xd8\xff", 4)
        while i > 0:
            starts.append(i)
            i = data.find(b"\xff\xd8\xff", i + 4)
        for st in starts:
            try:
                s = scan_jpeg(data, st)
            except HdrkitError:
                continue
            if s.exif:
                out["exif"].append(s.exif)
            if s.xmp:
                out["xmp"].append(s.xmp)
            if s.xmp_extended:
                out["xmp"].append(s.xmp_extended)
            if s.icc:
                out["icc"].append(s.icc)
            if s.mpf is not None:
                out["mpf"].append(s.mpf.body())
            if s.iso21496 and len(s.iso21496) > 4:
                out["iso21496"].append(s.iso21496)
    return {k: _dedupe(v) for k, v in out.items()}


def _dedupe(items: list[bytes]) -> list[bytes]:
    seen, out = set(), []
    for x in items:
        if x not in seen:
            seen.add(x)
            out.append(x)
    return out


def _srgb_icc() -> bytes:
    from hdrkit.still.export import srgb_icc

    return srgb_icc()


def sample_exif() -> bytes:
    """An EXIF block (IFD0, Exif IFD with a MakerNote, GPS IFD, IFD1 thumbnail) built by the export's writer."""
    from hdrkit.still.exif import ExifEntry, build_exif

    e = ">"
    ifd0 = {0x010F: ExifEntry(0x010F, 2, 6, b"hdrk\x00\x00"), 0x0112: ExifEntry(0x0112, 3, 1, b"\x00\x06"),
            0x011A: ExifEntry(0x011A, 5, 1, struct.pack(">II", 72, 1))}
    exif = {0x9003: ExifEntry(0x9003, 2, 20, b"2024:01:02 03:04:05\x00"),
            0x927C: ExifEntry(0x927C, 7, 12, b"Apple iOS\x00\x00\x01")}
    gps = {0x0001: ExifEntry(0x0001, 2, 2, b"N\x00")}
    thumb = plain_jpeg(8, 8, 9)
    return build_exif(e, {"0": ifd0, "exif": exif, "gps": gps}, width=64, height=48, software="seed", thumbnail=thumb)


def _generated_jpegs() -> list[bytes]:
    icc = _srgb_icc()
    exif = sample_exif()
    out = [
        gainmap_jpeg(),
        gainmap_jpeg(channels=3, gray_map=False, xmp_form="seq", mpf_order="little", scale=1),
        gainmap_jpeg(iso=False, scale=4, icc=icc, icc_chunks=3, exif=exif),
        gainmap_jpeg(xmp=False, channels=3, gray_map=False, progressive=True),
        gainmap_jpeg(extended_xmp=True, exif=exif, h=40, w=40, scale=3),
        plain_jpeg(),
        plain_jpeg(32, 32, 4, subsampling=0, icc_profile=icc),
        plain_jpeg(24, 40, 5, progressive=True, exif=exif),
        _pil_jpeg(_picture(40, 24, 6)[..., 0]),
    ]
    try:  # restart markers (Pillow >= 10.2)
        out.append(plain_jpeg(32, 48, 7, restart_marker_blocks=2))
    except TypeError:  # pragma: no cover
        pass
    try:  # an Ultra HDR file written by libultrahdr itself (imagecodecs, a test extra)
        import imagecodecs

        rgb = _picture(32, 48, 8).astype(np.float32) / 255.0
        hdr = np.concatenate([(rgb ** 2.2) * 3.0, np.ones_like(rgb[..., :1])], -1).astype(np.float16)
        out.append(bytes(imagecodecs.ultrahdr_encode(hdr, level=85, gamut=1, transfer=0)))
    except Exception:  # noqa: BLE001 - optional seed
        pass
    return out


def _xmp_seeds() -> list[bytes]:
    vals = {"GainMapMin": 0.0, "GainMapMax": 3.5, "Gamma": 1.0, "OffsetSDR": 0.0, "OffsetHDR": 0.0,
            "HDRCapacityMin": 0.0, "HDRCapacityMax": 3.5, "BaseRenditionIsHDR": "False"}
    seq = {k: (v, v, v) if isinstance(v, float) else v for k, v in vals.items()}
    apple = (b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
             b'<rdf:Description rdf:about="" xmlns:HDRGainMap="http://ns.apple.com/HDRGainMap/1.0/" '
             b'xmlns:apdi="http://ns.apple.com/pixeldatainfo/1.0/" HDRGainMap:HDRGainMapVersion="131072" '
             b'HDRGainMap:HDRGainMapHeadroom="3.2" apdi:AuxiliaryImageType="urn:com:apple:photo:2020:aux:hdrgainmap"/>'
             b"</rdf:RDF></x:xmpmeta>")
    wrapped = b'<?xpacket begin="\xef\xbb\xbf" id="W5M0MpCehiHzreSzNTczkc9d"?>' + _hdrgm_xmp(vals) + b'<?xpacket end="w"?>'
    return [_hdrgm_xmp(vals), _hdrgm_xmp(seq, form="seq"), _hdrgm_xmp({}, container_len=1234), apple, wrapped,
            _hdrgm_xmp(vals).decode().encode("utf-16")]


def _st2086_seeds() -> list[bytes]:
    s = [b"G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)",
         b"G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)",
         b"G(8500,39850)B(6550,2300)R(35400,14600)WP(15635,16450)L(40000000,50)",
         b"R(34000,16000)G(13250,34500)B(7500,3000)WP(15635,16450)L(10000000,50)",  # R,G,B order
         b"G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(1000,0.005)",  # nits
         b"G(13250, 34500) B(7500, 3000) R(34000, 16000) WP(15635, 16450) L(10000000, 50)",
         b"G(0.265,0.69)B(0.15,0.06)R(0.68,0.32)WP(0.3127,0.329)L(1000,0.0001)",
         b"p3-d65-1000", b"bt2020-4000"]
    return s


def _mdcv_sei_seeds() -> list[bytes]:
    return [struct.pack(">8HII", 13250, 34500, 7500, 3000, 34000, 16000, 15635, 16450, 10000000, 50),
            struct.pack(">8HII", 34000, 16000, 13250, 34500, 7500, 3000, 15635, 16450, 1000, 0),
            struct.pack(">8HII", 8500, 39850, 6550, 2300, 35400, 14600, 15635, 16450, 40000000, 50)]


def _hdr10plus_json_seeds() -> list[bytes]:
    out = _real("hdr10plus/*.json")
    scene = {"BezierCurveData": {"Anchors": [143, 298, 447, 592, 731, 864, 891, 917, 938], "KneePointX": 164,
                                 "KneePointY": 240},
             "LuminanceParameters": {"AverageRGB": 263, "LuminanceDistributions": {
                 "DistributionIndex": [1, 5, 10, 25, 50, 75, 90, 95, 99],
                 "DistributionValues": [0, 6080, 92, 1, 4, 107, 726, 1784, 5843]}, "MaxScl": [7768, 6589, 6912]},
             "NumberOfWindows": 1, "TargetedSystemDisplayMaximumLuminance": 400,
             "SceneFrameIndex": 0, "SceneId": 0, "SequenceFrameIndex": 0}
    frames = []
    for i in range(6):
        s = json.loads(json.dumps(scene))
        s["SequenceFrameIndex"] = i
        s["SceneFrameIndex"] = i % 3
        s["SceneId"] = i // 3
        s["LuminanceParameters"]["MaxScl"][0] += 10 * i
        frames.append(s)
    doc_b = {"JSONInfo": {"HDR10plusProfile": "B", "Version": "1.0"}, "SceneInfo": frames,
             "SceneInfoSummary": {"SceneFirstFrameIndex": [0, 3], "SceneFrameNumbers": [3, 3]},
             "ToolInfo": {"Tool": "hdrkit", "Version": "0"}}
    prof_a = json.loads(json.dumps(doc_b))
    prof_a["JSONInfo"]["HDR10plusProfile"] = "A"
    for s in prof_a["SceneInfo"]:
        s.pop("BezierCurveData")
        s["TargetedSystemDisplayMaximumLuminance"] = 0
    minimal = {"SceneInfo": [{"LuminanceParameters": scene["LuminanceParameters"],
                              "TargetedSystemDisplayMaximumLuminance": 0}]}
    out += [json.dumps(d).encode() for d in (doc_b, prof_a, minimal)]
    return out


# -------------------------------------------------------------------------- video
def encode_clip(path: Path, kind: str, frames: int = 8, size: str = "128x72") -> Path | None:
    """A small HEVC Main10 clip (default 128x72, 8 frames at 24 fps) from FFmpeg's testsrc2
    (x265 of imageio-ffmpeg): kind 'hlg', 'pq' (HDR10 MDCV/CLL + HDR10+ SEIs) or 'untagged'."""
    from hdrkit.errors import HdrkitError
    from hdrkit.io.ffmpeg import run_ffmpeg

    tags = {"hlg": ("bt2020", "arib-std-b67", "bt2020nc"), "pq": ("bt2020", "smpte2084", "bt2020nc")}
    xp = ["log-level=error", "repeat-headers=1", "keyint=4", "bframes=2"]
    vf = "format=yuv420p10le"
    if kind in tags:
        prim, trc, mat = tags[kind]
        xp += [f"colorprim={prim}", f"transfer={trc}", f"colormatrix={mat}", "range=limited"]
        # setparams tags the frames, so encoder, VUI and container all carry the description
        vf = f"setparams=color_primaries={prim}:color_trc={trc}:colorspace={mat}:range=tv,{vf}"
    if kind == "pq":
        js = path.with_suffix(".json")
        js.write_bytes(_hdr10plus_json_seeds()[-3])  # the generated 6-frame profile B file
        xp += ["hdr10=1", "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)",
               "max-cll=1000,400", f"dhdr10-info={js}"]
    # MP4s get their index first (faststart) so a cut file still has it and reaches the decoder
    fmt = ["-f", "hevc"] if path.suffix == ".hevc" else ["-tag:v", "hvc1", "-movflags", "+faststart+write_colr"]
    args = ["-loglevel", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=24:duration={frames / 24 + 0.01:.3f}",
            "-vf", vf, "-frames:v", str(frames), "-c:v", "libx265", "-preset", "ultrafast",
            "-x265-params", ":".join(xp), *fmt, str(path)]
    try:
        run_ffmpeg(args, timeout=120)
    except HdrkitError:
        return None
    return path


#: Version of the cached generated clips: bump it when :func:`encode_clip` changes.
_CLIP_FORMAT = 3


def video_seed(kind: str = "hlg", container: str = "mp4") -> Path | None:
    """Path of a cached small generated clip: kind 'hlg' | 'pq' (HDR10 + HDR10+) | 'untagged'."""
    d = seed_cache_dir()
    path = d / f"clip_{kind}_v{_CLIP_FORMAT}.{container}"
    if path.is_file() and path.stat().st_size > 0:
        return path
    tmp = d / f".clip_{kind}.{os.getpid()}.{container}"
    out = encode_clip(tmp, kind)
    if out is None:
        return None
    os.replace(tmp, path)
    return path


def _video_seeds() -> list[bytes]:
    out = []
    for kind, cont in (("hlg", "mp4"), ("pq", "mp4"), ("untagged", "mp4"), ("pq", "hevc")):
        p = video_seed(kind, cont)
        if p is not None:
            out.append(p.read_bytes())
    return out + _real("video/*.mp4")


def _side_data_from_clip(path: Path) -> list[tuple[str, bytes]]:
    import av

    out = []
    with av.open(str(path)) as c:
        for i, f in enumerate(c.decode(video=0)):
            for sd in f.side_data:
                out.append((str(getattr(sd.type, "name", sd.type)), bytes(sd)))
            if i >= 2:
                break
    return out


def _sidedata_seeds() -> list[bytes]:
    """Raw side-data structs (selector byte + bytes); the selector spreads them over the parsers."""
    raw: list[bytes] = []
    p = video_seed("pq", "mp4")
    if p is not None:
        try:
            raw += [b for _, b in _side_data_from_clip(p)]
        except Exception:  # noqa: BLE001 - seeds are best effort
            pass
    # AVMasteringDisplayMetadata (88 B), AVContentLightMetadata (8 B), hand-packed as libavutil lays them out
    r = lambda n, d=50000: struct.pack("<ii", n, d)  # noqa: E731
    mdcv = b"".join(r(v) for v in (34000, 16000, 13250, 34500, 7500, 3000, 15635, 16450)) + r(50, 10000) + r(
        10000000, 10000) + struct.pack("<ii", 1, 1)
    raw += [mdcv, struct.pack("<II", 1000, 400)]
    out = []
    for i, b in enumerate(_dedupe(raw)):
        out.append(bytes((i % 8,)) + b)
    return out


def _hevc_sei_seeds() -> list[bytes]:
    """Annex B HEVC (the generated HDR10 + HDR10+ stream) and its SEI NAL units, mode byte first."""
    p = video_seed("pq", "hevc")
    if p is None:
        return [b"\x00\x00\x00\x01\x4e\x01\x89\x18" + bytes(24) + b"\x80"]
    data = p.read_bytes()
    sei = [data[s:e] for s, e in split_nals(data) if e - s > 2 and ((data[s] >> 1) & 0x3F) in (39, 40)]
    out = [b"\x00" + data[:4096]]
    out += [b"\x00" + b"\x00\x00\x01" + n for n in sei]
    out += [b"\x02" + struct.pack(">H", len(n)) + n for n in sei[:4]]  # 2-byte length-prefixed
    out += [b"\x03" + struct.pack(">I", len(n)) + n for n in sei[:4]]  # 4-byte length-prefixed (MP4)
    return _dedupe(out)


def _cll_seeds() -> list[bytes]:
    return [struct.pack("<II", 1000, 400), struct.pack(">HH", 1000, 400), b"1000,400", b"0,0", b"65535,65535"]


# ------------------------------------------------------------------------- corpus
@lru_cache(maxsize=None)
def _jpegs() -> tuple[bytes, ...]:
    return tuple(_real("ultrahdr/*.jpg") + _generated_jpegs())


def _still() -> list[bytes]:
    pic = _picture(24, 32, 11)
    return list(_jpegs()) + [_png(pic.astype(np.uint16) * 257, 16), _png(pic, 8), _tiff(pic),
                             _png(pic[..., :1].astype(np.uint16) * 200, 16)]


def _payload(kind: str):
    def f():
        return _jpeg_payloads(list(_jpegs()))[kind]
    return f


def _mpf():
    from hdrkit.still.mpf import build_mpf

    return _payload("mpf")() + [build_mpf([(0x030000, 1000, 0), (0, 500, 900), (0x010001, 10, 1600)], o)[4:]
                                for o in ("big", "little")]


def _iso():
    return _payload("iso21496")() + [
        _iso_record(1, 0.0, 2.0, 1.0, 1 / 64, 1 / 64, 0.0, 2.0),
        _iso_record(3, (0.0, -0.5, 0.1), (3.0, 2.5, 2.0), 0.5, 0.0, 0.0, 0.5, 3.0, base_cs=False),
        # pre-publication compact layout: flags 0x08, common denominator
        struct.pack(">HHB", 0, 0, 0x08) + struct.pack(">III", 64, 0, 128) + struct.pack(">iiIii", 0, 128, 64, 1, 1),
    ]


def _icc():
    return _dedupe(_payload("icc")() + [_srgb_icc()])


def _exif():
    return _dedupe(_payload("exif")() + [sample_exif()[6:], sample_exif()])


def _xmp():
    return _dedupe(_payload("xmp")() + _xmp_seeds() + list(HOSTILE_XMP.values()))


#: corpus name -> builder
CORPORA = {
    "jpeg": lambda: list(_jpegs()),
    "still": _still,
    "mpf": _mpf,
    "xmp": _xmp,
    "iso21496": _iso,
    "icc": _icc,
    "exif": _exif,
    "st2086": _st2086_seeds,
    "mdcv_sei": _mdcv_sei_seeds,
    "hdr10plus_json": _hdr10plus_json_seeds,
    "sidedata": _sidedata_seeds,
    "cll": _cll_seeds,
    "hevc_sei": _hevc_sei_seeds,
    "video": _video_seeds,
}


def build_corpus(name: str) -> list[bytes]:
    """The seed list of corpus ``name`` (never empty: a single empty input at least)."""
    seeds = [s for s in CORPORA[name]() if s is not None]
    return seeds or [b""]
