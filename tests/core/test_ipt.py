"""IPT against colour-science, and its gamut-boundary tables."""

import colour
import numpy as np
import pytest

from hdrkit.core import ipt
from hdrkit.core.ipt import (NEUTRAL, _shipped_boundary, bisect_boundary, chroma_boundary, from_ich, ipt_to_rgb,
                             lookup_boundary, rgb_to_ipt, to_ich)
from hdrkit.core.primaries import rgb_to_xyz_matrix


@pytest.mark.parametrize("primaries", ["bt709", "p3", "bt2020"])
def test_ipt_equals_colour_science_and_inverts(primaries):
    rgb = np.random.default_rng(1).random((2000, 3)) * 3
    want = colour.XYZ_to_IPT(rgb @ rgb_to_xyz_matrix(primaries).T)
    np.testing.assert_allclose(rgb_to_ipt(rgb, primaries), want, atol=1e-12)
    np.testing.assert_allclose(ipt_to_rgb(rgb_to_ipt(rgb, primaries), primaries), rgb, atol=1e-12)


def test_greys_have_no_chroma():
    In, C, _, dP, dT = to_ich(rgb_to_ipt(np.linspace(0, 1, 11)[:, None] * np.ones(3), "bt709"))
    np.testing.assert_allclose(C, 0, atol=1e-12)
    np.testing.assert_allclose(In[-1], 1.0, atol=1e-12)
    np.testing.assert_allclose(from_ich(In, dP, dT)[-1], NEUTRAL, atol=1e-15)


@pytest.mark.parametrize("primaries", ["bt709", "bt2020"])
def test_boundary_lies_on_the_cube_surface(primaries):
    tab = chroma_boundary(primaries)
    I = np.linspace(0.05, 0.95, 19)[:, None]
    h = np.linspace(-np.pi, np.pi, 73)[None, :]
    I, h = np.broadcast_arrays(I, h)
    C = lookup_boundary(tab, I, h)
    for s, inside in ((0.999, True), (1.02, False)):
        rgb = ipt_to_rgb(from_ich(I, s * C * np.cos(h), s * C * np.sin(h)), primaries)
        ok = ((rgb >= -1e-9) & (rgb <= 1 + 1e-9)).all(-1)
        # bilinear reads cut corners at the cusps: a small share may sit off the surface
        assert (ok == inside).mean() > 0.97, (s, (ok == inside).mean())


@pytest.mark.parametrize("primaries", ["bt709", "p3", "bt2020"])
def test_shipped_boundary_tables_are_the_bisection(primaries):
    # stale after an edit to core/ipt.py or core/primaries.py: run scripts/make_boundary_tables.py
    assert _shipped_boundary(primaries) is not None, "hdrkit/data/ipt_boundary.npz is missing or stale"
    assert chroma_boundary(primaries).tobytes() == bisect_boundary(primaries).tobytes()


def test_boundary_of_other_sources_is_computed(monkeypatch):
    monkeypatch.setattr(ipt, "boundary_fingerprint", lambda: "edited")
    assert _shipped_boundary("bt709") is None
    assert _shipped_boundary(rgb_to_xyz_matrix) is None  # not a name
