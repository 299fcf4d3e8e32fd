"""Per-frame render kernels: measurement vs its numpy reference, LUT path vs the exact core
path, and the 8-bit BT.709 output against colour-science's BT.1886 and Y'CbCr."""

from __future__ import annotations

import colour
import numpy as np
import pytest

from hdrkit.core.pipeline import RenderParams, render_linear
from hdrkit.errors import OptionError
from hdrkit.video.analysis import frame_measure, measure_linear
from hdrkit.video.decode import VideoReader
from hdrkit.video.lut3d import bake_lut
from hdrkit.video.render import (HIST_BINS, measure_planes, measure_step, render_lut_yuv420, sample_linear,
                                 yuv420_from_display)


@pytest.mark.parametrize("name", ["pq", "hlg", "phone"])
def test_measurement_matches_numpy_reference(name, clips, phone):
    path = phone if name == "phone" else clips[name]
    with VideoReader(path) as r:
        f = next(r.frames())
        lin = r.to_linear(f)
        m = measure_planes(f.y, f.u, f.v, r.colour)
        step = measure_step(*f.y.shape)
    ours = frame_measure(m)
    ref = measure_linear(lin, step)
    assert m.total == lin[::step, ::step].shape[0] * lin[::step, ::step].shape[1]
    assert abs(ours.peak_pq - ref.peak_pq) <= 1.0 / HIST_BINS + 1e-12  # one bin (table vs exact PQ at a bin edge)
    assert abs(ours.avg_pq - ref.avg_pq) < 1e-4
    assert abs(ours.active - ref.active) < 1e-3


def test_fused_render_and_sampling_measure_the_same(clips):
    with VideoReader(clips["hlg"]) as r:
        f = next(r.frames())
        cube = bake_lut("hlg", RenderParams(), 4.93, 17)
        _, m1 = render_lut_yuv420(f.y, f.u, f.v, r.colour, cube)
        m2 = measure_planes(f.y, f.u, f.v, r.colour)
        lin, m3 = sample_linear(f.y, f.u, f.v, r.colour, 4)
        full = r.to_linear(f)
    assert np.array_equal(m1.hist, m2.hist) and np.array_equal(m2.hist, m3.hist)
    assert m1.active_sum == pytest.approx(m2.active_sum, rel=1e-12)
    np.testing.assert_array_equal(lin, full[::4, ::4])


@pytest.mark.parametrize("name", ["pq", "phone"])
def test_lut_path_matches_exact_core_path(name, clips, phone):
    """The fast path (LUT baked from the core) and the core on every pixel give the same SDR codes."""
    path = phone if name == "phone" else clips[name]
    params = RenderParams()
    with VideoReader(path) as r:
        f = next(r.frames())
        lin = r.to_linear(f)
        (y1, u1, v1), _ = render_lut_yuv420(f.y, f.u, f.v, r.colour, bake_lut(r.colour.transfer, params, 5.0, 33))
    y2, u2, v2 = yuv420_from_display(render_linear(lin, "bt2020", params, 5.0))
    dy = y1.astype(int) - y2
    # a 33^3 LUT reads the shoulder's corner at the peak and the hue map's boundary bends a little
    # low: measured mean -0.16 codes (-0.04 with the constant-Y map and the curve as is)
    assert abs(dy.mean()) < 0.2
    assert np.percentile(np.abs(dy), 99) <= 3
    for a, b in ((u1, u2), (v1, v2)):
        d = np.abs(a.astype(int) - b)
        assert d.mean() < 0.5 and np.percentile(d, 99) <= 4


def test_output_codes_against_colour_science():
    """Flat display-linear greys and primaries -> BT.1886 -> BT.709 Y'CbCr limited 8-bit, as colour-science says."""
    vals = [(0.0, 0.0, 0.0), (0.18, 0.18, 0.18), (1.0, 1.0, 1.0), (0.5, 0.1, 0.05), (0.0, 0.0, 1.0)]
    for rgb in vals:
        img = np.broadcast_to(np.array(rgb, np.float32), (64, 64, 3))
        y, u, v = yuv420_from_display(img, dither="none")
        enc = colour.models.eotf_inverse_BT1886(np.array(rgb))
        ycc = 255 * colour.RGB_to_YCbCr(enc, K=colour.WEIGHTS_YCBCR["ITU-R BT.709"], in_legal=False, in_int=False,
                                        out_bits=8, out_legal=True, out_int=False)  # float output: code / 255
        for plane, want in ((y, ycc[0]), (u, ycc[1]), (v, ycc[2])):
            assert np.all(np.abs(plane.astype(float) - want) <= 0.5 + 1e-6), (rgb, plane.mean(), want)
    # blue-noise dither: a level half-way between two codes averages to it
    level = float(colour.models.eotf_BT1886((100.5 - 16) / 219))
    y, _, _ = yuv420_from_display(np.full((128, 128, 3), level, np.float32))
    assert abs(y.mean() - 100.5) < 0.02 and set(np.unique(y)) == {100, 101}


def test_odd_sizes_are_cropped_to_even():
    img = np.full((37, 51, 3), 0.5, np.float32)
    y, u, v = yuv420_from_display(img)
    assert y.shape == (36, 50) and u.shape == (18, 25) == v.shape


def test_sample_linear_writes_into_a_given_buffer(clips):
    with VideoReader(clips["hlg"]) as r:
        f = next(r.frames())
        lin, m = sample_linear(f.y, f.u, f.v, r.colour, 4)
        buf = np.full_like(lin, np.nan)
        got, m2 = sample_linear(f.y, f.u, f.v, r.colour, 4, out=buf)
        assert got is buf
        np.testing.assert_array_equal(buf, lin)
        assert np.array_equal(m.hist, m2.hist)
        with pytest.raises(OptionError):
            sample_linear(f.y, f.u, f.v, r.colour, 2, out=buf)  # wrong shape for step 2


@pytest.mark.parametrize("step", [1, 2, 4])
@pytest.mark.parametrize("name", ["pq", "hlg"])
def test_sample_linear_site_chroma_matches_reference(name, step, clips):
    """The light-level frame (each pixel its own chroma site) against the float64 reference;
    the measurement is the bilinear one either way."""
    from hdrkit.core.signal import yuv_to_linear_reference

    with VideoReader(clips[name]) as r:
        f = next(r.frames())
        lin, m = sample_linear(f.y, f.u, f.v, r.colour, step, chroma="site")
        _, m2 = sample_linear(f.y, f.u, f.v, r.colour, step)
        ref = yuv_to_linear_reference(f.y, f.u, f.v, r.colour, chroma="site")[::step, ::step]
    np.testing.assert_allclose(lin, ref, rtol=2e-4, atol=2e-6)
    assert np.array_equal(m.hist, m2.hist) and m.active_sum == pytest.approx(m2.active_sum, rel=1e-12)
