"""The compiled Lanczos resize against Pillow's, its reference: the same float32 numbers, bit for bit."""

import numpy as np
import pytest
from PIL import Image

from hdrkit.core.resample import lanczos_coefficients, lanczos_resize
from hdrkit.errors import OptionError

RNG = np.random.default_rng(7)


def pillow_lanczos(rgb: np.ndarray, height: int, width: int) -> np.ndarray:
    """Pillow's resize of each channel as a 32-bit float image."""
    return np.stack([np.asarray(Image.fromarray(np.ascontiguousarray(rgb[..., c]), "F")
                                .resize((width, height), Image.Resampling.LANCZOS)) for c in range(3)], -1)


SIZES = [
    ((1000, 1333), (384, 512)),  # the thumbnail of a 12 MP photo after its 3 x 3 box
    ((1001, 1335), (385, 513)),
    ((61, 47), (20, 15)),
    ((100, 100), (100, 37)),  # one pass skipped: Pillow does not run a pass whose size stays
    ((100, 100), (37, 100)),
    ((300, 200), (301, 150)),  # enlarged along one axis
    ((17, 13), (40, 50)),
    ((5, 7), (3, 2)),
    ((1, 9), (1, 4)),
    ((9, 1), (4, 1)),
    ((2, 2), (1, 1)),
    ((3, 4), (3, 4)),  # the same size: a copy
]


@pytest.mark.parametrize("shape,out", SIZES, ids=str)
def test_lanczos_resize_is_pillows(shape, out):
    rgb = (RNG.random((*shape, 3)) ** 3 * 20 - 0.5).astype(np.float32)  # negatives and a long tail
    got = lanczos_resize(rgb, *out)
    assert got.dtype == np.float32 and got.shape == (*out, 3)
    assert np.array_equal(got, pillow_lanczos(rgb, *out))


def test_non_finite_values_spread_as_in_pillow():
    rgb = (RNG.random((64, 80, 3)) * 4).astype(np.float32)
    rgb[10, 10, 0] = np.nan
    rgb[30, 40, 1] = np.inf
    rgb[50, 5, 2] = 3e38
    assert np.array_equal(lanczos_resize(rgb, 25, 31), pillow_lanczos(rgb, 25, 31), equal_nan=True)


def test_input_is_not_modified_and_strided_input_works():
    base = (RNG.random((40, 60, 4)) * 2).astype(np.float32)
    rgb = base[:, :, :3]  # not contiguous
    before = rgb.copy()
    got = lanczos_resize(rgb, 13, 21)
    assert np.array_equal(rgb, before) and not np.shares_memory(got, base)  # a new array: callers clip in place
    assert np.array_equal(got, pillow_lanczos(np.ascontiguousarray(rgb), 13, 21))
    same = lanczos_resize(np.ascontiguousarray(rgb), 40, 60)
    assert np.array_equal(same, rgb) and not np.shares_memory(same, rgb)


@pytest.mark.parametrize("n_in,n_out", [(1333, 512), (100, 37), (17, 40), (9, 4)])
def test_coefficients_sum_to_one_within_the_window(n_in, n_out):
    first, count, weights = lanczos_coefficients(n_in, n_out)
    assert np.allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    assert (first >= 0).all() and (first + count <= n_in).all()
    for xx in range(n_out):
        assert not weights[xx, count[xx]:].any()
    centre = (np.arange(n_out) + 0.5) * n_in / n_out  # the taps surround each output sample's centre
    assert (first <= centre).all() and (centre <= first + count).all()


@pytest.mark.parametrize("bad", [np.zeros((4, 4), np.float32), np.zeros((4, 4, 4), np.float32),
                                 np.zeros((0, 4, 3), np.float32)], ids=["2d", "4ch", "empty"])
def test_bad_shapes_raise_option_error(bad):
    with pytest.raises(OptionError):
        lanczos_resize(bad, 2, 2)


def test_bad_output_size_raises_option_error():
    with pytest.raises(OptionError):
        lanczos_resize(np.zeros((4, 4, 3), np.float32), 0, 2)
