"""Banding and halo scores respond to constructed artefacts, not to noise, texture or clean edges."""

import io

import numpy as np
import pytest
from PIL import Image, ImageFilter

from hdrkit.core.dither import quantize
from hdrkit.metrics.artifacts import banding_score, halo_score, smooth_mask

RNG = np.random.default_rng(42)
H, W = 192, 384


def _gradient(lo, hi, radial=False):
    if radial:
        yy, xx = np.mgrid[0:H, 0:W]
        t = np.hypot(yy - H / 2, xx - W / 2) / np.hypot(H / 2, W / 2)
    else:
        t = np.linspace(0, 1, W)[None, :] * np.ones((H, 1))
    return (lo + (hi - lo) * t)[..., None] * np.array([1.0, 0.9, 0.7])


def _bits(ref, bits):
    top = 2**bits - 1
    return np.round(np.round(ref * top) * 255 / top).astype(np.uint8)


def _jpeg(a8, q):
    buf = io.BytesIO()
    Image.fromarray(a8).save(buf, "JPEG", quality=q, subsampling=2)
    return np.asarray(Image.open(io.BytesIO(buf.getvalue())).convert("RGB"))


GRADIENTS = [(0.3, 0.4, False), (0.05, 0.1, True), (0.6, 0.64, False)]


@pytest.mark.parametrize("lo,hi,radial", GRADIENTS)
def test_banding_clean_vs_6bit_vs_noisy(lo, hi, radial):
    ref = _gradient(lo, hi, radial)
    clean_round = _bits(ref, 8)
    clean_dither = quantize(ref, 8, "blue64")
    six = _bits(ref, 6)
    noisy = np.clip(np.round(ref * 255 + RNG.normal(0, 1.5, ref.shape)), 0, 255).astype(np.uint8)
    assert banding_score(clean_round, ref) == 0.0
    assert banding_score(clean_dither, ref) == 0.0
    assert banding_score(noisy, ref) < 0.01  # noise breaks plateaus: not banding
    assert banding_score(six, ref) > 0.6


def test_banding_ignores_a_source_that_is_noisy_or_has_edges():
    ref = np.clip(_gradient(0.3, 0.4) + RNG.normal(0, 2 / 255, (H, W, 3)), 0, 1)
    assert smooth_mask(ref).mean() < 0.01
    assert banding_score(_bits(ref, 6), ref) == 0.0  # not smooth in the source: never counted
    blocks = np.zeros((H, W, 3))
    blocks[:, W // 2:] = 0.8  # two flat areas and one real edge
    blocks[: H // 2] += 0.1
    assert banding_score(_bits(blocks, 6), blocks) == 0.0


@pytest.mark.parametrize("lo,hi,radial", GRADIENTS)
def test_banding_counts_heavy_jpeg_blocking(lo, hi, radial):
    ref = _gradient(lo, hi, radial)
    q = quantize(ref, 8, "blue64")
    assert banding_score(_jpeg(q, 95), ref) < 0.1
    assert banding_score(_jpeg(q, 40), ref) > 0.5


def test_seed_sketch_scores_noise_above_banding():
    """Seed 002 §6.5's mean |second difference| cannot be a banding score: noise beats 6-bit bands."""
    def sketch(img):
        g = img.astype(float).mean(-1)
        return np.abs(np.diff(g, 2, axis=1)).mean() + np.abs(np.diff(g, 2, axis=0)).mean()

    ref = _gradient(0.3, 0.4)
    noisy = np.clip(np.round(ref * 255 + RNG.normal(0, 1.5, ref.shape)), 0, 255).astype(np.uint8)
    six = _bits(ref, 6)
    assert sketch(noisy) > sketch(six)
    assert banding_score(noisy, ref) < banding_score(six, ref)


def _disc():
    yy, xx = np.mgrid[0:H, 0:W]
    d = np.hypot(yy - H / 2, xx - W / 2)
    ref = np.where(d < 40, 0.95, 0.2)[..., None] * np.ones(3)
    return ref, d - 40


def test_halo_sharp_edge_vs_ring():
    ref, dist = _disc()
    sharp = np.round(ref * 255).astype(np.uint8)
    ring = -0.12 * np.exp(-np.abs(dist) / 2.0) * np.sign(dist) * (0.95 - 0.2)  # over/undershoot at the edge
    ringed = np.round(np.clip(ref + ring[..., None], 0, 1) * 255).astype(np.uint8)
    assert halo_score(sharp, ref) == 0.0
    assert halo_score(ringed, ref) > 0.04


def test_halo_ignores_blur_and_noise_and_catches_sharpening():
    ref, _ = _disc()
    sharp = Image.fromarray(np.round(ref * 255).astype(np.uint8))
    blurred = np.asarray(sharp.filter(ImageFilter.GaussianBlur(2)))
    noisy = np.clip(np.round(ref * 255 + RNG.normal(0, 1.5, ref.shape)), 0, 255).astype(np.uint8)
    usm = np.asarray(sharp.filter(ImageFilter.UnsharpMask(3, 150, 0)))
    lanczos = np.asarray(sharp.resize((W // 3, H // 3), Image.Resampling.LANCZOS).resize((W, H), Image.Resampling.LANCZOS))
    assert halo_score(blurred, ref) == 0.0
    assert halo_score(noisy, ref) == 0.0
    assert halo_score(usm, ref) > 0.1
    assert halo_score(lanczos, ref) > 0.03
    assert halo_score(_jpeg(np.asarray(sharp), 90), ref) < 0.01


def test_scores_without_structure_are_zero():
    flat = np.full((32, 32, 3), 0.5)
    assert banding_score(flat, flat) == 0.0
    assert halo_score(flat, flat) == 0.0
    with pytest.raises(ValueError):
        banding_score(flat, flat[:16])
