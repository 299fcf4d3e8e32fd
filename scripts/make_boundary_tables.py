#!/usr/bin/env python3
"""Write hdrkit/data/ipt_boundary.npz: the IPT gamut-boundary table of every named primaries.

:func:`hdrkit.core.ipt.chroma_boundary` reads these instead of running its bisection (0.1-0.2 s
of CPU per table, at the start of every still export and proxy) while the fingerprint stored
with them matches the numbers they were computed from (IPT matrices, gamut matrices, grid);
after a change to any of them, or to the bisection, run this again (``tests/core/test_ipt.py``
says when).

Usage: python scripts/make_boundary_tables.py [--out PATH]
"""

import argparse
from pathlib import Path

import numpy as np

from hdrkit.core.ipt import BOUNDARY_DATA, bisect_boundary, boundary_fingerprint
from hdrkit.core.primaries import PRIMARIES


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", type=Path, default=Path(__file__).resolve().parents[1] / "hdrkit" / "data" / BOUNDARY_DATA)
    args = ap.parse_args()
    tables = {name: bisect_boundary(name) for name in PRIMARIES}
    with open(args.out, "wb") as f:  # np.savez on a path would add ".npz" to any other name
        np.savez(f, fingerprint=np.array(boundary_fingerprint()), **tables)
    print(f"wrote {args.out} ({', '.join(tables)})")


if __name__ == "__main__":
    main()
