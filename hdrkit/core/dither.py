"""Quantisation of encoded [0, 1] signals to N-bit codes, with a registry of dithers.

``blue64`` (default) adds a deterministic 64x64 blue-noise threshold tile before
rounding: noise energy sits at high spatial frequencies, so smooth gradients lose their
8-bit bands without visible grain, and the same input always gives byte-identical output
(no random state, the tile is data). The tile is made by the void-and-cluster method
(:func:`void_and_cluster`; ``scripts/make_bluenoise.py`` writes ``hdrkit/data/bluenoise64.npy``,
and a test regenerates it and compares). Temporal dither is deliberately absent: a
fixed tile does not shimmer on video (libplacebo disables temporal dither for the same
reason).

References
----------
- R. Ulichney, "The void-and-cluster method for dither array generation", Proc. SPIE
  1913 (1993) 332-343.
- libplacebo ``src/dither.c`` (64x64 blue noise for video output).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Callable

import numpy as np

from ..errors import OptionError

__all__ = ["Dither", "DITHERS", "DEFAULT_DITHER", "get_dither", "quantize", "void_and_cluster", "blue_noise_tile",
           "bayer_tile"]


def void_and_cluster(size: int = 64, sigma: float = 1.5, seed: int = 20240203, initial_fraction: float = 0.1) -> np.ndarray:
    """Void-and-cluster dither array (Ulichney 1993): ranks 0 .. size^2 - 1, shape (size, size), int32.

    Energy is a toroidal Gaussian (``sigma`` pixels) summed over the ones of the binary
    pattern, kept up to date incrementally. The initial pattern comes from numpy's PCG64
    with a fixed ``seed``, so the result is reproducible on every platform.
    """
    n = size * size
    yy, xx = np.mgrid[0:size, 0:size]
    dy = np.minimum(yy, size - yy)
    dx = np.minimum(xx, size - xx)
    kernel = np.exp(-(dx * dx + dy * dy) / (2 * sigma * sigma))

    def add(E, idx, sign):
        y, x = divmod(int(idx), size)
        E += sign * np.roll(kernel, (y, x), axis=(0, 1))

    rng = np.random.default_rng(seed)
    ones = int(n * initial_fraction)
    B = np.zeros((size, size), bool)
    B.flat[rng.choice(n, ones, replace=False)] = True
    E = np.zeros((size, size))
    for i in np.flatnonzero(B):
        add(E, i, 1)
    while True:  # phase 0: relax the initial pattern
        cl = int(np.argmax(np.where(B, E, -np.inf)))
        B.flat[cl] = False
        add(E, cl, -1)
        vd = int(np.argmin(np.where(B, np.inf, E)))
        if vd == cl:
            B.flat[cl] = True
            add(E, cl, 1)
            break
        B.flat[vd] = True
        add(E, vd, 1)
    proto_B, proto_E = B.copy(), E.copy()
    rank = np.zeros(n, np.int32)
    for r in range(ones - 1, -1, -1):  # phase 1: rank the initial ones, removing clusters
        cl = int(np.argmax(np.where(B, E, -np.inf)))
        B.flat[cl] = False
        add(E, cl, -1)
        rank[cl] = r
    B, E = proto_B, proto_E
    for r in range(ones, n):  # phases 2-3: fill voids (= tightest clusters of zeros)
        vd = int(np.argmin(np.where(B, np.inf, E)))
        B.flat[vd] = True
        add(E, vd, 1)
        rank[vd] = r
    return rank.reshape(size, size)


@lru_cache(maxsize=1)
def blue_noise_tile() -> np.ndarray:
    """The shipped 64x64 blue-noise tile as thresholds in (-0.5, 0.5), float32."""
    with resources.files("hdrkit.data").joinpath("bluenoise64.npy").open("rb") as f:
        rank = np.load(f)
    t = ((rank.astype(np.float64) + 0.5) / rank.size - 0.5).astype(np.float32)
    t.setflags(write=False)
    return t


@lru_cache(maxsize=1)
def bayer_tile() -> np.ndarray:
    """8x8 Bayer ordered-dither thresholds in (-0.5, 0.5), float32."""
    b = np.zeros((1, 1), np.int64)
    for _ in range(3):
        b = np.block([[4 * b, 4 * b + 2], [4 * b + 3, 4 * b + 1]])
    t = ((b + 0.5) / b.size - 0.5).astype(np.float32)
    t.setflags(write=False)
    return t


def _zero_tile():
    return np.zeros((1, 1), np.float32)


@dataclass(frozen=True)
class Dither:
    """A registered dither: a tile of thresholds in (-0.5, 0.5) repeated over the image."""

    name: str
    description: str
    tile: Callable[[], np.ndarray]


DITHERS: dict[str, Dither] = {d.name: d for d in (
    Dither("blue64", "64x64 void-and-cluster blue noise, deterministic", blue_noise_tile),
    Dither("bayer8", "8x8 Bayer ordered dither", bayer_tile),
    Dither("none", "round to nearest", _zero_tile),
)}
DEFAULT_DITHER = "blue64"


def get_dither(name: str) -> Dither:
    try:
        return DITHERS[name]
    except KeyError:
        raise OptionError(f"unknown dither {name!r}; choose from {', '.join(DITHERS)}") from None


def tiled(tile: np.ndarray, h: int, w: int) -> np.ndarray:
    """The tile repeated to (h, w), anchored at pixel (0, 0)."""
    th, tw = tile.shape
    return np.tile(tile, (-(-h // th), -(-w // tw)))[:h, :w]


def quantize(encoded, bits: int = 8, dither: str = DEFAULT_DITHER) -> np.ndarray:
    """Encoded signal in [0, 1], (H, W[, C]) -> codes ``floor(v (2^bits - 1) + 0.5 + d)``, clipped.

    ``d`` is the dither threshold of the pixel (the same for all channels of a pixel, so
    neutrals stay neutral). Returns uint8 for bits <= 8, else uint16.
    """
    v = np.asarray(encoded, dtype=np.float32)
    if not 1 <= bits <= 16:
        raise OptionError(f"bits must be 1-16, not {bits}")
    top = float(2**bits - 1)
    d = tiled(get_dither(dither).tile(), v.shape[0], v.shape[1])
    if v.ndim == 3:
        d = d[..., None]
    q = np.floor(np.nan_to_num(v, nan=0.0) * top + 0.5 + d)
    return np.clip(q, 0, top).astype(np.uint8 if bits <= 8 else np.uint16)


__all__.append("tiled")
