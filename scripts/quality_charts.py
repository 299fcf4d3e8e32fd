#!/usr/bin/env python3
"""Picture-quality charts: hdrkit against FFmpeg (zscale + tonemap) and libplacebo, one table.

Three synthetic clips per transfer (PQ with in-band HDR10 MaxCLL 4000, HLG at its 1000 cd/m^2
reference display), x265 lossless 10-bit 4:2:0, BT.2020 NCL limited range:

``chart``  BT.2020 and Display-P3 primaries and secondaries (R G B C M Y) whose largest
           channel is 100, 250, 500 and 1000 cd/m^2; neutrals 26 (18 % grey) and 203
           (reference white); four skin tones (sRGB values, sRGB white = 203 cd/m^2); a small
           4000 cd/m^2 square (PQ) so the measured peak is the MaxCLL.
``ramp``   a neutral ramp, log-spaced 0.1-4000 cd/m^2 along x (HLG: to 1000).
``pump``   a 203 cd/m^2 grey card on a 20 cd/m^2 background; a small 2000 cd/m^2 light
           (HLG: 1000) switches on and off every 6 frames.

Renderers (every output lossless 8-bit H.264, so the comparison is the renderer's):
``hdrkit``  ``hdrkit proxy --crf 0`` (default engine and parameters, plus any ``--hdrkit-args``);
``hable`` / ``mobius``  ``zscale=t=linear:npl=100, zscale=p=bt709, tonemap=...:desat=0, zscale=t=bt709``;
``placebo-2390`` / ``placebo``  FFmpeg ``libplacebo`` (bt.2390 / default) on a Vulkan device
(lavapipe on a CPU), only with ``--libplacebo``.

Measures (outputs decoded as BT.709 limited range, BT.1886 gamma 2.4, 100 cd/m^2 white;
sources from their exact linear values with colour-science):

* hue shift: IPT hue angle (Ebner & Fairchild 1998, ``colour.XYZ_to_IPT``) of each output
  patch (central half) minus that of the source colour, mean / max of |dh| in degrees over
  the BT.2020 set and the P3 set (IPT hue does not depend on the absolute scale);
* Y' levels: distinct 8-bit luma codes within 16-235 on the ramp where the source is above
  203 cd/m^2; ``Y'(4000) - Y'(1000)``: luma codes at those ramp positions;
* white / grey: luma code of the 203 and 26 cd/m^2 neutrals; skin: CIEDE2000 of the output
  skin patches (relative to 100 cd/m^2 SDR white) against the source colours relative to
  203 cd/m^2 (BT.2408 reference white = SDR white);
* card swing: max - min over frames of the card's mean luma code.

Usage:
    python scripts/quality_charts.py                    # -> samples/generated/quality/, table on stdout
    python scripts/quality_charts.py --libplacebo       # also libplacebo (needs a Vulkan ICD: lavapipe)
    python scripts/quality_charts.py --only hdrkit --hdrkit-args "--gamut-map clip"
    python scripts/quality_charts.py --json out.json
"""

from __future__ import annotations

import argparse
import json
import os
import shlex
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from make_clips import encode_signal, to_yuv420  # noqa: E402

from hdrkit.core.primaries import rgb_to_rgb_matrix, rgb_to_xyz_matrix  # noqa: E402
from hdrkit.core.transfer import eotf_srgb  # noqa: E402
from hdrkit.io.ffmpeg import ffmpeg_exe  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
W, H = 640, 368
LEVELS = (100.0, 250.0, 500.0, 1000.0)
MAX_CLL = 4000
SKIN_SRGB = ((194, 150, 130), (141, 85, 36), (255, 219, 172), (224, 172, 105))
_BASE = np.array([(1, 0, 0), (0, 1, 0), (0, 0, 1), (0, 1, 1), (1, 0, 1), (1, 1, 0)], np.float64)


# ------------------------------------------------------------------ the charts
def chart_patches(transfer: str) -> list[tuple[str, tuple[int, int, int, int], np.ndarray]]:
    """(kind, (y0, y1, x0, x1), linear BT.2020 cd/m^2) for every chart patch; kinds 2020, p3,
    white, grey, skin, peak."""
    out = []
    pw, ph = W // 8, H // 7
    box = lambda r, c: (r * ph, (r + 1) * ph, c * pw, (c + 1) * pw)  # noqa: E731
    p3 = rgb_to_rgb_matrix("p3", "bt2020")
    for li, L in enumerate(LEVELS):
        for k, base in enumerate(_BASE):
            r, c = divmod(li * 12 + k, 8)
            out.append(("2020", box(r, c), base * L))
            r, c = divmod(li * 12 + 6 + k, 8)
            out.append(("p3", box(r, c), (base * L) @ p3.T))
    out.append(("grey", box(6, 0), np.full(3, 26.0)))
    out.append(("white", box(6, 1), np.full(3, 203.0)))
    m709 = rgb_to_rgb_matrix("bt709", "bt2020")
    for i, s in enumerate(SKIN_SRGB):
        out.append(("skin", box(6, 2 + i), 203.0 * eotf_srgb(np.array(s) / 255.0) @ m709.T))
    if transfer == "pq":
        out.append(("peak", (6 * ph + ph // 3, 6 * ph + 2 * ph // 3, 7 * pw, 7 * pw + pw // 3), np.full(3, 4000.0)))
    return out


def ramp_nits(transfer: str) -> np.ndarray:
    """Source luminance of each ramp column (log-spaced from 0.1 to the transfer's top)."""
    top = MAX_CLL if transfer == "pq" else 1000.0
    return np.geomspace(0.1, top, W)


def frames(kind: str, transfer: str):
    bg = np.full((H, W, 3), 20.0)
    if kind == "chart":
        img = np.full((H, W, 3), 5.0)
        for _, (y0, y1, x0, x1), v in chart_patches(transfer):
            img[y0:y1, x0:x1] = v
        return [img, img]
    if kind == "ramp":
        return [np.broadcast_to(ramp_nits(transfer)[None, :, None], (H, W, 3)).copy()] * 2
    light = 2000.0 if transfer == "pq" else 1000.0
    out = []
    for t in range(24):
        img = bg.copy()
        img[H // 4:3 * H // 4, W // 4:3 * W // 4] = 203.0
        if (t // 6) % 2 == 1:
            img[16:32, 16:32] = light
        out.append(img)
    return out


def card_box():
    return (H // 4 + 8, 3 * H // 4 - 8, W // 4 + 8, 3 * W // 4 - 8)


def make_source(kind: str, transfer: str, out: Path) -> Path:
    trc = "smpte2084" if transfer == "pq" else "arib-std-b67"
    tags = ["-color_primaries", "bt2020", "-color_trc", trc, "-colorspace", "bt2020nc", "-color_range", "tv"]
    xp = ["log-level=error", "repeat-headers=1", "lossless=1", "colorprim=bt2020", f"transfer={trc}",
          "colormatrix=bt2020nc", "range=limited", "chromaloc=0"]
    if transfer == "pq":
        xp += ["hdr10=1", "hdr10-opt=1",
               "master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(40000000,50)",
               f"max-cll={MAX_CLL},400"]
    cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p10le",
           "-s", f"{W}x{H}", "-r", "24", *tags, "-i", "pipe:0", "-c:v", "libx265", "-preset", "ultrafast",
           "-pix_fmt", "yuv420p10le", "-tag:v", "hvc1", "-x265-params", ":".join(xp), *tags, str(out)]
    rng = np.random.default_rng(1)
    data = b"".join(to_yuv420(encode_signal(f, transfer), "bt2020", 10, 0.0, rng) for f in frames(kind, transfer))
    subprocess.run(cmd, input=data, check=True)
    return out


# ------------------------------------------------------------------ renderers
def _zscale(curve: str) -> str:
    return (f"zscale=t=linear:npl=100,format=gbrpf32le,zscale=p=bt709,tonemap={curve}:desat=0,"
            "zscale=t=bt709:m=bt709:r=tv,format=yuv420p")


def _placebo(extra: str) -> str:
    return ("libplacebo=" + (extra + ":" if extra else "")
            + "colorspace=bt709:color_primaries=bt709:color_trc=bt709:range=tv:format=yuv420p")


def render(name: str, src: Path, out: Path, hdrkit_args: str) -> Path:
    x264 = ["-an", "-c:v", "libx264", "-preset", "ultrafast", "-qp", "0", "-pix_fmt", "yuv420p",
            "-color_primaries", "bt709", "-color_trc", "bt709", "-colorspace", "bt709", "-color_range", "tv"]
    ff = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-y"]
    if name == "hdrkit":
        cmd = [sys.executable, "-m", "hdrkit", "proxy", str(src), "-o", str(out), "--crf", "0", "--no-progress",
               "--force", *shlex.split(hdrkit_args)]
    elif name in ("hable", "mobius"):
        cmd = ff + ["-i", str(src), "-vf", _zscale(name), *x264, str(out)]
    elif name.startswith("placebo"):
        vf = _placebo("tonemapping=bt.2390" if name == "placebo-2390" else "")
        cmd = ff + ["-init_hw_device", "vulkan=vk", "-filter_hw_device", "vk", "-i", str(src), "-vf", vf, *x264,
                    str(out)]
    else:
        raise SystemExit(f"unknown renderer {name}")
    env = dict(os.environ, XDG_RUNTIME_DIR=os.environ.get("XDG_RUNTIME_DIR") or tempfile.mkdtemp())
    subprocess.run(cmd, check=True, env=env, stdout=subprocess.DEVNULL)
    return out


# ------------------------------------------------------------------ decoding + measures
def decode_yuv(path: Path) -> list[tuple[np.ndarray, np.ndarray, np.ndarray]]:
    raw = subprocess.run([ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-i", str(path), "-f", "rawvideo",
                          "-pix_fmt", "yuv420p", "pipe:1"], check=True, capture_output=True).stdout
    n = W * H * 3 // 2
    out = []
    for i in range(len(raw) // n):
        f = np.frombuffer(raw[i * n:(i + 1) * n], np.uint8)
        y = f[:W * H].reshape(H, W).astype(np.float64)
        u = f[W * H:W * H * 5 // 4].reshape(H // 2, W // 2).astype(np.float64)
        v = f[W * H * 5 // 4:].reshape(H // 2, W // 2).astype(np.float64)
        out.append((y, u.repeat(2, 0).repeat(2, 1), v.repeat(2, 0).repeat(2, 1)))
    return out


def to_linear_709(y, u, v) -> np.ndarray:
    """BT.709 limited-range 8-bit Y'CbCr -> display light in cd/m^2 (BT.1886, gamma 2.4, 100 white)."""
    Y, Cb, Cr = (y - 16) / 219, (u - 128) / 224, (v - 128) / 224
    kr, kb = 0.2126, 0.0722
    R = Y + 2 * (1 - kr) * Cr
    B = Y + 2 * (1 - kb) * Cb
    G = (Y - kr * R - kb * B) / (1 - kr - kb)
    return 100.0 * np.clip(np.stack([R, G, B], -1), 0, 1) ** 2.4


def ipt_hue(xyz) -> np.ndarray:
    import colour

    ipt = colour.XYZ_to_IPT(np.asarray(xyz, np.float64) / 100.0)
    return np.degrees(np.arctan2(ipt[..., 2], ipt[..., 1]))


def _centre(img, b):
    y0, y1, x0, x1 = b
    dy, dx = (y1 - y0) // 4, (x1 - x0) // 4
    return img[y0 + dy:y1 - dy, x0 + dx:x1 - dx].reshape(-1, img.shape[-1] if img.ndim == 3 else 1).mean(0)


def source_light(nits, transfer: str) -> np.ndarray:
    """What the renderers receive: the colour through the transfer's signal range (an HLG signal
    holds at most 1.0, so a saturated 1000 cd/m^2 colour is clipped in the source itself)."""
    from hdrkit.core.transfer import eotf_hlg, eotf_st2084

    sig = np.clip(encode_signal(np.asarray(nits, np.float64), transfer), 0.0, 1.0)
    return eotf_st2084(sig) if transfer == "pq" else eotf_hlg(sig, 1000.0)


def measure_chart(path: Path, transfer: str) -> dict:
    import colour

    y, u, v = decode_yuv(path)[-1]
    lin = to_linear_709(y, u, v)
    x709 = rgb_to_xyz_matrix("bt709")
    x2020 = rgb_to_xyz_matrix("bt2020")
    dh = {"2020": [], "p3": []}
    res = {}
    skins = []
    for kind, b, src in chart_patches(transfer):
        o = _centre(lin, b)
        src = source_light(src, transfer)
        if kind in dh:
            d = (ipt_hue(o @ x709.T) - ipt_hue(src @ x2020.T) + 180) % 360 - 180
            dh[kind].append(float(d))
        elif kind in ("white", "grey"):
            res[f"{kind}_code"] = float(_centre(y[..., None], b)[0])
        elif kind == "skin":
            skins.append((o, src))
    de = []
    for o, src in skins:
        xo = o @ x709.T / 100.0
        xs = src @ x2020.T / 203.0
        wp = colour.CCS_ILLUMINANTS["CIE 1931 2 Degree Standard Observer"]["D65"]
        de.append(float(colour.delta_E(colour.XYZ_to_Lab(xo, wp), colour.XYZ_to_Lab(xs, wp), method="CIE 2000")))
    for k, a in dh.items():
        a = np.abs(a)
        res[f"hue_{k}_mean"], res[f"hue_{k}_max"] = float(a.mean()), float(a.max())
        res[f"hue_{k}_signed"] = [round(x, 1) for x in dh[k]]
    res["skin_de00"] = float(np.mean(de))
    return res


def measure_ramp(path: Path, transfer: str) -> dict:
    y = decode_yuv(path)[-1][0]
    row = np.rint(y[H // 4:3 * H // 4].mean(0))
    nits = ramp_nits(transfer)
    above = row[nits > 203.0]
    legal = above[(above >= 16) & (above <= 235)]
    res = {"levels_above_203": int(np.unique(legal).size), "supers": int((row > 235).sum())}
    if transfer == "pq":
        res["y4000_minus_y1000"] = float(row[-1] - row[np.argmin(np.abs(nits - 1000.0))])
    return res


def measure_pump(path: Path) -> dict:
    y0, y1, x0, x1 = card_box()
    m = [float(f[0][y0:y1, x0:x1].mean()) for f in decode_yuv(path)]
    return {"card_swing": max(m) - min(m), "card_mean": float(np.mean(m))}


# ------------------------------------------------------------------ driver
ROWS = [("hue BT.2020 mean / max (deg)", lambda r: f"{r['hue_2020_mean']:.1f} / {r['hue_2020_max']:.1f}"),
        ("hue P3 mean / max (deg)", lambda r: f"{r['hue_p3_mean']:.1f} / {r['hue_p3_max']:.1f}"),
        ("Y' levels above 203 cd/m^2 (ramp)", lambda r: f"{r['levels_above_203']}"),
        ("Y'(4000) - Y'(1000)", lambda r: f"{r['y4000_minus_y1000']:.0f}" if "y4000_minus_y1000" in r else "-"),
        ("card swing (codes)", lambda r: f"{r['card_swing']:.1f}"),
        ("white / grey Y' code", lambda r: f"{r['white_code']:.1f} / {r['grey_code']:.1f}"),
        ("skin dE00 mean", lambda r: f"{r['skin_de00']:.1f}")]


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", type=Path, default=ROOT / "samples" / "generated" / "quality")
    ap.add_argument("--transfer", choices=("pq", "hlg", "both"), default="both")
    ap.add_argument("--only", nargs="*", default=None, help="renderers (hdrkit hable mobius placebo-2390 placebo)")
    ap.add_argument("--libplacebo", action="store_true", help="also libplacebo (Vulkan device needed)")
    ap.add_argument("--hdrkit-args", default="", help="extra `hdrkit proxy` options")
    ap.add_argument("--json", type=Path, default=None)
    a = ap.parse_args(argv)
    a.out.mkdir(parents=True, exist_ok=True)
    names = a.only or (["hdrkit", "hable", "mobius"] + (["placebo-2390", "placebo"] if a.libplacebo else []))
    results = {}
    for tr in (("pq", "hlg") if a.transfer == "both" else (a.transfer,)):
        srcs = {k: a.out / f"{k}_{tr}.mp4" for k in ("chart", "ramp", "pump")}
        for k, p in srcs.items():
            if not p.exists():
                make_source(k, tr, p)
        for n in names:
            r = {}
            for k, p in srcs.items():
                o = render(n, p, a.out / f"{k}_{tr}.{n}.mp4", a.hdrkit_args)
                r.update(measure_chart(o, tr) if k == "chart" else measure_ramp(o, tr) if k == "ramp"
                         else measure_pump(o))
            results[f"{tr}/{n}"] = r
        cols = [n for n in names]
        print(f"\n{tr.upper()} | " + " | ".join(cols))
        print("|---" * (len(cols) + 1) + "|")
        for label, fmt in ROWS:
            print(f"| {label} | " + " | ".join(fmt(results[f'{tr}/{n}']) for n in cols) + " |")
    if a.json:
        a.json.write_text(json.dumps(results, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
