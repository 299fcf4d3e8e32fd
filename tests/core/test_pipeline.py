"""The fused kernels against the numpy reference, and render properties."""

import numpy as np
import pytest

from hdrkit.core.pipeline import (RenderParams, encode_transfer, estimate_peak, quantize, render_linear,
                                  render_linear_reference, render_sdr)
from hdrkit.errors import OptionError

RNG = np.random.default_rng(3)
IMG = (RNG.random((64, 80, 3)) ** 3 * 6).astype(np.float32)


@pytest.mark.parametrize("gamut_map", ["hue", "perceptual", "compress", "clip"])
@pytest.mark.parametrize("primaries", ["p3", "bt2020", "bt709"])
@pytest.mark.parametrize("curve", ["bt2390", "pwl", "hable", "knee-exp"])
def test_fast_equals_reference(gamut_map, primaries, curve):
    p = RenderParams(curve=curve, gamut_map=gamut_map)
    fast = render_linear(IMG, primaries, p, 6.0)
    ref = render_linear_reference(IMG, primaries, p, 6.0)
    np.testing.assert_allclose(fast, ref, atol=3e-4)  # tone table interpolation
    codes_ref = quantize(encode_transfer(ref), 8, p.dither)
    codes_fast = render_sdr(IMG, primaries, p, 6.0)
    d = np.abs(codes_fast.astype(int) - codes_ref)
    assert d.max() <= 1 and (d > 0).mean() < 0.01


def test_bt1886_and_16_bit():
    p = RenderParams()
    ref = render_linear_reference(IMG, "bt2020", p, 6.0)
    q = render_sdr(IMG, "bt2020", p, 6.0, transfer="bt1886", bits=10)
    assert q.dtype == np.uint16 and q.max() <= 1023
    d = np.abs(q.astype(int) - quantize(encode_transfer(ref, "bt1886"), 10, p.dither))
    assert d.max() <= 1


def test_deterministic_and_nan_safe():
    img = IMG.copy()
    img[0, 0] = [np.nan, np.inf, -1]
    a = render_sdr(img, "p3", RenderParams(), 6.0)
    b = render_sdr(img, "p3", RenderParams(), 6.0)
    assert a.tobytes() == b.tobytes()
    assert a[0, 0].tolist() == [0, 0, 0]


def test_params_validation_and_tags():
    with pytest.raises(OptionError):
        RenderParams(curve="nope")
    with pytest.raises(OptionError):
        RenderParams(target_headroom=0.5)
    with pytest.raises(OptionError):
        RenderParams(gamut_map="perceptual", gamut_params={"knee": 3})
    t = RenderParams(preset="portrait").tags()
    assert t["tonemap_v"].startswith("pwl@1(") and "preset=portrait" in t["tonemap_v"]
    assert t["gamut_v"].startswith("hue@1(")


def test_estimate_peak():
    img = np.ones((100, 100, 3), np.float32)
    img[50, 50] = 100.0  # one hot pixel is ignored
    assert estimate_peak(img) == pytest.approx(1.0)
    img[:30] = 4.0
    assert estimate_peak(img) == pytest.approx(4.0)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("bad", [0, 1, 500])
def test_estimate_peak_is_the_order_statistic_of_the_finite_maxima(dtype, bad):
    rng = np.random.default_rng(bad)
    img = (rng.random((300, 200, 3)) * 9.0).astype(dtype)
    flat = img.reshape(-1, 3)
    flat[rng.choice(flat.shape[0], bad, replace=False), rng.integers(0, 3, bad)] = rng.choice(
        [np.nan, np.inf, -np.inf], bad)
    m = np.sort(np.max(img, axis=-1).astype(np.float64).ravel())
    m = m[np.isfinite(m)]
    k = int(np.floor(0.9999 * (m.size - 1)))
    assert estimate_peak(img) == max(m[k], 1.0)


def test_reference_white_and_peak():
    grey = np.full((4, 4, 3), 0.18, np.float32)
    out = render_linear(grey, "bt2020", RenderParams(), 4.93)
    np.testing.assert_allclose(out, 0.18, rtol=1e-3)  # BT.2390: mid-grey below the knee
    peak = np.full((4, 4, 3), 4.93, np.float32)
    np.testing.assert_allclose(render_linear(peak, "bt2020", RenderParams(), 4.93), 1.0, rtol=1e-4)


def test_a_registered_gamut_map_without_a_kernel_renders_through_the_reference():
    """Registering a gamut map is the only step needed: the render path runs it exactly."""
    from hdrkit.core import gamut
    from hdrkit.core.kernels import has_kernel

    def _desaturate(rgb, src, dst, peak, amount):  # toy map: pull toward luminance, then clip
        out = gamut._clip(rgb, src, dst, peak)
        y = out @ gamut.luminance_weights(dst)
        return np.clip(y[..., None] + (1 - amount) * (out - y[..., None]), 0, peak)

    gm = gamut.register_gamut_map(gamut.GamutMap("test-desaturate", "toy", "1", _desaturate,
                                                 (gamut.Param("amount", 0.5, 0.0, 1.0, "pull"),)))
    try:
        p = RenderParams(gamut_map="test-desaturate")
        assert not has_kernel(p) and has_kernel(RenderParams())
        want = gm.apply(render_linear_reference(IMG, "p3", RenderParams(gamut_map="clip"), 6.0), "bt709", "bt709",
                        1.0, amount=0.5)
        np.testing.assert_allclose(render_linear(IMG, "p3", p, 6.0), want, atol=1e-6)
        codes = render_sdr(IMG, "p3", p, 6.0)
        assert np.array_equal(codes, quantize(encode_transfer(want), 8, p.dither))
        grey = np.full((4, 4, 3), 0.5, np.float32)
        assert np.ptp(render_sdr(grey, "p3", p, 6.0)) <= 1  # neutrals stay neutral
    finally:
        del gamut.GAMUT_MAPS["test-desaturate"]


def test_fast_equals_reference_on_saturated_skin_and_neon_pixels():
    """The flagged-pixel path (gamut roll-off, skin guard, neon knee) on pixels chosen to need it."""
    from hdrkit.core.gamut import skin_weight
    from hdrkit.core.primaries import rgb_to_rgb_matrix

    rng = np.random.default_rng(11)
    # BT.709 colours of every hue pushed past the BT.709 gamut in BT.2020 (saturation > 1), bright and dim
    base = rng.random((20000, 3))
    grey = base.mean(axis=1, keepdims=True)
    v709 = grey + (base - grey) * rng.uniform(1.0, 3.0, (20000, 1))
    v2020 = v709 @ rgb_to_rgb_matrix("bt709", "bt2020").T
    img = (np.clip(v2020, 0, None) * rng.uniform(0.05, 8.0, (20000, 1))).astype(np.float32).reshape(100, 200, 3)
    w = skin_weight(img @ rgb_to_rgb_matrix("bt2020", "bt709").T.astype(np.float32), "bt709")
    assert ((w > 0) & (w < 1)).mean() > 0.005 and (w == 1).mean() > 0.005  # feathered and full skin pixels
    for gm in ("hue", "perceptual", "compress"):
        p = RenderParams(gamut_map=gm)
        fast = render_linear(img, "bt2020", p, 8.0)
        ref = render_linear_reference(img, "bt2020", p, 8.0)
        np.testing.assert_allclose(fast, ref, atol=3e-4)
        # near black a pure power law magnifies the tone-table tolerance: still well under an 8-bit code
        np.testing.assert_allclose(encode_transfer(fast, "bt1886"), encode_transfer(ref, "bt1886"), atol=1e-3)
