#!/usr/bin/env python3
"""Print SHA-256 hashes of what the video commands render, as JSON: a before / after check that a
refactoring leaves every output byte-identical.

For the bundled HLG clip (samples/video/hlg10-color-test.mp4) and a PQ clip made by
scripts/make_clips.py (640x360, 24 frames, kept in samples/generated/render_hashes/):

* ``proxy`` with default options and with ``--mode exact``: the hash of the decoded frames
  (every plane of every frame, in order; container bytes carry times and are not compared);
* ``analyze --json`` (default grid and ``--full``): the JSON without its timing (``elapsed``),
  keys sorted;
* ``keyframes``: the bytes of every JPEG written (sorted by name).

Usage:
    python scripts/render_hashes.py > before.json
    ... change the code ...
    python scripts/render_hashes.py > after.json && diff before.json after.json
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
HLG_CLIP = ROOT / "samples" / "video" / "hlg10-color-test.mp4"
WORK = ROOT / "samples" / "generated" / "render_hashes"


def _pq_clip() -> Path:
    p = WORK / "pq_360p.mp4"
    if not p.is_file():
        subprocess.run([sys.executable, str(ROOT / "scripts" / "make_clips.py"), "--transfer", "pq", "--size",
                        "640x360", "--frames", "24", "--out", str(WORK), "--name", p.stem], check=True,
                       stdout=subprocess.DEVNULL)
    return p


def _hdrkit(*args) -> None:
    r = subprocess.run([sys.executable, "-m", "hdrkit", *map(str, args)], capture_output=True, text=True)
    if r.returncode != 0:
        raise SystemExit(f"hdrkit {' '.join(map(str, args))} failed ({r.returncode}): {r.stderr.strip()[-400:]}")


def _frames_hash(path: Path) -> str:
    h = hashlib.sha256()
    with av.open(str(path)) as c:
        for f in c.decode(video=0):
            for p in f.planes:
                h.update(bytes(p))
    return h.hexdigest()


def hashes(clips: dict[str, Path], tmp: Path) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, clip in clips.items():
        for mode in ("lut", "exact"):
            dst = tmp / f"{name}_{mode}.mp4"
            _hdrkit("proxy", clip, "-o", dst, "--mode", mode, "--no-progress")
            out[f"{name}/proxy-{mode}"] = _frames_hash(dst)
        for grid in ("default", "full"):  # the measuring grid, and every pixel (light levels)
            js = tmp / f"{name}_{grid}.json"
            _hdrkit("analyze", clip, "--json", js, "--no-progress", *(["--full"] if grid == "full" else []))
            d = json.loads(js.read_text())
            d.pop("elapsed", None)
            out[f"{name}/analyze-json-{grid}"] = hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()
        kd = tmp / f"{name}_keyframes"
        _hdrkit("keyframes", clip, "-o", kd, "--no-progress")
        for jpg in sorted(kd.glob("*.jpg")):
            out[f"{name}/keyframes/{jpg.name}"] = hashlib.sha256(jpg.read_bytes()).hexdigest()
    return out


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--keep", type=Path, default=None, help="keep the rendered outputs in this folder")
    args = ap.parse_args(argv)
    clips = {"hlg": HLG_CLIP, "pq": _pq_clip()}
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
        res = hashes(clips, args.keep)
    else:
        with tempfile.TemporaryDirectory() as d:
            res = hashes(clips, Path(d))
    print(json.dumps(res, indent=1, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
