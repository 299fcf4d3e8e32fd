"""Dither: deterministic, blue (high-frequency) noise, unbiased."""

import subprocess
import sys
from pathlib import Path

import numpy as np

from hdrkit.core.dither import DITHERS, blue_noise_tile, quantize, void_and_cluster

ROOT = Path(__file__).resolve().parents[2]


def test_tile_is_a_permutation_and_regenerates():
    rank = np.load(ROOT / "hdrkit" / "data" / "bluenoise64.npy")
    assert sorted(rank.ravel().tolist()) == list(range(4096))
    np.testing.assert_array_equal(void_and_cluster(64), rank)


def test_tile_is_blue():
    t = blue_noise_tile()
    F = np.abs(np.fft.fft2(t - t.mean())) ** 2
    f = np.fft.fftfreq(64)
    R = np.hypot(f[:, None], f[None, :])
    low = F[(R > 0) & (R < 0.1)].sum() / F.sum()
    white_low = ((R > 0) & (R < 0.1)).mean()
    assert low < 0.1 * white_low  # ten times less low-frequency energy than white noise


def test_quantize_deterministic_and_unbiased():
    ramp = np.tile(np.linspace(0, 1, 1024, dtype=np.float32), (256, 1))
    a = quantize(ramp, 8)
    b = quantize(ramp.copy(), 8)
    assert a.tobytes() == b.tobytes()
    # the mean of dithered codes over a flat area equals the input level
    flat = np.full((128, 128), 100.3 / 255, np.float32)
    assert abs(quantize(flat, 8).mean() - 100.3) < 0.01
    assert quantize(np.full((4, 4), 0.5, np.float32), 10).dtype == np.uint16
    for name in DITHERS:
        q = quantize(ramp, 8, name)
        assert q.min() == 0 and q.max() == 255


def test_script_writes_same_file(tmp_path):
    out = tmp_path / "bn.npy"
    subprocess.run([sys.executable, str(ROOT / "scripts" / "make_bluenoise.py"), "--out", str(out)], check=True)
    np.testing.assert_array_equal(np.load(out), np.load(ROOT / "hdrkit" / "data" / "bluenoise64.npy"))
