"""Shared helpers of the gain-map tests: sample paths, the generator script, the oracle."""

from __future__ import annotations

import gzip
import importlib.util
from functools import lru_cache
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT / "samples" / "ultrahdr"
MINNIE = SAMPLES / "libultrahdr_minnie_ultrahdr_sys.jpg"
PHOTOSHOP = SAMPLES / "photoshop_seine_sdr_gainmap_srgb.jpg"
APPLE = SAMPLES / "apple_gainmap_new.jpg"
TRUNCATED = SAMPLES / "NEGATIVE_truncated_pillow_ultrahdr.jpg"
REAL = (MINNIE, PHOTOSHOP, APPLE, TRUNCATED)


@lru_cache(maxsize=None)
def script(name: str):
    """The generator script ``scripts/<name>.py`` as a module."""
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def make():
    """The generator script ``scripts/make_ultrahdr.py`` as a module."""
    return script("make_ultrahdr")


@lru_cache(maxsize=None)
def variant(name: str) -> bytes:
    """A synthetic gain-map JPEG (320x240) from the generator's agreement-test set."""
    return make().make_variant(name)


def oracle(data: bytes, boost: float | None = None) -> np.ndarray:
    """libultrahdr's linear decode (imagecodecs): float32 RGB, 1.0 = SDR white, HDR gamut."""
    import imagecodecs

    kw = {} if boost is None else {"boost": boost}
    return imagecodecs.ultrahdr_decode(data, dtype=np.float16, **kw)[..., :3].astype(np.float32)


def minnie_reference_f16() -> np.ndarray:
    """libultrahdr's own decode of the minnie file at max_display_boost 4 (shipped sample)."""
    raw = gzip.open(SAMPLES / "reference_decodes" / "minnie_sys_linear_f16.bin.gz").read()
    return np.frombuffer(raw, np.float16).reshape(240, 320, 4)[..., :3].astype(np.float32)


def psnr(a: np.ndarray, ref: np.ndarray) -> float:
    """PSNR in dB with the reference maximum as peak."""
    mse = np.mean((np.asarray(a, np.float64) - np.asarray(ref, np.float64)) ** 2)
    return float("inf") if mse == 0 else float(10 * np.log10(float(ref.max()) ** 2 / mse))


def as_oracle_output(im, headroom=None, method="fast") -> np.ndarray:
    """Our render brought to what the oracle outputs: the HDR gamut, clamped to [0, 10000/203]."""
    from hdrkit.core.primaries import rgb_to_rgb_matrix
    from hdrkit.core.gainmap import LINEAR_MAX

    a = im.render(headroom, clamp=False, method=method)
    out = im.container.gainmap_primaries
    if im.primaries != out:
        a = a @ rgb_to_rgb_matrix(im.primaries, out).T.astype(np.float32)
    return np.clip(a, 0, LINEAR_MAX)
