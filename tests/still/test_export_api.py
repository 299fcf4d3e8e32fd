"""export_sdr takes RenderParams like the video jobs; its keyword form and the former name
``headroom`` keep working and give the same bytes."""

import pytest

import hdrkit
from hdrkit import OptionError, RenderParams

SRC = "samples/ultrahdr/libultrahdr_minnie_ultrahdr_sys.jpg"


@pytest.fixture(scope="module")
def src():
    from pathlib import Path

    return Path(__file__).resolve().parents[2] / SRC


def test_params_and_keyword_form_give_the_same_bytes(src, tmp_path):
    a, b = tmp_path / "a.jpg", tmp_path / "b.jpg"
    hdrkit.export_sdr(src, a, params=RenderParams(preset="portrait", gamut_map="clip"), display_boost=2.0)
    hdrkit.export_sdr(src, b, preset="portrait", gamut_map="clip", headroom=2.0)
    assert a.read_bytes() == b.read_bytes()


def test_params_and_its_keyword_form_together_are_refused(src, tmp_path):
    with pytest.raises(OptionError, match="not both"):
        hdrkit.export_sdr(src, tmp_path / "a.jpg", params=RenderParams(), curve="pwl")
    with pytest.raises(OptionError, match="not both"):
        hdrkit.export_sdr(src, tmp_path / "a.jpg", display_boost=2.0, headroom=3.0)


def test_render_takes_display_boost_and_its_former_name(src):
    im = hdrkit.read_gainmap(src)
    assert im.render(display_boost=2.0).tobytes() == im.render(headroom=2.0).tobytes() == im.render(2.0).tobytes()
