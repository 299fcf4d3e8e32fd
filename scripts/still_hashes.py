#!/usr/bin/env python3
"""Fingerprint every still output: sha256 of exported SDR JPEGs and of rebuilt float HDR.

Exports every still of the CI golden set (``samples/goldens/ci``, see
:mod:`hdrkit.regress.goldens`) and every file in ``samples/ultrahdr/`` with the default
options and a few presets, curves, gamut maps and display boosts, and hashes the JPEG
bytes; hashes the bytes of ``GainMapImage.render()`` (compiled and numpy reference, full
map and a display boost of 2, both JPEG decoders). An input that fails records its error
type instead. Refactorings that must not change outputs are checked by comparing two runs:

    python scripts/still_hashes.py --out /tmp/before.txt
    ... change the code ...
    python scripts/still_hashes.py --compare /tmp/before.txt     # exit status 1 on any difference
"""

from __future__ import annotations

import argparse
import hashlib
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import hdrkit  # noqa: E402
from hdrkit.errors import HdrkitError  # noqa: E402
from hdrkit.regress.goldens import load_set  # noqa: E402

#: name -> keyword arguments of :func:`hdrkit.export_sdr`.
EXPORT_CONFIGS = {
    "default": {},
    "portrait": {"preset": "portrait"},
    "night": {"preset": "night"},
    "pwl": {"curve": "pwl", "curve_params": {"knee_out": 0.28}},
    "hable": {"curve": "hable"},
    "knee-exp": {"curve": "knee-exp"},
    "clip": {"gamut_map": "clip"},
    "compress": {"gamut_map": "compress"},
    "boost2": {"headroom": 2.0},
    "q75-444": {"quality": 75, "subsampling": "444"},
}
#: name -> (render keyword arguments, read_gainmap decoder).
RENDER_CONFIGS = {
    "fast": ({}, "libjpeg"),
    "fast-boost2": ({"headroom": 2.0}, "libjpeg"),
    "fast-noclamp": ({"clamp": False}, "libjpeg"),
    "reference": ({"method": "reference"}, "libjpeg"),
    "reference-boost2": ({"method": "reference", "headroom": 2.0}, "libjpeg"),
    "pyav": ({}, "pyav"),
}


def inputs() -> list[tuple[str, Path]]:
    gs = load_set("ci", include_real=False)
    out = [(c.name, c.path) for c in gs.cases if c.kind == "still"]
    out += [(p.stem, p) for p in sorted((ROOT / "samples" / "ultrahdr").glob("*.jpg"))]
    return out


def sha(b: bytes) -> str:
    return hashlib.sha256(b).hexdigest()[:16]


def fingerprints(only: str | None = None):
    with tempfile.TemporaryDirectory() as tmp:
        dst = Path(tmp) / "out.jpg"
        for name, path in inputs():
            if only and only not in name:
                continue
            for cfg, kw in EXPORT_CONFIGS.items():
                try:
                    hdrkit.export_sdr(path, dst, **kw)
                    h = sha(dst.read_bytes())
                except HdrkitError as e:
                    h = f"error:{type(e).__name__}"
                yield f"{name} export:{cfg}", h
            for cfg, (kw, decoder) in RENDER_CONFIGS.items():
                try:
                    h = sha(hdrkit.read_gainmap(path, decoder=decoder, fallback="base").render(**kw).tobytes())
                except HdrkitError as e:
                    h = f"error:{type(e).__name__}"
                yield f"{name} render:{cfg}", h


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, help="write the fingerprints to this file")
    ap.add_argument("--compare", type=Path, help="compare with a file written by --out; exit 1 on a difference")
    ap.add_argument("--only", help="only inputs whose name contains this")
    a = ap.parse_args(argv)
    lines = [f"{k}  {v}" for k, v in fingerprints(a.only)]
    text = "\n".join(lines) + "\n"
    if a.out:
        a.out.write_text(text)
    if a.compare:
        old = dict(line.rsplit("  ", 1) for line in a.compare.read_text().splitlines() if line)
        diff = [line for line in lines if old.get(line.rsplit("  ", 1)[0]) != line.rsplit("  ", 1)[1]]
        for line in diff:
            print(f"DIFFERS: {line} (was {old.get(line.rsplit('  ', 1)[0])})")
        print(f"{len(lines)} outputs, {len(diff)} differ")
        return 1 if diff else 0
    if not a.out:
        sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
