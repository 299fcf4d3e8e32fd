#!/usr/bin/env python3
"""Write small synthetic HDR test clips (HEVC Main10, PQ or HLG, BT.2020, tagged) with x265.

The scene is a reduced form of the usual HDR tone-mapping test frame. Linear BT.2020 display
light in cd/m^2, clipped to 0-1000:

* day (first half): sky gradient with value noise and a slow pan, textured ground, a sun
  with glow; strips at the top: PQ-uniform grey ramp 0-1000 cd/m^2, linear 0-10 cd/m^2 ramp,
  full-saturation BT.2020 hue ramp (max channel 400); patch rows: BT.2020 primaries and
  secondaries at 100 cd/m^2, Display P3 primaries at 300, BT.709 primaries at 203, neutrals
  0.1 / 2 / 26 / 100 / 203 / 1000; four skin tones (sRGB values, sRGB white = 203); a
  rotating hue/chroma wheel at 250; four speculars crossing the frame; 3 % grain;
* a hard cut to night at ``frames // 2``: dark sky, five lamps, BT.2020 neon bars, two
  moving 1000 cd/m^2 headlights, textured wall, 0-5 cd/m^2 ramp at the bottom, 4 % grain;
* a fade over the last quarter to 10 %.

Signal: PQ inverse EOTF, or HLG inverse OOTF (1000 cd/m^2, gamma 1.2) + OETF; optional
luma grain in the signal domain; BT.2020 NCL Y'CbCr (hdrkit.core.ycbcr); 4:2:0 left-sited
(2-row mean, [1, 2, 1]/4 at even columns); 10-bit limited range; piped to libx265 of the
imageio-ffmpeg binary with the colour tags on both sides. PQ clips carry HDR10 static
metadata (P3-D65 1000 / 0.005 cd/m^2 mastering display, MaxCLL 1000, MaxFALL 400) both
in-band (x265 SEIs) and in the container (MP4 ``mdcv`` / ``clli``, from FFmpeg's
``-mastering_display`` / ``-content_light`` input options).

Variants: ``--untagged`` (no colour tags; with a ``.nut`` name the video is FFV1 in NUT, which
does not even carry the range, as x265 always does), ``--sdr`` (BT.709 / BT.1886 8-bit H.264,
the SDR pass-through case), ``--audio`` (a 440 Hz AAC track), ``--rotate DEG`` (display
matrix), ``--audio-tail S`` (the audio lasts S seconds longer than the video), ``--cut S``
(a stream-copied cut from S seconds, ``ffmpeg -ss S -i clip -c copy``: in MP4 / MOV the
packets before the cut stay in the file for reference and an edit list tells the player to
drop them, as phone captures do). Patch geometry is exported by :func:`patch_layout` for tests.

Usage:
    python scripts/make_clips.py                      # pq + hlg, 640x360, 48 frames -> samples/generated/
    python scripts/make_clips.py --hd                 # 1920x1080 variants for benchmarks
    python scripts/make_clips.py --uhd                # 3840x2160 variants for benchmarks
    python scripts/make_clips.py --transfer pq --size 320x180 --frames 24 --out /tmp/x --name clip
    python scripts/make_clips.py --test-set --out /tmp/clips   # what tests/video/conftest.py makes
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from hdrkit.core.primaries import rgb_to_rgb_matrix
from hdrkit.core.transfer import (eotf_inverse_bt1886, eotf_inverse_st2084, eotf_srgb, oetf_hlg,
                                  ootf_inverse_hlg)
from hdrkit.core.ycbcr import rgb_to_ycbcr
from hdrkit.io.ffmpeg import ffmpeg_exe

ROOT = Path(__file__).resolve().parents[1]

#: HDR10 static metadata written for PQ clips (P3-D65 mastering 1000 / 0.005 cd/m^2).
MASTER_DISPLAY = "G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,50)"
MAX_CLL = "1000,400"

NEUTRALS = (0.1, 2.0, 26.0, 100.0, 203.0, 1000.0)
SKIN_SRGB = ((194, 150, 130), (141, 85, 36), (255, 219, 172), (224, 172, 105))


def patch_layout(width: int, height: int) -> dict[str, list[tuple[int, int, int, int, tuple[float, float, float]]]]:
    """Patches of the day scene: name -> [(x0, y0, x1, y1, linear BT.2020 RGB in cd/m^2)].

    Rows: ``bt2020`` (R, G, B, C, M, Y at 100 cd/m^2 per lit channel), ``p3`` (Display P3 R, G, B
    at 300), ``bt709`` (BT.709 R, G, B at 203), ``neutral`` (0.1, 2, 26, 100, 203, 1000), and
    ``skin`` (four sRGB skin tones, sRGB white = 203 cd/m^2).
    """
    pw, ph = int(round(0.065 * width)), int(round(0.09 * height))
    out: dict[str, list] = {}

    def box(c, r):
        x0 = int(round((0.03 + 0.075 * c) * width))
        y0 = int(round((0.18 + 0.105 * r) * height))
        return x0, y0, x0 + pw, y0 + ph

    eye = np.eye(3)
    sec = [eye[0], eye[1], eye[2], eye[1] + eye[2], eye[0] + eye[2], eye[0] + eye[1]]
    out["bt2020"] = [(*box(c, 0), tuple(100.0 * v)) for c, v in enumerate(sec)]
    m_p3 = rgb_to_rgb_matrix("p3", "bt2020")
    out["p3"] = [(*box(c, 1), tuple(300.0 * (m_p3 @ eye[c]))) for c in range(3)]
    m_709 = rgb_to_rgb_matrix("bt709", "bt2020")
    out["bt709"] = [(*box(c, 2), tuple(203.0 * (m_709 @ eye[c]))) for c in range(3)]
    out["neutral"] = [(*box(c, 3), (n, n, n)) for c, n in enumerate(NEUTRALS)]
    skin = []
    y0, y1 = int(round(0.61 * height)), int(round(0.70 * height))
    for k, s in enumerate(SKIN_SRGB):
        lin = 203.0 * (m_709 @ eotf_srgb(np.array(s) / 255.0))
        x0 = int(round((0.03 + 0.075 * k) * width))
        skin.append((x0, y0, x0 + pw, y1, tuple(lin)))
    out["skin"] = skin
    return out


def _value_noise(h: int, w: int, rng: np.random.Generator, scale: float, octaves=(256, 128, 64, 32, 16, 8, 4, 2),
                 gain: float = 0.6) -> np.ndarray:
    """Multi-octave value noise in about [-1, 1]: random lattices bilinearly upsampled."""
    total = np.zeros((h, w))
    amp, norm = 1.0, 0.0
    yy = np.arange(h)
    xx = np.arange(w)
    for cell in octaves:
        c = max(cell * scale, 2.0)
        gh, gw = int(h / c) + 2, int(w / c) + 2
        lat = rng.uniform(-1, 1, (gh, gw))
        fy, fx = yy / c, xx / c
        iy, ix = fy.astype(int), fx.astype(int)
        ty, tx = (fy - iy)[:, None], (fx - ix)[None, :]
        ty, tx = ty * ty * (3 - 2 * ty), tx * tx * (3 - 2 * tx)
        a = lat[iy][:, ix]
        b = lat[iy][:, ix + 1]
        cc = lat[iy + 1][:, ix]
        d = lat[iy + 1][:, ix + 1]
        total += amp * ((a * (1 - tx) + b * tx) * (1 - ty) + (cc * (1 - tx) + d * tx) * ty)
        norm += amp
        amp *= gain
    return total / norm


def _gauss(X, Y, cx, cy, sigma):
    return np.exp(-((X - cx) ** 2 + (Y - cy) ** 2) / (2 * sigma * sigma))


def _hue_rgb(h):
    """Full-saturation hue (0-1) -> RGB with max channel 1 (HSV, V = S = 1)."""
    h = np.asarray(h) * 6.0
    r = np.clip(np.abs(h - 3) - 1, 0, 1)
    g = np.clip(2 - np.abs(h - 2), 0, 1)
    b = np.clip(2 - np.abs(h - 4), 0, 1)
    return np.stack([r, g, b], axis=-1)


class Scene:
    """Synthetic scene generator; :meth:`frame` gives linear BT.2020 cd/m^2 (H, W, 3) float32."""

    def __init__(self, width: int, height: int, frames: int, seed: int = 7, grain: bool = True):
        self.W, self.H, self.N = width, height, frames
        self.cut = frames // 2
        self.fade_start = frames - max(frames // 4, 1)
        self.s = width / 1920.0
        self.grain = grain
        rng = np.random.default_rng(seed)
        pad = int(0.1 * width) + 8
        self.pad = pad
        self.sky_noise = _value_noise(height, width + pad, rng, self.s)
        self.ground_noise = _value_noise(height, width, rng, self.s)
        self.wall_noise = _value_noise(height, width, rng, self.s)
        self.rng = np.random.default_rng(seed + 1)
        Y, X = np.mgrid[0:height, 0:width].astype(np.float64)
        self.X, self.Y = X, Y
        self.yn, self.xn = Y / height, X / width
        self.patches = patch_layout(width, height)

    def _add_spot(self, img, cx, cy, sigma, col, replace=False, amp=1.0):
        """Add (or blend over, ``replace``) a Gaussian spot, evaluated in a +-4 sigma window."""
        H, W = img.shape[:2]
        r = 4 * sigma
        x0, x1 = max(int(cx - r), 0), min(int(cx + r) + 1, W)
        y0, y1 = max(int(cy - r), 0), min(int(cy + r) + 1, H)
        if x0 >= x1 or y0 >= y1:
            return
        g = amp * _gauss(self.X[y0:y1, x0:x1], self.Y[y0:y1, x0:x1], cx, cy, sigma)[..., None]
        win = img[y0:y1, x0:x1]
        if replace:
            img[y0:y1, x0:x1] = win * (1 - g) + g * np.asarray(col)
        else:
            img[y0:y1, x0:x1] = win + g * np.asarray(col)

    def _day_static(self):
        W, H, s = self.W, self.H, self.s
        sun = np.array([1000.0, 950.0, 850.0])
        add = np.zeros((H, W, 3))
        self._add_spot(add, 0.88 * W, 0.26 * H, 14 * s, sun)
        self._add_spot(add, 0.88 * W, 0.26 * H, 140 * s, sun, amp=0.04)
        ground = np.array([8.0, 22.0, 6.0]) * np.exp(1.2 * self.ground_noise)[..., None]
        return add, ground

    def _night_static(self):
        W, H, s = self.W, self.H, self.s
        k = np.clip(self.yn / 0.7, 0, 1)[..., None]
        img = (1 - k) * np.array([0.3, 0.5, 1.5]) + k * np.array([2.0, 1.6, 1.2])
        wall = np.array([1.0, 1.0, 1.1]) * np.exp(1.5 * self.wall_noise)[..., None]
        img = np.where((self.yn > 0.7)[..., None], wall, img)
        lamp = np.array([1000.0, 800.0, 500.0])
        for i in range(5):
            cx = (0.1 + 0.2 * i) * W
            self._add_spot(img, cx, 0.25 * H, 8 * s, lamp)
            self._add_spot(img, cx, 0.25 * H, 90 * s, lamp, amp=0.02)
        y0, y1 = int(round(0.45 * H)), int(round(0.49 * H))
        neon = ((600, 0, 0), (0, 450, 0), (0, 0, 300), (400, 0, 400), (0, 350, 350), (500, 120, 0))
        for i, col in enumerate(neon):
            x0 = int(round((0.05 + 0.155 * i) * W))
            img[y0:y1, x0:x0 + int(round(0.12 * W))] = col
        return img

    def _day(self, t: int) -> np.ndarray:
        W, H, s = self.W, self.H, self.s
        xn, yn = self.xn, self.yn
        if not hasattr(self, "_day_cache"):
            self._day_cache = self._day_static()
        add, ground = self._day_cache
        horizon = 0.78
        k = np.clip(yn / horizon, 0, 1)[..., None]
        sky = (1 - k) * np.array([40.0, 80.0, 200.0]) + k * np.array([180.0, 170.0, 150.0])
        off = int(t * 2 * s) % self.pad
        n = self.sky_noise[:, off:off + W]
        mod = (1 + 0.10 * np.sin(2 * np.pi * (xn * 1.5 + yn * 0.7 + t / 48.0))) * (1 + 0.06 * n)
        img = np.where((yn > horizon)[..., None], ground, sky * mod[..., None]) + add
        # strips
        x = np.linspace(0, 1, W)
        r0, r1, r2, r3 = (int(round(f * H)) for f in (0.0, 0.06, 0.10, 0.14))
        img[r0:r1] = _pq_ramp_nits(x)[None, :, None]
        img[r1:r2] = (10.0 * x)[None, :, None]
        img[r2:r3] = 400.0 * _hue_rgb(x)[None]
        # hue / chroma wheel (in its bounding box)
        cx, cy, rad = 0.74 * W, 0.47 * H, 0.17 * H
        bx0, bx1 = int(cx - rad) - 1, int(cx + rad) + 2
        by0, by1 = int(cy - rad) - 1, int(cy + rad) + 2
        dx, dy = self.X[by0:by1, bx0:bx1] - cx, self.Y[by0:by1, bx0:bx1] - cy
        rr = np.sqrt(dx * dx + dy * dy) / rad
        ang = (np.arctan2(dy, dx) / (2 * np.pi) + t / 96.0) % 1.0
        c = np.clip(rr, 0, 1)[..., None]
        wheel = 250.0 * ((1 - c) + c * _hue_rgb(ang))
        img[by0:by1, bx0:bx1] = np.where((rr <= 1)[..., None], wheel, img[by0:by1, bx0:bx1])
        # patches
        for rows in self.patches.values():
            for x0, y0, x1, y1, rgb in rows:
                img[y0:y1, x0:x1] = rgb
        # speculars crossing x 0.35-0.90 at y ~ 0.72
        tt = t / max(self.cut - 1, 1)
        for i, (col, sig) in enumerate((((1000.0, 1000.0, 1000.0), 5), ((800.0, 420.0, 120.0), 7),
                                        ((150.0, 600.0, 600.0), 6), ((1000.0, 1000.0, 1000.0), 3))):
            px = (0.35 + 0.55 * ((tt + 0.25 * i) % 1.0)) * W
            py = (0.72 + 0.012 * (i - 1.5)) * H
            self._add_spot(img, px, py, sig * s, col, replace=True)
        return img

    def _night(self, t: int) -> np.ndarray:
        W, H, s = self.W, self.H, self.s
        if not hasattr(self, "_night_cache"):
            self._night_cache = self._night_static()
        img = self._night_cache.copy()
        u = (t - self.cut) / max(self.N - self.cut - 1, 1)
        for i in range(2):
            cx = (0.95 - 0.8 * u - 0.12 * i) * W
            self._add_spot(img, cx, 0.8 * H, 6 * s, (1000.0, 1000.0, 1000.0), replace=True)
            self._add_spot(img, cx, 0.8 * H, 40 * s, (1000.0, 1000.0, 1000.0), amp=0.05)
        rb = int(round(0.9 * H))
        img[rb:] = (5.0 * np.linspace(0, 1, W))[None, :, None]
        return img

    def frame(self, t: int) -> np.ndarray:
        if t < self.cut:
            img, grain = self._day(t), 0.03
        else:
            img, grain = self._night(t), 0.04
        if t >= self.fade_start:
            img = img * (1 - 0.9 * (t - self.fade_start + 1) / (self.N - self.fade_start))
        if self.grain:
            img = img * (1 + grain * self.rng.standard_normal(img.shape[:2]))[..., None]
        return np.clip(img, 0, 1000).astype(np.float32)


def _pq_ramp_nits(x):
    from hdrkit.core.transfer import eotf_st2084

    return eotf_st2084(x * eotf_inverse_st2084(1000.0))


def encode_signal(nits: np.ndarray, transfer: str) -> np.ndarray:
    """Linear BT.2020 display light (cd/m^2) -> non-linear R'G'B' signal [0, 1]."""
    if transfer == "pq":
        return eotf_inverse_st2084(nits.astype(np.float64))
    if transfer == "hlg":
        return oetf_hlg(ootf_inverse_hlg(nits.astype(np.float64), 1000.0))
    if transfer == "sdr":
        rgb709 = np.clip((nits.astype(np.float64) / 203.0) @ rgb_to_rgb_matrix("bt2020", "bt709").T, 0, 1)
        return eotf_inverse_bt1886(rgb709)
    raise ValueError(transfer)


def to_yuv420(signal: np.ndarray, matrix: str, bits: int, luma_grain: float, rng) -> bytes:
    """R'G'B' [0, 1] -> planar 4:2:0 limited-range codes (left-sited chroma), raw bytes."""
    ycc = rgb_to_ycbcr(signal, matrix, bits, False)
    y = ycc[..., 0]
    if luma_grain:
        y = y + luma_grain * 219 * 2 ** (bits - 8) * rng.standard_normal(y.shape)
    c = ycc[..., 1:]
    c = 0.5 * (c[0::2] + c[1::2])  # 2-row mean (vertical centre)
    cp = np.pad(c, ((0, 0), (1, 1), (0, 0)), mode="edge")
    c = 0.25 * cp[:, 0:-2:2] + 0.5 * cp[:, 1:-1:2] + 0.25 * cp[:, 2::2]  # [1,2,1]/4 at even columns
    top = 2**bits - 1
    dt = np.uint16 if bits > 8 else np.uint8
    planes = [np.clip(np.rint(y), 0, top).astype(dt), np.clip(np.rint(c[..., 0]), 0, top).astype(dt),
              np.clip(np.rint(c[..., 1]), 0, top).astype(dt)]
    return b"".join(p.astype("<u2" if bits > 8 else "u1").tobytes() for p in planes)


def make_clip(out: Path, transfer: str = "pq", width: int = 640, height: int = 360, frames: int = 48,
              fps: int = 24, preset: str = "fast", crf: int = 18, grain: bool = True, untagged: bool = False,
              audio: bool = False, rotate: int = 0, seed: int = 7, lossless: bool = False,
              audio_tail: float = 0.0, cut: float = 0.0) -> Path:
    """Generate one clip; returns its path. ``audio_tail``: seconds of audio after the last
    frame; ``cut``: start a stream copy there (an edit list in MP4 / MOV)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    scene = Scene(width, height, frames, seed=seed, grain=grain)
    rng = np.random.default_rng(seed + 2)
    sdr = transfer == "sdr"
    bits = 8 if sdr else 10
    pix = "yuv420p" if sdr else "yuv420p10le"
    if sdr:
        tags = ["-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv"]
    else:
        trc = "smpte2084" if transfer == "pq" else "arib-std-b67"
        tags = ["-color_primaries", "bt2020", "-color_trc", trc, "-colorspace", "bt2020nc", "-color_range", "tv"]
    if untagged:
        tags = []
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    final = out
    if rotate or cut:  # encode upright and whole, then rotate (display matrix) or cut in a -c copy remux
        out = out.with_name(f".{out.stem}.whole{out.suffix}")
    if transfer == "pq" and not untagged:  # container mdcv / clli boxes (stream side data) as well as the SEIs
        cmd += ["-mastering_display", MASTER_DISPLAY, "-content_light", MAX_CLL]
    cmd += ["-f", "rawvideo", "-pix_fmt", pix, "-s", f"{width}x{height}", "-r", str(fps), *tags, "-i", "pipe:0"]
    if audio:
        cmd += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate=48000:duration={frames / fps + audio_tail}"]
    if untagged and out.suffix == ".nut":  # FFV1 in NUT: no colour description at all (x265 always writes the range)
        cmd += ["-c:v", "ffv1", "-pix_fmt", pix]
    elif sdr:
        cmd += ["-c:v", "libx264", "-preset", preset, "-crf", str(0 if lossless else crf), "-pix_fmt", pix]
    else:
        xp = ["log-level=error", "repeat-headers=1"] + (["lossless=1"] if lossless else [])
        if not untagged:
            trc = "smpte2084" if transfer == "pq" else "arib-std-b67"
            xp += ["colorprim=bt2020", f"transfer={trc}", "colormatrix=bt2020nc", "range=limited", "chromaloc=0"]
            if transfer == "pq":
                xp += ["hdr10=1", "hdr10-opt=1", f"master-display={MASTER_DISPLAY}", f"max-cll={MAX_CLL}"]
        cmd += ["-c:v", "libx265", "-preset", preset, "-crf", str(crf), "-pix_fmt", pix, "-tag:v", "hvc1",
                "-x265-params", ":".join(xp)]
    cmd += [*tags]
    if audio:
        cmd += ["-c:a", "aac", "-b:a", "96k"] + ([] if audio_tail else ["-shortest"])
    cmd += [str(out)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    try:
        for t in range(frames):
            sig = encode_signal(scene.frame(t), transfer)
            proc.stdin.write(to_yuv420(sig, "bt709" if sdr else "bt2020", bits, 0.008 if grain else 0.0, rng))
        proc.stdin.close()
    except BrokenPipeError:
        pass
    if proc.wait() != 0:
        raise SystemExit(f"ffmpeg failed for {out}")
    if rotate or cut:
        opts = (["-display_rotation", str(rotate)] if rotate else []) + (["-ss", f"{cut:g}"] if cut else [])
        subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", *opts, "-i", str(out), "-c", "copy",
                        str(final)], check=True)
        out.unlink()
    return final


#: The clips the test suite uses (``--test-set``): name -> make_clip keyword arguments.
TEST_SET = {
    "pq": dict(transfer="pq", frames=48, audio=True),
    "hlg": dict(transfer="hlg", frames=48),
    "pq_flat": dict(transfer="pq", frames=6, grain=False, lossless=True),
    "hlg_flat": dict(transfer="hlg", frames=6, grain=False, lossless=True),
    "untagged": dict(transfer="pq", frames=6, untagged=True, suffix=".nut"),
    "sdr": dict(transfer="sdr", frames=6, grain=False),
    "pq_rot90": dict(transfer="pq", frames=6, rotate=90),
    # stream-copied cuts: edit lists that drop the packets before the cut (MP4, and MOV whose audio outlasts the video)
    "pq_cut": dict(transfer="pq", frames=48, audio=True, cut=0.6),
    "hlg_cut": dict(transfer="hlg", frames=24, audio=True, audio_tail=0.5, cut=0.3, suffix=".mov"),
}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=ROOT / "samples" / "generated", help="output folder")
    ap.add_argument("--transfer", choices=("pq", "hlg", "sdr", "both"), default="both")
    ap.add_argument("--size", default="640x360", help="WxH (even numbers)")
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--fps", type=int, default=24)
    ap.add_argument("--preset", default=None, help="x265/x264 preset (default fast; medium for --hd/--uhd)")
    ap.add_argument("--crf", type=int, default=18)
    ap.add_argument("--no-grain", action="store_true", help="no film grain (exact patch values)")
    ap.add_argument("--untagged", action="store_true", help="write no colour tags")
    ap.add_argument("--audio", action="store_true", help="add a 440 Hz AAC track")
    ap.add_argument("--rotate", type=int, default=0, help="display-matrix rotation in degrees (counter-clockwise)")
    ap.add_argument("--audio-tail", type=float, default=0.0, help="seconds of audio after the last frame (with --audio)")
    ap.add_argument("--cut", type=float, default=0.0,
                    help="stream-copy from this time (s): an edit list in MP4 / MOV, as phone captures carry")
    ap.add_argument("--name", default=None, help="file stem (default <transfer>_<height>p)")
    ap.add_argument("--lossless", action="store_true", help="lossless x265 / x264")
    ap.add_argument("--test-set", action="store_true",
                    help=f"the small clips of the test suite ({', '.join(TEST_SET)}) at --size (default 320x180)")
    ap.add_argument("--hd", action="store_true", help="1920x1080 benchmark clips")
    ap.add_argument("--uhd", action="store_true", help="3840x2160 benchmark clips")
    args = ap.parse_args(argv)
    if args.test_set:
        w, h = (int(v) for v in (args.size if args.size != "640x360" else "320x180").lower().split("x"))
        for name, kw in TEST_SET.items():
            t0 = time.perf_counter()
            kw = dict(kw)
            suffix = kw.pop("suffix", ".mp4")
            path = make_clip(args.out / f"{name}{suffix}", width=w, height=h, fps=args.fps,
                             preset=args.preset or "fast", crf=args.crf, **kw)
            print(f"wrote {path} ({w}x{h}, {kw['frames']} frames, {time.perf_counter() - t0:.1f} s)")
        return 0
    sizes = []
    if args.hd:
        sizes.append((1920, 1080))
    if args.uhd:
        sizes.append((3840, 2160))
    if not sizes:
        w, h = (int(v) for v in args.size.lower().split("x"))
        sizes.append((w, h))
    transfers = ("pq", "hlg") if args.transfer == "both" else (args.transfer,)
    for w, h in sizes:
        preset = args.preset or ("medium" if (args.hd or args.uhd) else "fast")
        for tr in transfers:
            stem = args.name if args.name and len(transfers) == 1 and len(sizes) == 1 else f"{tr}_{h}p"
            t0 = time.perf_counter()
            path = make_clip(args.out / f"{stem}.mp4", tr, w, h, args.frames, args.fps, preset, args.crf,
                             grain=not args.no_grain, untagged=args.untagged, audio=args.audio, rotate=args.rotate,
                             lossless=args.lossless, audio_tail=args.audio_tail, cut=args.cut)
            print(f"wrote {path} ({w}x{h}, {args.frames} frames, {time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
