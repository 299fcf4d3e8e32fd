#!/usr/bin/env python3
"""Synthesise the golden set of ``hdrkit regress``: HDR scenes with known ROIs, written as
real Ultra HDR JPEGs (libultrahdr through ``imagecodecs.ultrahdr_encode``), plus short
HLG / PQ clips (x265, via ``scripts/make_clips.py``).

Every scene is linear Display P3 (D65), 1.0 = SDR white = 203 cd/m^2, built from a
seeded PCG64 generator and resolution-independent geometry (coordinates in units of the
picture height), so a set regenerates byte for byte and the same scene exists at every size.
Beside each ``<case>.jpg`` a ``<case>.roi.png`` (8-bit, one bit per ROI, see
:data:`ROI_BITS`) marks the regions the metrics read:

=========== === ==========================================================================
ROI         bit what
=========== === ==========================================================================
skin          1 face / skin-patch interiors (eyes, mouth, hair, borders excluded)
highlight     2 source max(R, G, B) >= 2 (406 cd/m^2): speculars, lamps, sun, LEDs, bright sky
signage       4 saturated sign / neon / LED colour areas (letters and borders excluded)
ramp          8 a neutral grey ramp (R = G = B) for the EOTF RMSE
refwhite     16 a neutral patch at 1.0 (203 cd/m^2, BT.2408 reference white)
midgrey      32 a neutral patch at 0.18 (18 % grey)
=========== === ==========================================================================

``manifest.json`` lists the cases (name, category, size, file hashes, ROI pixel counts,
peaks) and the real third-party samples the set also runs (``samples/ultrahdr/``, without
ROIs, so only the ROI-free metrics apply to them).

Sets:
- ``ci`` (default): every scene at 512 x 384, two 320 x 180 clips; about 1.5 MB, written to
  ``samples/goldens/ci/`` and committed, so ``hdrkit regress`` needs no encoder extras.
- ``--full``: every scene at 4000 x 3000 and at 1440 x 1080, 1280 x 720 clips, written to
  ``samples/generated/goldens/full/`` (git-ignored, regenerate when needed).

Usage:
    python scripts/make_goldens.py                 # CI set
    python scripts/make_goldens.py --full          # full set (a few minutes)
    python scripts/make_goldens.py --only sun_edge,grey_chart --out /tmp/g
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import sys
import time
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from hdrkit.core.primaries import luminance_weights, rgb_to_rgb_matrix  # noqa: E402
from hdrkit.core.transfer import eotf_srgb  # noqa: E402

GENERATOR_VERSION = 1
ROI_BITS = {"skin": 1, "highlight": 2, "signage": 4, "ramp": 8, "refwhite": 16, "midgrey": 32}
HIGHLIGHT_LEVEL = 2.0
P3_WEIGHTS = luminance_weights("p3")
M709_TO_P3 = rgb_to_rgb_matrix("bt709", "p3")

#: Real third-party gain-map files run with the set (copied byte for byte into samples/ultrahdr/,
#: provenance in samples/PROVENANCE.md). No ROIs: ROI metrics do not apply to them.
REAL_SAMPLES = {
    "real_minnie": ("samples/ultrahdr/libultrahdr_minnie_ultrahdr_sys.jpg", "libultrahdr sample, ISO 21496-1 only"),
    "real_seine": ("samples/ultrahdr/photoshop_seine_sdr_gainmap_srgb.jpg", "Photoshop export, hdrgm XMP (rdf:Seq)"),
    "real_apple": ("samples/ultrahdr/apple_gainmap_new.jpg", "Apple pre-ISO gain map"),
}

#: Skin tones as sRGB-encoded reflectance under D65 (light to deep, pink / neutral / olive /
#: golden undertones). CIELAB hues 35-75 deg, the spread of skin-colour surveys.
SKIN_SRGB = [
    (255, 224, 196), (241, 194, 167), (234, 192, 134), (224, 172, 105), (194, 150, 130), (198, 134, 66),
    (176, 110, 80), (160, 100, 90), (141, 85, 36), (115, 82, 68), (92, 51, 23), (70, 45, 35),
]


# ----------------------------------------------------------------- primitives
@dataclass
class Canvas:
    """Coordinates of a picture in height units: x in [0, w/h], y in [0, 1]; ``px`` = one pixel."""

    h: int
    w: int

    def __post_init__(self):
        self.y, self.x = np.mgrid[0:self.h, 0:self.w].astype(np.float32)
        self.x = (self.x + 0.5) / self.h
        self.y = (self.y + 0.5) / self.h
        self.px = 1.0 / self.h
        self.aspect = self.w / self.h

    def blank(self, rgb=(0.0, 0.0, 0.0)) -> np.ndarray:
        return np.broadcast_to(np.asarray(rgb, np.float32), (self.h, self.w, 3)).copy()

    def mask(self) -> np.ndarray:
        return np.zeros((self.h, self.w), bool)


def srgb(c) -> np.ndarray:
    """sRGB-encoded 0-255 triple -> linear Display P3 (1.0 = SDR white)."""
    return (eotf_srgb(np.asarray(c, np.float64) / 255.0) @ M709_TO_P3.T).astype(np.float32)


def soft_ellipse(cv: Canvas, cx, cy, rx, ry, angle: float = 0.0) -> np.ndarray:
    """Anti-aliased ellipse coverage in [0, 1] (one-pixel soft edge)."""
    ca, sa = math.cos(angle), math.sin(angle)
    dx, dy = cv.x - cx, cv.y - cy
    u = (dx * ca + dy * sa) / rx
    v = (-dx * sa + dy * ca) / ry
    d = (np.sqrt(u * u + v * v) - 1.0) * min(rx, ry)
    return np.clip(0.5 - d / cv.px, 0.0, 1.0)


def soft_rect(cv: Canvas, x0, y0, x1, y1) -> np.ndarray:
    ax = np.clip(np.minimum(cv.x - x0, x1 - cv.x) / cv.px + 0.5, 0, 1)
    ay = np.clip(np.minimum(cv.y - y0, y1 - cv.y) / cv.px + 0.5, 0, 1)
    return ax * ay


def gauss(cv: Canvas, cx, cy, sigma) -> np.ndarray:
    return np.exp(-((cv.x - cx) ** 2 + (cv.y - cy) ** 2) / (2 * sigma * sigma)).astype(np.float32)


def segment_dist(cv: Canvas, x0, y0, x1, y1) -> np.ndarray:
    """Distance (height units) from each pixel to the segment (x0, y0)-(x1, y1)."""
    dx, dy = x1 - x0, y1 - y0
    t = np.clip(((cv.x - x0) * dx + (cv.y - y0) * dy) / (dx * dx + dy * dy + 1e-12), 0, 1)
    return np.hypot(cv.x - (x0 + t * dx), cv.y - (y0 + t * dy))


def value_noise(cv: Canvas, rng: np.random.Generator, cells: tuple[int, ...], gain: float = 0.55) -> np.ndarray:
    """Multi-octave value noise in about [-1, 1]; lattices of ``cells`` per picture height,
    bicubically upsampled, so the pattern is the same at every size."""
    from PIL import Image

    total = np.zeros((cv.h, cv.w), np.float32)
    amp, norm = 1.0, 0.0
    for c in cells:
        gh, gw = c + 3, int(math.ceil(c * cv.aspect)) + 3
        lat = rng.uniform(-1, 1, (gh, gw)).astype(np.float32)
        up = np.asarray(Image.fromarray(lat, "F").resize((int(round(gw / c * cv.h)), int(round(gh / c * cv.h))),
                                                         Image.Resampling.BICUBIC))
        total += amp * up[:cv.h, :cv.w]
        norm += amp
        amp *= gain
    return total / norm


def shade_sphere(cv: Canvas, cx, cy, rx, ry, light=(-0.5, -0.6, 0.62)) -> np.ndarray:
    """Lambert shading of an ellipsoid seen front-on, light direction ``light`` (x, y, z)."""
    u = np.clip((cv.x - cx) / rx, -1, 1)
    v = np.clip((cv.y - cy) / ry, -1, 1)
    z = np.sqrt(np.clip(1 - u * u - v * v, 0, 1))
    ln = np.asarray(light, np.float32) / np.linalg.norm(light)
    return np.clip(-u * ln[0] - v * ln[1] + z * ln[2], 0, 1)


def erode(mask: np.ndarray, r: int) -> np.ndarray:
    """Binary erosion by r steps of the 4-neighbourhood (a diamond of radius r); outside counts as empty."""
    m = mask.copy()
    for _ in range(max(r, 0)):
        p = np.pad(m, 1, constant_values=False)
        m = p[1:-1, 1:-1] & p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return m


def paint(img: np.ndarray, cover: np.ndarray, rgb) -> None:
    """img = img (1 - cover) + rgb cover; ``rgb`` a triple or an (H, W, 3) array."""
    c = cover[..., None]
    img *= 1 - c
    img += c * np.asarray(rgb, np.float32)


def px_r(cv: Canvas, r_units: float) -> int:
    """A length in height units as whole pixels (at least 1)."""
    return max(1, int(round(r_units * cv.h)))


# ---------------------------------------------------------------------- faces
def face(cv: Canvas, img, rois, rng, cx, cy, s, skin_rgb, light_level, light=(-0.5, -0.6, 0.62), tint=(1, 1, 1),
         hair=(30, 20, 15)):
    """A head of height ~2.6 s at (cx, cy): shaded skin ellipse with pores and blush, hair,
    eyes, mouth. Adds the skin interior (eroded, eyes / mouth / hair excluded) to ``rois``."""
    rx, ry = 0.78 * s, 1.0 * s
    cover = soft_ellipse(cv, cx, cy, rx, ry)
    shade = 0.25 + 0.75 * shade_sphere(cv, cx, cy, rx * 1.05, ry * 1.05, light)
    pores = 1 + 0.03 * value_noise(cv, rng, (int(60 / s / 10) + 40, 160))
    blush = 1 + 0.05 * (gauss(cv, cx - 0.45 * rx, cy + 0.15 * ry, 0.2 * s) + gauss(cv, cx + 0.45 * rx, cy + 0.15 * ry, 0.2 * s))
    base = srgb(skin_rgb) * np.asarray(tint, np.float32) * light_level
    skin = base[None, None, :] * (shade * pores)[..., None]
    skin[..., 0] *= blush
    paint(img, cover, skin)
    # hair: the top of the head
    hair_cover = soft_ellipse(cv, cx, cy - 0.35 * ry, rx * 1.08, ry * 0.72) * (cv.y < cy - 0.35 * ry + 0.05 * s)
    hair_tex = 1 + 0.3 * value_noise(cv, rng, (80, 300))
    paint(img, hair_cover, srgb(hair)[None, None, :] * light_level * (shade * hair_tex)[..., None])
    excl = hair_cover > 0.02
    for ex in (-0.35, 0.35):
        e = soft_ellipse(cv, cx + ex * rx, cy - 0.05 * ry, 0.16 * rx, 0.07 * ry)
        paint(img, e, srgb((240, 240, 235)) * light_level * 0.8)
        iris = soft_ellipse(cv, cx + ex * rx, cy - 0.05 * ry, 0.06 * rx, 0.06 * rx)
        paint(img, iris, srgb((60, 40, 30)) * light_level)
        excl |= soft_ellipse(cv, cx + ex * rx, cy - 0.05 * ry, 0.3 * rx, 0.16 * ry) > 0.02
    m = soft_ellipse(cv, cx, cy + 0.5 * ry, 0.3 * rx, 0.07 * ry)
    paint(img, m, srgb((150, 70, 70)) * light_level * 0.9)
    excl |= soft_ellipse(cv, cx, cy + 0.5 * ry, 0.45 * rx, 0.15 * ry) > 0.02
    inner = erode(cover > 0.99, px_r(cv, 0.08 * s)) & ~excl & (shade > 0.35)
    rois["skin"] |= inner


def lamp(cv: Canvas, img, cx, cy, sigma, peak, rgb=(1.0, 0.95, 0.85), glow=0.05, glow_sigma=None):
    """A light source: a Gaussian core of ``peak`` plus a wide glow."""
    col = np.asarray(rgb, np.float32)
    img += (peak * gauss(cv, cx, cy, sigma))[..., None] * col
    if glow:
        img += (peak * glow * gauss(cv, cx, cy, glow_sigma or 12 * sigma))[..., None] * col


def sky(cv: Canvas, top, bottom, horizon: float = 1.0) -> np.ndarray:
    t = np.clip(cv.y / horizon, 0, 1)[..., None]
    return (np.asarray(top, np.float32) * (1 - t) + np.asarray(bottom, np.float32) * t).astype(np.float32)


def neon_tube(cv: Canvas, img, rois, pts, rgb, level, width=0.006, glow=0.25):
    """A neon tube along a polyline: Gaussian cross-section, glow; its core is signage."""
    d = np.full((cv.h, cv.w), np.inf, np.float32)
    for (x0, y0), (x1, y1) in zip(pts[:-1], pts[1:]):
        d = np.minimum(d, segment_dist(cv, x0, y0, x1, y1))
    core = np.exp(-(d / width) ** 2 / 2)
    halo = np.exp(-(d / (6 * width)) ** 2 / 2)
    col = np.asarray(rgb, np.float32)
    img += ((level * core + level * glow * halo)[..., None] * col).astype(np.float32)
    rois["signage"] |= d < 0.7 * width


# --------------------------------------------------------------------- scenes
def sc_portrait_indoor(cv, rng, rois):
    img = sky(cv, (0.30, 0.24, 0.17), (0.16, 0.12, 0.08))  # warm wall, vertical falloff
    img *= (1 + 0.08 * value_noise(cv, rng, (3, 6)))[..., None]
    paint(img, soft_rect(cv, 0.0, 0.78, cv.aspect, 1.0), (0.10, 0.07, 0.05))  # table
    face(cv, img, rois, rng, cv.aspect * 0.42, 0.48, 0.16, SKIN_SRGB[4], 0.85, light=(0.6, -0.5, 0.6), tint=(1.05, 1.0, 0.9))
    lamp(cv, img, cv.aspect * 0.85, 0.2, 0.025, 6.0, (1.0, 0.8, 0.55), glow=0.06)
    return img


def sc_portrait_daylight(cv, rng, rois):
    img = sky(cv, (0.55, 0.75, 1.6), (1.2, 1.3, 1.5), horizon=0.7)
    paint(img, soft_rect(cv, 0, 0.7, cv.aspect, 1), (0.12, 0.2, 0.06))
    img[cv.y > 0.7] *= (1 + 0.3 * value_noise(cv, rng, (40, 120)))[cv.y > 0.7][:, None]
    face(cv, img, rois, rng, cv.aspect * 0.35, 0.5, 0.17, SKIN_SRGB[1], 1.0, light=(-0.4, -0.7, 0.6))
    face(cv, img, rois, rng, cv.aspect * 0.68, 0.55, 0.14, SKIN_SRGB[8], 1.0, light=(-0.4, -0.7, 0.6))
    paint(img, soft_rect(cv, cv.aspect * 0.22, 0.82, cv.aspect * 0.48, 1.0), srgb((40, 80, 160)))
    return img


def sc_portrait_backlit(cv, rng, rois):
    img = sky(cv, (5.0, 4.8, 4.4), (3.0, 2.9, 2.7))  # bright window
    frame = soft_rect(cv, 0, 0, 0.06, 1) + soft_rect(cv, cv.aspect - 0.06, 0, cv.aspect, 1) + soft_rect(cv, 0, 0.85, cv.aspect, 1)
    paint(img, np.clip(frame, 0, 1), (0.04, 0.035, 0.03))
    face(cv, img, rois, rng, cv.aspect * 0.5, 0.52, 0.2, SKIN_SRGB[6], 0.22, light=(0.0, -0.2, 1.0))
    # rim light on the face edge
    rim = np.clip(soft_ellipse(cv, cv.aspect * 0.5, 0.52, 0.165, 0.21) - soft_ellipse(cv, cv.aspect * 0.5, 0.52, 0.15, 0.195), 0, 1)
    img += (rim * 1.5)[..., None] * np.array([1.0, 0.9, 0.8], np.float32)
    return img


def sc_skin_hues(cv, rng, rois):
    img = cv.blank((0.12, 0.12, 0.12))
    cols = 4  # three rows of four
    for k, c in enumerate(SKIN_SRGB):
        i, j = k % cols, k // cols
        x0 = 0.06 + i * (cv.aspect - 0.12) / cols
        y0 = 0.06 + j * 0.3
        w, h = (cv.aspect - 0.12) / cols - 0.04, 0.26
        cover = soft_rect(cv, x0, y0, x0 + w, y0 + h)
        shade = 0.7 + 0.3 * shade_sphere(cv, x0 + w / 2, y0 + h / 2, w * 0.9, h * 0.9)
        tex = 1 + 0.025 * value_noise(cv, rng, (60, 200))
        paint(img, cover, srgb(c)[None, None, :] * (shade * tex)[..., None] * 0.9)
        rois["skin"] |= erode(cover > 0.99, px_r(cv, 0.02))
    return img


def sc_grey_chart(cv, rng, rois):
    img = cv.blank((0.2, 0.2, 0.2))
    levels = [0.005, 0.01, 0.02, 0.05, 0.09, 0.18, 0.36, 0.5, 0.75, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0]
    n = len(levels)
    for k, L in enumerate(levels):
        i, j = k % 8, k // 8
        x0 = 0.05 + i * (cv.aspect - 0.1) / 8
        y0 = 0.08 + j * 0.26
        w = (cv.aspect - 0.1) / 8 - 0.02
        cover = soft_rect(cv, x0, y0, x0 + w, y0 + 0.22)
        paint(img, cover, (L, L, L))
        inner = erode(cover > 0.99, px_r(cv, 0.02))
        if L == 1.0:
            rois["refwhite"] |= inner
        if L == 0.18:
            rois["midgrey"] |= inner
    # grey ramp: log-spaced 1/128 .. 8 along x
    y0, y1 = 0.66, 0.9
    t = np.clip((cv.x - 0.05) / (cv.aspect - 0.1), 0, 1)
    ramp = 2.0 ** (-7 + 10 * t)
    cover = soft_rect(cv, 0.05, y0, cv.aspect - 0.05, y1)
    paint(img, cover, np.repeat(ramp[..., None], 3, axis=-1))
    rois["ramp"] |= erode(cover > 0.99, 2)
    assert n == 16
    return img


def sc_night_street(cv, rng, rois):
    img = sky(cv, (0.004, 0.006, 0.015), (0.03, 0.025, 0.02), horizon=0.6)
    road = cv.y > 0.62
    tex = 1 + 0.4 * value_noise(cv, rng, (30, 90, 250))
    img[road] = (np.array([0.015, 0.014, 0.013], np.float32) * tex[road][:, None])
    for k, x in enumerate(np.linspace(0.15, cv.aspect - 0.15, 4)):
        paint(img, soft_rect(cv, x - 0.004, 0.25, x + 0.004, 0.62), (0.01, 0.01, 0.01))
        col = (1.0, 0.62, 0.25) if k % 2 == 0 else (0.95, 0.97, 1.0)
        lamp(cv, img, x, 0.24, 0.012, 10.0, col, glow=0.03, glow_sigma=0.12)
        # wet-road reflection: a vertical streak below the lamp
        streak = np.exp(-((cv.x - x) / 0.01) ** 2 / 2) * np.clip((cv.y - 0.64) / 0.3, 0, 1) * road
        img += (0.5 * streak * (1 + 0.5 * value_noise(cv, rng, (20, 80))))[..., None] * np.asarray(col, np.float32)
    img = np.clip(img, 0, None)
    return img


def sc_night_neon(cv, rng, rois):
    img = cv.blank((0.01, 0.008, 0.012))
    img *= (1 + 0.5 * value_noise(cv, rng, (20, 60, 200)))[..., None]  # brick-ish wall
    a = cv.aspect
    neon_tube(cv, img, rois, [(0.1 * a, 0.2), (0.1 * a, 0.45), (0.3 * a, 0.45)], (1.0, 0.02, 0.05), 4.0)
    neon_tube(cv, img, rois, [(0.4 * a, 0.2), (0.55 * a, 0.45), (0.7 * a, 0.2)], (0.05, 0.2, 1.0), 5.0)
    neon_tube(cv, img, rois, [(0.78 * a, 0.2), (0.9 * a, 0.2), (0.9 * a, 0.45), (0.78 * a, 0.45), (0.78 * a, 0.2)],
              (0.9, 0.05, 0.9), 3.5)
    neon_tube(cv, img, rois, [(0.15 * a, 0.7), (0.85 * a, 0.7)], (0.05, 1.0, 0.15), 3.0)
    neon_tube(cv, img, rois, [(0.15 * a, 0.82), (0.85 * a, 0.82)], (1.0, 0.45, 0.02), 3.0)
    return img


def sc_signage(cv, rng, rois):
    img = sky(cv, (0.7, 0.8, 1.1), (0.9, 0.9, 0.95), horizon=0.5)
    paint(img, soft_rect(cv, 0, 0.5, cv.aspect, 1), (0.25, 0.24, 0.22))
    colours = [(0.85, 0.04, 0.03), (0.02, 0.55, 0.12), (0.03, 0.12, 0.8), (0.95, 0.6, 0.02), (0.7, 0.03, 0.6), (0.02, 0.6, 0.7)]
    for k, c in enumerate(colours):
        i, j = k % 3, k // 3
        x0 = 0.08 + i * (cv.aspect - 0.16) / 3
        y0 = 0.1 + j * 0.42
        w, h = (cv.aspect - 0.16) / 3 - 0.06, 0.32
        panel = soft_rect(cv, x0, y0, x0 + w, y0 + h)
        level = 1.0 + 0.5 * (k % 2)  # backlit signs are brighter than paper white
        paint(img, panel, np.asarray(c, np.float32) * level)
        letters = np.zeros_like(panel)
        for m in range(4):
            lx = x0 + 0.03 + m * (w - 0.06) / 4
            letters = np.maximum(letters, soft_rect(cv, lx, y0 + 0.1, lx + 0.02, y0 + h - 0.1))
            letters = np.maximum(letters, soft_rect(cv, lx, y0 + 0.1, lx + (w - 0.06) / 4 - 0.02, y0 + 0.13))
        paint(img, letters * panel, (level, level, level))
        rois["signage"] |= erode(panel > 0.99, px_r(cv, 0.015)) & ~_dilate(letters > 0.01, px_r(cv, 0.008))
    return img


def _dilate(mask: np.ndarray, r: int) -> np.ndarray:
    return ~erode(~mask, r)


def sc_low_contrast_indoor(cv, rng, rois):
    img = sky(cv, (0.32, 0.30, 0.27), (0.22, 0.21, 0.2))
    img *= (1 + 0.06 * value_noise(cv, rng, (2, 4)))[..., None]
    paint(img, soft_rect(cv, 0.2, 0.3, 0.6, 0.85), (0.28, 0.27, 0.25))  # sofa, barely darker
    paint(img, soft_rect(cv, 0.8, 0.2, 1.2, 0.6), (0.35, 0.33, 0.31))  # picture frame
    img *= (1 + 0.01 * value_noise(cv, rng, (100, 300)))[..., None]
    return img


def sc_texture_leather(cv, rng, rois):
    n1 = value_noise(cv, rng, (30, 60, 120, 240))
    creases = np.abs(value_noise(cv, rng, (12, 24)))
    tex = 0.6 + 0.25 * n1 - 0.35 * np.exp(-creases / 0.03)
    base = srgb((120, 70, 40))
    img = (base[None, None, :] * np.clip(tex, 0.05, None)[..., None]).astype(np.float32)
    sheen = gauss(cv, 0.7 * cv.aspect, 0.3, 0.12) * np.clip(n1 + 0.5, 0, None)
    img += (1.2 * sheen)[..., None] * np.array([1.0, 0.95, 0.9], np.float32)
    return img


def sc_texture_fabric(cv, rng, rois):
    f = 40.0  # threads per picture height
    wx = 0.5 + 0.5 * np.sin(2 * np.pi * f * cv.x)
    wy = 0.5 + 0.5 * np.sin(2 * np.pi * f * cv.y)
    over = (np.floor(f * cv.x) + np.floor(f * cv.y)) % 2
    weave = np.where(over > 0, wx, wy) * 0.6 + 0.4
    slub = 1 + 0.15 * value_noise(cv, rng, (8, 40, 160))
    light = 0.6 + 0.6 * shade_sphere(cv, 0.3 * cv.aspect, 0.3, 1.5, 1.5)
    img = srgb((60, 90, 150))[None, None, :] * (weave * slub * light)[..., None]
    stripe = (np.sin(2 * np.pi * 6 * cv.x) > 0.7)
    img[stripe] = (srgb((200, 60, 40))[None, :] * (weave * slub * light)[stripe][:, None])
    return img.astype(np.float32)


def sc_sun_edge(cv, rng, rois):
    img = sky(cv, (0.5, 0.8, 2.0), (2.5, 2.2, 1.6), horizon=0.75)
    cx, cy = 0.7 * cv.aspect, 0.3
    d = np.hypot(cv.x - cx, cv.y - cy)
    disc = np.clip(0.5 - (d - 0.05) / cv.px, 0, 1)
    img += (10.0 * np.exp(-d / 0.08) + 2.0 * np.exp(-d / 0.3))[..., None] * np.array([1.0, 0.9, 0.7], np.float32)
    paint(img, disc, (16.0, 15.5, 14.0))
    hills = 0.75 + 0.05 * value_noise(cv, rng, (3, 8))
    ground = cv.y > hills
    img[ground] = np.array([0.04, 0.05, 0.02], np.float32) * (1 + 0.5 * value_noise(cv, rng, (60, 200))[ground])[:, None]
    return img


def sc_specular_metal(cv, rng, rois):
    img = cv.blank((0.02, 0.02, 0.025))
    cx, r = 0.5 * cv.aspect, 0.35
    u = (cv.x - cx) / r
    body = np.clip((1 - np.abs(u)) / (cv.px / r) * 0.5, 0, 1) * soft_rect(cv, 0, 0.1, cv.aspect, 0.9)
    n = np.sqrt(np.clip(1 - u * u, 0, 1))
    brushed = 1 + 0.05 * value_noise(cv, rng, (200,))
    metal = (0.25 + 0.35 * n) * brushed
    spec = 12.0 * np.exp(-((u + 0.35) / 0.04) ** 2) + 5.0 * np.exp(-((u - 0.5) / 0.02) ** 2)
    col = (metal + spec)[..., None] * np.array([0.95, 0.93, 0.9], np.float32)
    paint(img, body, col)
    return img


def sc_saturated_leds(cv, rng, rois):
    img = cv.blank((0.003, 0.003, 0.004))
    cols = [(1, 0, 0), (0, 1, 0), (0, 0, 1), (1, 0, 1), (0, 1, 1), (1, 0.5, 0), (1, 1, 0), (0.4, 0, 1)]
    nx, ny = 8, 5
    for j in range(ny):
        for i in range(nx):
            c = np.asarray(cols[(i + j) % len(cols)], np.float32)
            x = (i + 0.5) * cv.aspect / nx
            y = (j + 0.5) / ny
            level = [0.6, 1.5, 3.0, 6.0, 8.0][j]
            core = soft_ellipse(cv, x, y, 0.035, 0.035)
            glow = gauss(cv, x, y, 0.05)
            img += (core * level + glow * 0.08 * level)[..., None] * c
            rois["signage"] |= erode(core > 0.99, px_r(cv, 0.008))
    return img


def sc_noisy_shadows(cv, rng, rois):
    img = sky(cv, (0.02, 0.018, 0.016), (0.006, 0.005, 0.005))
    paint(img, soft_rect(cv, 0.3, 0.4, 0.9, 0.95), (0.01, 0.008, 0.006))  # furniture in the dark
    lamp(cv, img, 1.1, 0.3, 0.03, 3.0, (1.0, 0.75, 0.45), glow=0.08, glow_sigma=0.25)
    # sensor noise in linear light: shot noise ~ sqrt(signal) plus read noise
    sig = np.clip(img, 0, None)
    noise = rng.standard_normal(img.shape).astype(np.float32) * (np.sqrt(sig * 0.0004) + 0.002)
    return np.clip(img + noise, 0, None)


def sc_sky_gradient(cv, rng, rois):
    img = sky(cv, (0.35, 0.55, 1.3), (1.1, 1.15, 1.25), horizon=0.85)
    clouds = np.clip(value_noise(cv, rng, (3, 6, 12)) - 0.1, 0, None)
    img += (clouds * 1.2)[..., None] * np.array([1.0, 1.0, 1.0], np.float32)
    paint(img, soft_rect(cv, 0, 0.85, cv.aspect, 1), (0.05, 0.06, 0.04))
    return img


def sc_night_haze(cv, rng, rois):
    img = sky(cv, (0.02, 0.022, 0.03), (0.06, 0.055, 0.05))
    for x, y in ((0.3, 0.35), (0.9, 0.3), (1.2, 0.45)):
        lamp(cv, img, x, y, 0.01, 8.0, (1.0, 0.7, 0.35), glow=0.02, glow_sigma=0.2)
    fog = 1 + 0.1 * value_noise(cv, rng, (2, 4))
    return img * fog[..., None]


def sc_window_interior(cv, rng, rois):
    img = sky(cv, (0.15, 0.13, 0.11), (0.08, 0.07, 0.06))
    win = soft_rect(cv, 0.15, 0.15, 0.75, 0.7)
    outside = sky(cv, (3.0, 3.5, 5.0), (4.0, 4.0, 3.6), horizon=0.7)
    paint(img, win, outside)
    bars = soft_rect(cv, 0.44, 0.15, 0.46, 0.7) + soft_rect(cv, 0.15, 0.42, 0.75, 0.44)
    paint(img, np.clip(bars, 0, 1), (0.05, 0.045, 0.04))
    face(cv, img, rois, rng, 1.0, 0.55, 0.13, SKIN_SRGB[3], 0.45, light=(-0.8, -0.3, 0.5))
    return img


def sc_snow_daylight(cv, rng, rois):
    img = sky(cv, (0.9, 1.1, 1.8), (1.6, 1.65, 1.7), horizon=0.45)
    snow = cv.y > 0.45 + 0.04 * value_noise(cv, rng, (4,))
    tex = 1 + 0.06 * value_noise(cv, rng, (40, 150))
    img[snow] = (np.array([1.45, 1.5, 1.6], np.float32) * (tex[snow] * (0.75 + 0.3 * cv.y[snow]))[:, None])
    paint(img, soft_rect(cv, 0.6, 0.5, 0.7, 0.7), (0.08, 0.06, 0.05))  # a post
    sparkle = (rng.random((cv.h, cv.w)) > 0.9993) & snow
    img[sparkle] = 9.0
    return img


def sc_colour_checker(cv, rng, rois):
    """24-patch chart with the ColorChecker's sRGB values (skin patches flagged), under 1.0 light."""
    patches = [(115, 82, 68), (194, 150, 130), (98, 122, 157), (87, 108, 67), (133, 128, 177), (103, 189, 170),
               (214, 126, 44), (80, 91, 166), (193, 90, 99), (94, 60, 108), (157, 188, 64), (224, 163, 46),
               (56, 61, 150), (70, 148, 73), (175, 54, 60), (231, 199, 31), (187, 86, 149), (8, 133, 161),
               (243, 243, 242), (200, 200, 200), (160, 160, 160), (122, 122, 121), (85, 85, 85), (52, 52, 52)]
    img = cv.blank((0.05, 0.05, 0.05))
    for k, c in enumerate(patches):
        i, j = k % 6, k // 6
        x0 = 0.05 + i * (cv.aspect - 0.1) / 6
        y0 = 0.05 + j * 0.23
        cover = soft_rect(cv, x0, y0, x0 + (cv.aspect - 0.1) / 6 - 0.03, y0 + 0.2)
        paint(img, cover, srgb(c))
        if k in (0, 1):
            rois["skin"] |= erode(cover > 0.99, px_r(cv, 0.02))
        if k in (14, 13, 12, 15):  # red, green, blue, yellow: the saturated patches
            rois["signage"] |= erode(cover > 0.99, px_r(cv, 0.02))
    return img


def sc_portrait_golden_hour(cv, rng, rois):
    img = sky(cv, (1.8, 1.2, 0.6), (3.5, 2.0, 0.8), horizon=0.8)
    lamp(cv, img, 0.15 * cv.aspect, 0.7, 0.04, 12.0, (1.0, 0.75, 0.4), glow=0.1, glow_sigma=0.3)
    face(cv, img, rois, rng, 0.6 * cv.aspect, 0.5, 0.18, SKIN_SRGB[2], 0.7, light=(-0.9, 0.1, 0.4),
         tint=(1.1, 0.95, 0.75))
    return img


SCENES: dict[str, tuple[str, Callable, str]] = {
    "portrait_indoor": ("portrait", sc_portrait_indoor, "warm indoor light, lamp in frame"),
    "portrait_daylight": ("portrait", sc_portrait_daylight, "two faces (light and dark skin) under a bright sky"),
    "portrait_backlit": ("portrait", sc_portrait_backlit, "face in shade against a window at 5x"),
    "portrait_golden_hour": ("portrait", sc_portrait_golden_hour, "warm low sun beside a face"),
    "skin_hues": ("portrait", sc_skin_hues, "12 skin tones, light to deep, pink to golden undertones"),
    "window_interior": ("portrait", sc_window_interior, "dim room, bright window, face in side light"),
    "night_street": ("night", sc_night_street, "street lamps (sodium and LED) and wet-road reflections"),
    "night_neon": ("night", sc_night_neon, "saturated neon tubes on a dark wall"),
    "night_haze": ("night", sc_night_haze, "lamps in fog: smooth dark gradients"),
    "signage": ("signage", sc_signage, "saturated backlit signs with white letters"),
    "colour_checker": ("signage", sc_colour_checker, "24-patch chart at SDR white"),
    "low_contrast_indoor": ("indoor", sc_low_contrast_indoor, "flat low-contrast room"),
    "grey_chart": ("chart", sc_grey_chart, "16 grey patches 0.005-8 and a log grey ramp"),
    "texture_leather": ("texture", sc_texture_leather, "leather grain with creases and a sheen"),
    "texture_fabric": ("texture", sc_texture_fabric, "woven fabric, fine periodic detail"),
    "sun_edge": ("highlight", sc_sun_edge, "sun disc at 16x with glow over hills"),
    "specular_metal": ("highlight", sc_specular_metal, "brushed metal cylinder with 12x specular streaks"),
    "saturated_leds": ("highlight", sc_saturated_leds, "LED grid, primaries and secondaries at 0.6-8x"),
    "noisy_shadows": ("noise", sc_noisy_shadows, "dark room with shot and read noise"),
    "sky_gradient": ("gradient", sc_sky_gradient, "large smooth sky with soft clouds"),
    "snow_daylight": ("highlight", sc_snow_daylight, "bright snow field with sparkles"),
}

#: Gain-map downscale factor per scene (most use a full-size map; a few use 1/4 as phones do).
MAP_SCALE = {"night_street": 4, "sky_gradient": 4, "portrait_daylight": 4, "snow_daylight": 4}


def case_seed(name: str) -> int:
    return zlib.crc32(name.encode()) & 0x7FFFFFFF


def render_scene(name: str, h: int, w: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The scene ``name`` at (h, w): linear Display P3 float32 and its ROI masks."""
    _, fn, _ = SCENES[name]
    cv = Canvas(h, w)
    rng = np.random.default_rng(case_seed(name))
    rois = {k: cv.mask() for k in ROI_BITS}
    img = np.clip(np.nan_to_num(fn(cv, rng, rois)), 0, 10000 / 203).astype(np.float32)
    rois["highlight"] |= img.max(axis=-1) >= HIGHLIGHT_LEVEL
    return img, rois


def encode_ultrahdr(img: np.ndarray, scale: int = 1, quality: int = 95) -> bytes:
    """libultrahdr (imagecodecs) from linear Display P3 half floats (1.0 = SDR white)."""
    import imagecodecs

    h, w = img.shape[:2]
    rgba = np.concatenate([img, np.ones((h, w, 1), np.float32)], axis=-1).astype(np.float16)
    return imagecodecs.ultrahdr_encode(rgba, level=quality, scale=scale, gamut=imagecodecs.ULTRAHDR.CG.DISPLAY_P3,
                                       transfer=imagecodecs.ULTRAHDR.CT.LINEAR)


def roi_png(rois: dict[str, np.ndarray]) -> bytes:
    import io

    from PIL import Image

    bits = np.zeros(next(iter(rois.values())).shape, np.uint8)
    for k, m in rois.items():
        bits |= np.where(m, ROI_BITS[k], 0).astype(np.uint8)
    buf = io.BytesIO()
    Image.fromarray(bits, "L").save(buf, "PNG", optimize=True)
    return buf.getvalue()


def sha256(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()


def write_set(out: Path, sizes: list[tuple[int, int]], clip_size: tuple[int, int] | None, clip_frames: int,
              only: set[str] | None = None, set_name: str = "ci") -> dict:
    out.mkdir(parents=True, exist_ok=True)
    cases = []
    for name, (cat, _, desc) in SCENES.items():
        if only and name not in only:
            continue
        for (w, h) in sizes:
            t0 = time.perf_counter()
            img, rois = render_scene(name, h, w)
            cname = name if len(sizes) == 1 else f"{name}_{w}x{h}"
            jpg = encode_ultrahdr(img, MAP_SCALE.get(name, 1))
            png = roi_png(rois)
            (out / f"{cname}.jpg").write_bytes(jpg)
            (out / f"{cname}.roi.png").write_bytes(png)
            Y = img @ P3_WEIGHTS
            cases.append({
                "name": cname, "kind": "still", "scene": name, "category": cat, "description": desc,
                "file": f"{cname}.jpg", "roi": f"{cname}.roi.png", "width": w, "height": h,
                "primaries": "p3", "map_scale": MAP_SCALE.get(name, 1),
                "scene_peak": round(float(img.max()), 4), "scene_mean_y": round(float(Y.mean()), 5),
                "roi_pixels": {k: int(m.sum()) for k, m in rois.items() if m.any()},
                "sha256": sha256(jpg), "roi_sha256": sha256(png),
            })
            print(f"{cname:32s} {w}x{h}  {len(jpg) / 1024:7.1f} KB  peak {img.max():6.2f}  "
                  f"{time.perf_counter() - t0:5.2f} s", flush=True)
    if clip_size and not only:
        sys.path.insert(0, str(ROOT / "scripts"))
        from make_clips import make_clip

        for transfer in ("pq", "hlg"):
            name = f"clip_{transfer}"
            p = make_clip(out / f"{name}.mp4", transfer=transfer, width=clip_size[0], height=clip_size[1],
                          frames=clip_frames, preset="fast", crf=22, seed=11)
            b = p.read_bytes()
            cases.append({"name": name, "kind": "clip", "scene": "make_clips day/night/fade",
                          "category": "video", "description": f"{transfer.upper()} clip: day, cut to night, fade",
                          "file": p.name, "width": clip_size[0], "height": clip_size[1], "frames": clip_frames,
                          "transfer": transfer, "sha256": sha256(b)})
            print(f"{name:32s} {clip_size[0]}x{clip_size[1]}  {len(b) / 1024:7.1f} KB", flush=True)
    manifest = {
        "set": set_name,
        "generator": "scripts/make_goldens.py",
        "generator_version": GENERATOR_VERSION,
        "units": "linear Display P3, 1.0 = SDR white = 203 cd/m^2",
        "roi_bits": ROI_BITS,
        "cases": cases,
        "real_samples": [{"name": k, "file": v[0], "description": v[1], "kind": "still"} for k, v in REAL_SAMPLES.items()],
    }
    (out / "manifest.json").write_text(json.dumps(manifest, indent=1) + "\n")
    return manifest


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--full", action="store_true", help="4000x3000 and 1440x1080 variants (samples/generated/)")
    ap.add_argument("--out", type=Path, default=None, help="output folder")
    ap.add_argument("--only", default=None, help="comma-separated scene names (no clips)")
    ap.add_argument("--size", default=None, help="WxH for every scene (overrides the set's sizes)")
    args = ap.parse_args(argv)
    only = set(args.only.split(",")) if args.only else None
    if only and only - set(SCENES):
        ap.error(f"unknown scenes: {', '.join(sorted(only - set(SCENES)))}")
    if args.full:
        out = args.out or ROOT / "samples" / "generated" / "goldens" / "full"
        sizes, clip, frames, set_name = [(4000, 3000), (1440, 1080)], (1280, 720), 48, "full"
    else:
        out = args.out or ROOT / "samples" / "goldens" / "ci"
        sizes, clip, frames, set_name = [(512, 384)], (320, 180), 24, "ci"
    if args.size:
        w, h = (int(v) for v in args.size.lower().split("x"))
        sizes = [(w, h)]
    t0 = time.perf_counter()
    m = write_set(out, sizes, clip, frames, only, set_name)
    total = sum((out / c["file"]).stat().st_size + ((out / c["roi"]).stat().st_size if "roi" in c else 0)
                for c in m["cases"])
    print(f"{len(m['cases'])} cases, {total / 1e6:.2f} MB in {out} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
