"""Compiled helpers of the export path against their numpy definitions."""

import numpy as np
import pytest

from hdrkit.core.kernels import box_mean, subsampling_stats
from hdrkit.still.export import choose_subsampling, choose_subsampling_reference

RNG = np.random.default_rng(11)


@pytest.mark.parametrize("k", [1, 2, 3, 5])
def test_box_mean_equals_reshape_mean(k):
    img = (RNG.random((61, 47, 3)) ** 2 * 8).astype(np.float32)
    h, w = 61 // k * k, 47 // k * k
    ref = img[:h, :w].astype(np.float64).reshape(h // k, k, w // k, k, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(box_mean(img, k), ref, rtol=1e-6, atol=1e-7)


def _numpy_stats(sdr8, step):
    a = sdr8[::step, ::step].astype(np.float32) / 255.0
    y = a[..., 0] * np.float32(0.2126) + a[..., 1] * np.float32(0.7152) + a[..., 2] * np.float32(0.0722)
    gx = np.abs(np.diff(y, axis=1))[:-1]
    gy = np.abs(np.diff(y, axis=0))[:, :-1]
    mx = a.max(axis=-1)
    sat = np.divide(mx - a.min(axis=-1), mx, out=np.zeros_like(mx), where=mx > 0.2)
    return float(((gx + gy) > 0.1).mean()), float(np.percentile(sat, 99.9))


def _images():
    smooth = np.linspace(0, 255, 300)[None, :, None] * np.ones((200, 1, 3))
    noisy = RNG.integers(0, 256, (200, 300, 3))
    flat_sat = np.zeros((200, 300, 3)) + [240, 10, 10]
    mixed = smooth.copy()
    mixed[:, :1] = [250, 0, 0]  # 200 saturated pixels of 60 000: around the 99.9th percentile
    few_sat = smooth.copy()
    few_sat[:20, :1] = [250, 0, 0]  # 20 pixels: below it
    tie = smooth.copy()
    tie[:60, :1] = [250, 0, 0]  # 60 of 60 000 at step 1: the 99.9th percentile interpolates across 0.95
    return {"tie": tie, "smooth": smooth, "noisy": noisy, "flat_sat": flat_sat, "mixed": mixed, "few_sat": few_sat}


@pytest.mark.parametrize("name", list(_images()))
@pytest.mark.parametrize("step", [1, 2, 3])
def test_subsampling_stats_equal_numpy(name, step):
    img = np.ascontiguousarray(_images()[name], dtype=np.uint8)
    density, saturated = subsampling_stats(img, step)
    ref_density, ref_p999 = _numpy_stats(img, step)
    assert density == pytest.approx(ref_density, abs=2e-5)  # float32 luma: a rounding tie may flip
    assert saturated == (ref_p999 > 0.95)
    assert choose_subsampling(img) == choose_subsampling_reference(img)


def test_rgbx_render_holds_the_same_codes_and_jpeg_bytes():
    """The export's RGBX render: the RGB render's codes plus a fourth byte at 255, the same
    subsampling choice and, through Pillow's RGBX, the same JPEG bytes."""
    from hdrkit.core.kernels import render_sdr_fast
    from hdrkit.core.pipeline import RenderParams
    from hdrkit.still.export import _jpeg_bytes

    hdr = (RNG.random((67, 93, 3)) ** 3 * 12).astype(np.float32)
    hdr[:20, :, 1:] *= 0.05  # saturated: the gamut map's packed path
    rgb = render_sdr_fast(hdr, "p3", RenderParams(), 12.0)
    rgbx = render_sdr_fast(hdr, "p3", RenderParams(), 12.0, rgbx=True)
    assert rgbx.shape == (67, 93, 4)
    np.testing.assert_array_equal(rgbx[..., :3], rgb)
    assert (rgbx[..., 3] == 255).all()
    assert choose_subsampling(rgbx) == choose_subsampling(rgb)
    for sub in ("444", "420"):
        assert _jpeg_bytes(rgbx, 90, sub) == _jpeg_bytes(rgb, 90, sub)


@pytest.mark.parametrize("step", [1, 2, 3])
def test_subsampling_stats_in_chunks_equal_one_pass(step):
    """The statistics run in parallel chunks of rows; counts, minima and maxima combine exactly,
    so they equal one pass over every row (the edges across a chunk boundary counted once)."""
    from hdrkit.core.kernels import BT709_LUMA_WEIGHTS, _subsampling_rows, _subsampling_stats

    img = np.ascontiguousarray(_images()["noisy"][:, :, :], dtype=np.uint8)
    img[50:90, 100:140] = [250, 5, 5]  # saturated patch across chunk boundaries
    args = (img, step, np.array(BT709_LUMA_WEIGHTS, np.float32), np.float32(0.1), np.float32(0.95),
            np.float32(0.2))
    *chunked, h, w = _subsampling_stats(*args)
    assert h == -(-img.shape[0] // step) and h > 16  # more rows than chunks: every chunk has a boundary
    assert tuple(chunked) == _subsampling_rows(*args, 0, h)
