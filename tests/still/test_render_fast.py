"""The fused numba kernel against the numpy reference, the tables, and the 12 MP speed target.

Tolerance: fast == reference exactly (same float64 arithmetic in the same order); the
test allows 1e-6 absolute to survive compiler contraction differences.
"""


import colour
import numpy as np
import pytest

from hdrkit import read_gainmap
from hdrkit.core.gainmap import (display_weight, jfif_ycc_to_rgb, rebuild_reference, resize_map, shepard_tables,
                                 srgb_decode_lut)
from hdrkit.core.rebuild import rebuild_fast
from hdrkit.still.decode import BasePlanes
from hdrkit.still.gainmap import GainMapMetadata

from ._uhdr import APPLE, MINNIE, PHOTOSHOP, make, variant


@pytest.mark.parametrize("src", [MINNIE, PHOTOSHOP, APPLE] + list(make().VARIANTS), ids=str)
@pytest.mark.parametrize("headroom", [None, 1.0, 2.5])
def test_fast_equals_reference(src, headroom):
    im = read_gainmap(variant(src) if isinstance(src, str) else src)
    for clamp in (True, False):
        a = im.render(headroom, clamp=clamp, method="reference")
        b = im.render(headroom, clamp=clamp, method="fast")
        assert a.dtype == b.dtype == np.float32
        np.testing.assert_array_equal(b, a)  # the same float64 arithmetic in the same order


def _random_case(rng, gray, factors, map_shape, channels):
    h, w = 37, 53
    y = rng.integers(0, 256, (h, w), np.uint8)
    cb = cr = None
    if not gray:
        ch, cw = -(-h // factors[1]), -(-w // factors[0])
        cb, cr = rng.integers(0, 256, (2, ch, cw), np.uint8)
    base = BasePlanes(y, cb, cr, factors)
    gm = rng.integers(0, 256, map_shape + ((channels,) if channels == 3 else ()), np.uint8)
    meta = GainMapMetadata((0.5, 0.7, 0.9), (4.0, 5.0, 6.0), (1.0, 2.2, 0.7), (0.01, 0.0, 0.02), (0.0, 0.03, 0.01),
                           1.0, 6.0)
    return base, gm, meta


@pytest.mark.parametrize("gray,factors", [(True, (1, 1)), (False, (1, 1)), (False, (2, 2)), (False, (2, 1))])
@pytest.mark.parametrize("map_shape", [(37, 53), (10, 14), (15, 21), (9, 9)], ids=["s1", "s4", "nonint", "aspect"])
@pytest.mark.parametrize("channels", [1, 3])
def test_fast_equals_reference_on_random_planes(gray, factors, map_shape, channels):
    rng = np.random.default_rng(hash((gray, factors, map_shape, channels)) % 2 ** 32)
    base, gm, meta = _random_case(rng, gray, factors, map_shape, channels)
    mat = np.array([[0.8, 0.15, 0.05], [0.05, 0.9, 0.05], [0.0, 0.1, 0.9]])
    for hr in (None, 3.0):
        a = rebuild_reference(base, gm, meta, display_boost=hr, sdr_to_gain=mat, clamp=False)
        b = rebuild_fast(base, gm, meta, display_boost=hr, sdr_to_gain=mat, clamp=False)
        np.testing.assert_array_equal(b, a)  # the same float64 arithmetic in the same order
    np.testing.assert_array_equal(rebuild_fast(base, None), rebuild_reference(base, None))


@pytest.mark.parametrize("factors", [(1, 1), (2, 2)])
def test_planes_interleaved_in_one_buffer_rebuild_as_separate_planes(factors):
    """Planes that are channels of one (H, W, n) buffer (libjpeg's output) are read in place, not
    copied, and give the same picture as the same samples in planes of their own."""
    from hdrkit.core.rebuild import map_inputs

    rng = np.random.default_rng(5)
    base, gm, meta = _random_case(rng, False, factors, (10, 14), 3)
    chroma = np.zeros((*base.cb.shape, 4), np.uint8)  # the decoder's layout: three bands and padding
    chroma[..., 1], chroma[..., 2] = base.cb, base.cr
    if factors == (1, 1):
        chroma[..., 0] = base.y
        views = BasePlanes(chroma[..., 0], chroma[..., 1], chroma[..., 2], factors)
    else:
        views = BasePlanes(base.y, chroma[..., 1], chroma[..., 2], factors)
    planes = map_inputs(views, gm, meta).planes
    assert np.shares_memory(planes.cb, chroma) and np.shares_memory(planes.cr, chroma)
    assert (planes.cbc, planes.crc) == (1, 2) and planes.yc == 0
    assert np.shares_memory(planes.y, chroma) == (factors == (1, 1))
    for hr in (None, 3.0):
        assert np.array_equal(rebuild_fast(views, gm, meta, display_boost=hr),
                              rebuild_fast(base, gm, meta, display_boost=hr))
    assert np.array_equal(rebuild_fast(views, None), rebuild_fast(base, None))


def test_shepard_tables():
    for s in (1, 2, 3, 4, 8):
        t = shepard_tables(s)
        np.testing.assert_allclose(t.sum(-1), 1.0, atol=1e-12)
        assert (t[:, 0] == [1, 0, 0, 0]).all()  # exact hit at the texel
    t = shepard_tables(2)[0, 3]  # offset (1, 1) of 2: all four neighbours at distance sqrt(0.5)
    np.testing.assert_allclose(t, 0.25)


def test_display_weight_is_the_log_ratio():
    m = GainMapMetadata(1.0, 8.0, hdr_capacity_min=2.0, hdr_capacity_max=8.0)
    assert display_weight(m, None) == 1.0
    assert display_weight(m, 8.0) == 1.0 and display_weight(m, 100.0) == 1.0
    assert display_weight(m, 4.0) == pytest.approx(0.5)   # log2 4 halfway between log2 2 and log2 8
    assert display_weight(m, 1.5) == 0.0
    with pytest.raises(Exception):
        display_weight(m, 0.5)


def test_srgb_lut_matches_colour_science():
    lut = srgb_decode_lut()
    np.testing.assert_allclose(lut, colour.models.eotf_sRGB(np.linspace(0, 1, 1024)), atol=1e-12)


def test_jfif_conversion_matches_colour_science_within_one_code():
    rng = np.random.default_rng(3)
    ycc = rng.integers(0, 256, (3, 200, 200), np.uint8)
    ours = jfif_ycc_to_rgb(*ycc).astype(int)
    ref = colour.YCbCr_to_RGB(np.stack(ycc, -1), K=colour.WEIGHTS_YCBCR["ITU-R BT.601"], in_bits=8, in_int=True,
                              in_legal=False, out_bits=8, out_int=True, out_legal=False)
    assert np.abs(ours - np.clip(ref, 0, 255)).max() <= 1


def test_resize_map_keeps_constants_and_size():
    m = np.full((10, 10), 77, np.uint8)
    out = resize_map(m, 40, 30)
    assert out.shape == (30, 40) and (out == 77).all()


def test_fallback_base_is_srgb_decoded_base():
    im = read_gainmap(MINNIE)
    lin = rebuild_fast(im.base, None)
    from hdrkit.core.transfer import eotf_srgb

    approx = eotf_srgb(im.base_rgb() / 255.0)
    assert np.abs(lin - approx).max() < 0.01
