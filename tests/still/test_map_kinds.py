"""The kinds of gain map the kernels are compiled for: every real and generated file is one of them.

numba compiles a kernel once per combination of argument types. The install compiles the
map kernels for the four kinds :func:`hdrkit.core.rebuild.map_input_kinds` makes from the
bundled sample; a file whose inputs type otherwise (another array layout, a read-only array
where the kinds have a writable one) would compile on its first export. This checks the types
directly; ``tests/test_precompile.py`` checks the cache end to end.
"""

from __future__ import annotations

import numba
import numpy as np
import pytest

from hdrkit import read_gainmap
from hdrkit.core.rebuild import map_input_kinds, rebuild_inputs

from ._uhdr import APPLE, MINNIE, PHOTOSHOP, make


def _types(x):
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return tuple((f, _types(getattr(x, f))) for f in x._fields)
    return str(numba.typeof(x))


@pytest.fixture(scope="module")
def kinds():
    gm = read_gainmap(MINNIE)
    return gm, map_input_kinds(gm.map_inputs(None))


def test_four_kinds_of_distinct_types(kinds):
    _, ks = kinds
    assert len({_types(k) for k in ks}) == 4
    assert {type(k.sampling).__name__ for k in ks} == {"ShepardRows", "float"}
    assert sum(k.inv_gamma is None for k in ks) == 2


@pytest.mark.parametrize("src", [MINNIE, PHOTOSHOP, APPLE] + list(make().VARIANTS), ids=str)
@pytest.mark.parametrize("boost", [None, 2.0])
def test_every_file_is_one_of_the_kinds(src, boost, kinds):
    data = src if not isinstance(src, str) else make().make_variant(src, 330, 250)  # 330 / 4: a float scale
    inputs = read_gainmap(data).map_inputs(boost)
    assert _types(inputs) in {_types(k) for k in kinds[1]}


def test_kinds_rebuild_the_same_picture_size(kinds):
    gm, ks = kinds
    for k in ks:
        out = rebuild_inputs(k)
        assert out.shape == (gm.height, gm.width, 3) and np.isfinite(out).all()
