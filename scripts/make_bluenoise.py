#!/usr/bin/env python3
"""Write hdrkit/data/bluenoise64.npy: the 64x64 void-and-cluster rank array the dither uses.

Usage: python scripts/make_bluenoise.py [--out PATH]
"""

import argparse
from pathlib import Path

import numpy as np

from hdrkit.core.dither import void_and_cluster


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "hdrkit" / "data" / "bluenoise64.npy")
    args = ap.parse_args()
    rank = void_and_cluster(64).astype(np.uint16)
    np.save(args.out, rank)
    print(f"wrote {args.out} ({rank.size} ranks)")


if __name__ == "__main__":
    main()
