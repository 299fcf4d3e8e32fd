"""Synthetic PQ test clips made with numpy and the core transfer functions (no files by hand).

:func:`pq_scene` builds linear BT.2020 light in cd/m^2 for frame ``i``: a letterbox (black
bars top and bottom), a neutral grey ramp 5-200 cd/m^2, a neutral box moving right and
brightening from 400 to 1000 cd/m^2, and a pure-red patch at 1200 cd/m^2 (R only) inside a
black margin (so chroma upsampling cannot overshoot next to it). :func:`pq_yuv420p10`
turns it into limited-range 10-bit BT.2020 NCL Y'CbCr 4:2:0 planes (PQ inverse EOTF,
2x2 box-averaged chroma). :func:`write_lossless` stores frames as FFV1 in Matroska with
the colour tags, through the project's FFmpeg.
"""

from __future__ import annotations

import av
import colour
import numpy as np

from hdrkit.core.transfer import eotf_inverse_st2084
from hdrkit.core.ycbcr import rgb_to_ycbcr
from hdrkit.io.ffmpeg import run_ffmpeg

BAR = 16  # letterbox rows at top and bottom


def pq_scene(i: int, n: int, w: int = 256, h: int = 144) -> np.ndarray:
    rgb = np.zeros((h, w, 3))
    ramp = np.linspace(5.0, 200.0, w)
    rgb[BAR:h - BAR] = ramp[None, :, None]
    pk = 400.0 + 600.0 * i / max(n - 1, 1)
    x0 = 32 + 8 * i
    rgb[40:72, x0:x0 + 32] = pk
    rgb[84:116, 184:224] = 0.0  # black margin around the red patch
    rgb[92:108, 196:212] = [1200.0, 0.0, 0.0]
    return rgb


def pq_yuv420p10(rgb_nits: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    e = eotf_inverse_st2084(np.clip(rgb_nits, 0, 10000))
    ycc = rgb_to_ycbcr(e, "bt2020", 10, False)
    h, w = rgb_nits.shape[:2]
    y = np.clip(np.round(ycc[..., 0]), 64, 940).astype("<u2")
    c = ycc[..., 1:].reshape(h // 2, 2, w // 2, 2, 2).mean(axis=(1, 3))
    c = np.clip(np.round(c), 64, 960).astype("<u2")
    return y, np.ascontiguousarray(c[..., 0]), np.ascontiguousarray(c[..., 1])


def raw_clip(n: int = 12, w: int = 256, h: int = 144) -> tuple[bytes, list[np.ndarray]]:
    """(yuv420p10le bytes of n frames, list of the linear scenes)."""
    parts, scenes = [], []
    for i in range(n):
        s = pq_scene(i, n, w, h)
        scenes.append(s)
        y, u, v = pq_yuv420p10(s)
        parts += [y.tobytes(), u.tobytes(), v.tobytes()]
    return b"".join(parts), scenes


COLOUR_IN = ["-color_primaries", "bt2020", "-color_trc", "smpte2084", "-colorspace", "bt2020nc",
             "-color_range", "tv"]


def write_lossless(path, raw: bytes, w: int = 256, h: int = 144, fps: int = 24, audio: bool = True) -> None:
    """FFV1 (lossless) Matroska with PQ tags, plus a short sine AAC track when ``audio``."""
    args = ["-y", "-f", "rawvideo", "-pix_fmt", "yuv420p10le", "-s", f"{w}x{h}", "-r", str(fps), *COLOUR_IN,
            "-i", "pipe:0"]
    if audio:
        args += ["-f", "lavfi", "-i", "sine=frequency=440:duration=1"]
    args += ["-map", "0:v"] + (["-map", "1:a", "-c:a", "aac", "-shortest"] if audio else [])
    args += ["-c:v", "ffv1", "-level", "3", *COLOUR_IN, str(path)]
    run_ffmpeg(args, input=raw)


def upsample_left_sited(c):
    """4:2:0 -> 4:4:4, bilinear at H.273 chroma location 0: horizontally co-sited with even
    luma columns, vertically half-way between luma rows; edges repeated."""
    p = np.pad(c, 1, mode="edge")
    rows = np.empty((2 * c.shape[0], c.shape[1] + 2))
    rows[0::2] = 0.75 * p[1:-1] + 0.25 * p[:-2]
    rows[1::2] = 0.75 * p[1:-1] + 0.25 * p[2:]
    out = np.empty((rows.shape[0], 2 * c.shape[1]))
    out[:, 0::2] = rows[:, 1:-1]
    out[:, 1::2] = 0.5 * (rows[:, 1:-1] + rows[:, 2:])
    return out


def upsample_own_site(c):
    """4:2:0 -> 4:4:4, each luma sample taking the chroma of its own 2x2 site (hdrkit's light-level rule)."""
    return np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)


def exact_light_levels(path, active_rows, upsample=upsample_own_site):
    """Per-frame (max, mean) of maxRGB in cd/m^2, written out from the reference formulas:
    10-bit limited range, BT.2020 NCL (R = y + 1.4746 cr, B = y + 1.8814 cb,
    G = (y - 0.2627 R - 0.0593 B) / 0.6780), chroma by ``upsample`` (default: each pixel's
    own site), PQ EOTF from colour-science, float64 throughout, full sort-free max / mean."""
    out = []
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            planes = [np.frombuffer(p, np.uint16).reshape(p.height, p.line_size // 2)[:, :p.width].astype(np.float64)
                      for p in f.planes[:3]]
            y = (planes[0] - 64) / 876
            cb = upsample((planes[1] - 512) / 896)
            cr = upsample((planes[2] - 512) / 896)
            r = y + 1.4746 * cr
            b = y + 1.8814 * cb
            g = (y - 0.2627 * r - 0.0593 * b) / 0.6780
            rgb = np.clip(np.stack([r, g, b], -1), 0, 1)
            nits = colour.models.eotf_ST2084(rgb)
            m = nits[active_rows[0]:active_rows[1]].max(axis=-1)
            out.append((float(m.max()), float(m.mean())))
    return out
