"""The golden set: where it lives, which cases it has, and their ROI masks.

A set is a folder with ``manifest.json`` written by ``scripts/make_goldens.py``:
synthetic Ultra HDR JPEGs (``<case>.jpg``) with ROI bit masks (``<case>.roi.png``, bits in
the manifest's ``roi_bits``), short HLG / PQ clips (``kind: "clip"``) and references to
real third-party samples (``real_samples``, paths relative to the repository root).

Sets:
- ``ci``: ``samples/goldens/ci`` (committed, small, quick);
- ``full``: ``samples/generated/goldens/full`` (generated with ``make_goldens.py --full``).

The folder is looked up from the current directory upwards, then beside the installed
package (an editable install from a clone), unless given explicitly.
"""

from __future__ import annotations

import fnmatch
import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..errors import ContainerError, OptionError

__all__ = ["GoldenCase", "GoldenSet", "SETS", "find_set_dir", "load_set", "load_rois", "ROI_NAMES"]

#: Set name -> folder relative to the repository root.
SETS = {"ci": "samples/goldens/ci", "full": "samples/generated/goldens/full"}
ROI_NAMES = ("skin", "highlight", "signage", "ramp", "refwhite", "midgrey")


@dataclass(frozen=True)
class GoldenCase:
    """One golden: a still (Ultra HDR JPEG) or a clip, with its manifest entry."""

    name: str
    kind: str  # 'still' | 'clip'
    path: Path
    category: str = ""
    description: str = ""
    roi_path: Path | None = None
    roi_bits: dict = field(default_factory=dict)
    real: bool = False
    meta: dict = field(default_factory=dict)

    @property
    def has_rois(self) -> bool:
        return self.roi_path is not None


@dataclass
class GoldenSet:
    name: str
    root: Path
    repo_root: Path
    cases: list[GoldenCase]
    missing: list[str]
    manifest: dict


def _candidates(set_name: str):
    rel = SETS[set_name]
    here = Path.cwd().resolve()
    for base in (here, *here.parents):
        yield base, base / rel
    pkg_root = Path(__file__).resolve().parents[2]
    yield pkg_root, pkg_root / rel


def find_set_dir(set_name: str = "ci", goldens: str | Path | None = None) -> tuple[Path, Path]:
    """(set folder, repository root) for ``set_name``, or for an explicit ``goldens`` folder."""
    if goldens is not None:
        d = Path(goldens).resolve()
        if not (d / "manifest.json").is_file():
            raise OptionError(f"no manifest.json in {d}; make a set with scripts/make_goldens.py --out {d}")
        root = next((p for p in (d, *d.parents) if (p / "samples").is_dir()), d)
        return d, root
    if set_name not in SETS:
        raise OptionError(f"unknown golden set {set_name!r}; choose from {', '.join(SETS)}")
    for root, d in _candidates(set_name):
        if (d / "manifest.json").is_file():
            return d, root
    hint = "python scripts/make_goldens.py" + (" --full" if set_name == "full" else "")
    raise OptionError(f"golden set {set_name!r} not found ({SETS[set_name]}/manifest.json); run from the "
                      f"repository or generate it with '{hint}'")


def load_set(set_name: str = "ci", goldens: str | Path | None = None, patterns: list[str] | None = None,
             include_real: bool = True) -> GoldenSet:
    """Read the manifest; ``patterns`` (shell globs on case names) select cases.

    Real samples whose file is missing are listed in ``missing`` (not an error: a checkout
    without the third-party files still runs the synthetic cases).
    """
    d, root = find_set_dir(set_name, goldens)
    try:
        man = json.loads((d / "manifest.json").read_text())
        bits = dict(man.get("roi_bits", {}))
        cases, missing = [], []
        for c in man["cases"]:
            cases.append(GoldenCase(c["name"], c.get("kind", "still"), d / c["file"], c.get("category", ""),
                                    c.get("description", ""), d / c["roi"] if c.get("roi") else None, bits, False, c))
        for c in man.get("real_samples", []) if include_real else []:
            p = root / c["file"]
            if not p.is_file():
                missing.append(c["name"])
                continue
            cases.append(GoldenCase(c["name"], c.get("kind", "still"), p, "real", c.get("description", ""),
                                    None, bits, True, c))
    except (KeyError, TypeError, json.JSONDecodeError) as e:
        raise ContainerError(f"{d / 'manifest.json'}: malformed golden manifest ({type(e).__name__}: {e})") from None
    if patterns:
        cases = [c for c in cases if any(fnmatch.fnmatchcase(c.name, p) for p in patterns)]
        if not cases:
            raise OptionError(f"no golden case matches {', '.join(patterns)}")
    return GoldenSet(man.get("set", set_name), d, root, cases, missing, man)


def load_rois(case: GoldenCase, shape: tuple[int, int] | None = None) -> dict[str, np.ndarray]:
    """The case's ROI masks by name (bool, H x W); {} for cases without ROIs."""
    if case.roi_path is None:
        return {}
    from PIL import Image

    try:
        with Image.open(case.roi_path) as im:
            bits = np.asarray(im.convert("L"))
    except OSError as e:
        raise ContainerError(f"{case.roi_path}: cannot read ROI mask ({e})") from None
    if shape is not None and bits.shape != tuple(shape):
        raise ContainerError(f"{case.roi_path}: ROI mask {bits.shape} does not match the image {tuple(shape)}")
    return {k: (bits & int(v)) > 0 for k, v in case.roi_bits.items() if ((bits & int(v)) > 0).any()}
