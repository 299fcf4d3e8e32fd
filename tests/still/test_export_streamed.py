"""The row-streamed still export against the float path: the same bytes, whatever the input.

``export_sdr`` renders a large gain-map JPEG row by row from its base and map
(:func:`hdrkit.still.export._export_streamed`: the peak from the sampled pixels alone, then
one pass that rebuilds, renders and box-filters each row) instead of rebuilding the whole
float picture and rendering that (:func:`hdrkit.still.export.export_array`, which video
keyframes use). Every intermediate must be bit for bit the float path's.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pytest

from hdrkit import read_gainmap
from hdrkit.core.kernels import box_mean, render_sdr_fast, render_sdr_rebuilt
from hdrkit.core.pipeline import RenderParams, estimate_peak, peak_sample_step
from hdrkit.core.rebuild import rebuild_sampled
from hdrkit.still import export as ex

from ._uhdr import APPLE, MINNIE, PHOTOSHOP, make

#: Wide enough that the thumbnail starts with a 2x2 box (so export_sdr streams), with an odd
#: height (the last row belongs to no whole box).
LARGE = (2050, 1031)


@lru_cache(maxsize=None)
def large_variant(name: str) -> bytes:
    return make().make_variant(name, *LARGE)


def _float_path(monkeypatch):
    monkeypatch.setattr(ex, "streams_rows", lambda gm, params: False)


@pytest.mark.parametrize("name", list(make().VARIANTS))
def test_export_sdr_streams_large_pictures_with_the_float_paths_bytes(name, tmp_path, monkeypatch):
    data = large_variant(name)
    gm = read_gainmap(data)
    assert ex.streams_rows(gm, RenderParams())
    streamed = ex.export_sdr(data, tmp_path / "s.jpg")
    _float_path(monkeypatch)
    flat = ex.export_sdr(data, tmp_path / "f.jpg")
    assert (tmp_path / "s.jpg").read_bytes() == (tmp_path / "f.jpg").read_bytes()
    assert streamed.src_peak == flat.src_peak and streamed.tags == flat.tags


@pytest.mark.parametrize("kw", [{"display_boost": 2.0}, {"gamut_map": "clip"}, {"gamut_map": "compress"},
                                {"preset": "portrait"}, {"quality": 75, "subsampling": "444", "progressive": True}],
                         ids=str)
def test_streamed_export_options(kw, tmp_path, monkeypatch):
    data = large_variant("uhdr_p3_s1")
    ex.export_sdr(data, tmp_path / "s.jpg", **kw)
    _float_path(monkeypatch)
    ex.export_sdr(data, tmp_path / "f.jpg", **kw)
    assert (tmp_path / "s.jpg").read_bytes() == (tmp_path / "f.jpg").read_bytes()


@pytest.mark.parametrize("src", [MINNIE, PHOTOSHOP, APPLE], ids=lambda p: p.stem)
@pytest.mark.parametrize("boost", [None, 2.0])
def test_streamed_export_of_real_files_equals_export_array(src, boost):
    """Small real files (the export itself keeps them on the float path): the thumbnail is then the
    picture itself or a Lanczos of it, taken from a one-pixel box."""
    gm = read_gainmap(src)
    params = RenderParams()
    kw = dict(params=params, quality=90, subsampling="auto", progressive=False, exif=gm.exif, xmp_extra={"k": "v"},
              warnings=["w"])
    data, res = ex._export_streamed(gm, boost, None, **kw)
    flat, flat_res = ex.export_jpeg(gm.render(boost), gm.primaries, None, **kw)
    assert data == flat
    assert res.tags == flat_res.tags and res.src_peak == flat_res.src_peak


@pytest.mark.parametrize("src", [MINNIE, PHOTOSHOP, APPLE, "uhdr_bt2100_s4", "asm_gray_nonint_scale_le",
                                 "asm_rgb_s2_gamma_offsets", "asm_gray_aspect_mismatch"], ids=str)
def test_rebuilt_render_and_box_equal_the_float_pictures(src):
    gm = read_gainmap(make().make_variant(src, 301, 203) if isinstance(src, str) else src)
    inputs = gm.map_inputs(1.7)
    hdr = gm.render(1.7)
    for params in (RenderParams(), RenderParams(gamut_map="clip")):
        peak = estimate_peak(hdr)
        ref = render_sdr_fast(hdr, gm.primaries, params, peak, rgbx=True)
        for k in (1, 2, 3, 7):
            codes, box = render_sdr_rebuilt(inputs, gm.primaries, params, peak, k, rgbx=True)
            assert np.array_equal(codes, ref)
            assert np.array_equal(box, box_mean(hdr, k))


def test_render_kernels_do_not_depend_on_the_thread_count():
    """The render kernels deal bands of rows round-robin to one lane per thread
    (``hdrkit.core.kernels._lanes``): one lane (its box sums carried from band to band) and one
    per core give the same codes, display light and block means, those of the float picture."""
    import numba

    from hdrkit.core.kernels import render_linear_fast

    if numba.config.NUMBA_NUM_THREADS < 2:
        pytest.skip("one core: a single lane either way")
    gm = read_gainmap(make().make_variant("uhdr_p3_s1", 301, 203))  # 38 bands of 8 rows, the last one short
    inputs = gm.map_inputs()
    hdr = gm.render()
    peak = estimate_peak(hdr)
    params = RenderParams()

    def renders(threads):
        before = numba.get_num_threads()
        numba.set_num_threads(threads)
        try:
            return [render_sdr_fast(hdr, gm.primaries, params, peak, rgbx=True),
                    render_linear_fast(hdr, gm.primaries, params, peak),
                    *render_sdr_rebuilt(inputs, gm.primaries, params, peak, 3, rgbx=True)]
        finally:
            numba.set_num_threads(before)

    one, every = renders(1), renders(numba.config.NUMBA_NUM_THREADS)
    assert all(np.array_equal(a, b) for a, b in zip(one, every))
    assert np.array_equal(one[3], box_mean(hdr, 3))


@pytest.mark.parametrize("src", [MINNIE, APPLE, "asm_gray_nonint_scale_le", "asm_gray_aspect_mismatch"], ids=str)
def test_sampled_rebuild_gives_estimate_peaks_value(src):
    gm = read_gainmap(make().make_variant(src, 333, 251) if isinstance(src, str) else src)
    inputs = gm.map_inputs()
    hdr = gm.render()
    for step in (1, 2, 3, 5):
        sample = rebuild_sampled(inputs, step)
        assert np.array_equal(sample, hdr[::step, ::step])
    h, w = hdr.shape[:2]
    for max_samples in (1 << 20, 5000, 777):
        sample = rebuild_sampled(inputs, peak_sample_step(h, w, max_samples))
        assert estimate_peak(sample, max_samples=sample.shape[0] * sample.shape[1]) == \
            estimate_peak(hdr, max_samples=max_samples)


def test_small_pictures_and_fallbacks_keep_the_float_path():
    assert not ex.streams_rows(read_gainmap(MINNIE), RenderParams())
    gm = read_gainmap(large_variant("uhdr_p3_s1"))
    assert ex.streams_rows(gm, RenderParams())
    gm.gainmap = None  # an SDR base fallback has no map to stream
    assert not ex.streams_rows(gm, RenderParams())
