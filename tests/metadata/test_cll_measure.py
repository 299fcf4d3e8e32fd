"""MaxCLL / MaxFALL measured through hdrkit's decode + stats vs an exact computation (CTA-861.3)."""

from __future__ import annotations

import math

import colour
import numpy as np
import pytest

from hdrkit.core.stats import frame_stats
from hdrkit.errors import MetadataError
from hdrkit.metadata.cll import ContentLightLevel, measure_cll
from hdrkit.video.encode import analyze_for_metadata

from .clips import BAR, exact_light_levels, upsample_left_sited
from .conftest import H, W


def test_maxcll_maxfall_within_1pct_of_exact(pq_source):
    src, _, scenes = pq_source
    exact = exact_light_levels(src, (BAR, H - BAR))
    cll_exact = math.ceil(max(e[0] for e in exact))
    fall_exact = math.ceil(max(e[1] for e in exact))
    analysis = analyze_for_metadata(src)
    assert len(analysis.frames) == len(exact) == len(scenes)
    assert all(fs.active == (BAR, H - BAR, 0, W) for fs in analysis.frames)  # letterbox found on every frame
    got = measure_cll(analysis.frames)
    assert abs(got.max_cll - cll_exact) <= 0.01 * cll_exact, (got, cll_exact)
    assert abs(got.max_fall - fall_exact) <= 0.01 * fall_exact, (got, fall_exact)
    # and against the scene as designed (1200 cd/m^2 red patch; before 10-bit quantisation)
    truth_fall = max(s[BAR:H - BAR].max(axis=-1).mean() for s in scenes)
    assert abs(got.max_cll - 1200) <= 0.015 * 1200
    assert abs(got.max_fall - truth_fall) <= 0.01 * truth_fall


def test_raw_mode_matches_bilinear_oracle(pq_source):
    src, _, _ = pq_source
    exact = exact_light_levels(src, (BAR, H - BAR), upsample_left_sited)
    got = measure_cll(analyze_for_metadata(src, cll_mode="raw").frames)
    for v, e in ((got.max_cll, max(x[0] for x in exact)), (got.max_fall, max(x[1] for x in exact))):
        assert abs(v - math.ceil(e)) <= 0.01 * math.ceil(e), (got, exact)


def test_letterbox_excluded_and_linear_average(pq_source):
    _, _, scenes = pq_source
    frames = [frame_stats(s.astype(np.float32)) for s in scenes]
    c = measure_cll(frames)
    active_means = [s[BAR:H - BAR].max(axis=-1).mean() for s in scenes]
    full_means = [s.max(axis=-1).mean() for s in scenes]
    assert c.max_fall == math.ceil(max(active_means))
    assert c.max_fall > math.ceil(max(full_means))  # bars would have pulled it down
    # averaging PQ code values instead of light would be far lower
    pq_mean = max(colour.models.eotf_ST2084(colour.models.eotf_inverse_ST2084(s[BAR:H - BAR].max(axis=-1)).mean())
                  for s in scenes)
    assert pq_mean < 0.9 * c.max_fall
    assert c.max_cll == 1200


def test_options():
    img = np.full((8, 8, 3), 50.0, np.float32)
    img[0, 0] = [3000.0, 0, 0]
    fs = frame_stats(img, (0, 8, 0, 8))
    assert measure_cll([fs]) == ContentLightLevel(3000, math.ceil(fs.mean_nits))
    assert measure_cll([fs], clamp_to=1000).max_cll == 1000
    assert measure_cll([fs], percentile=50).max_cll == 50
    with pytest.raises(MetadataError):
        measure_cll([])
