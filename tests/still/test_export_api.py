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


@pytest.mark.parametrize("subsampling", ["420", "444"])
@pytest.mark.parametrize("progressive", [False, True])
def test_tags_go_where_pillow_writes_them(src, subsampling, progressive):
    """The export encodes its pixels alone and adds the tags after (the Ultra HDR writer makes
    the gain map meanwhile): the same bytes as Pillow writing them all at once."""
    import io

    import numpy as np
    from PIL import Image

    from hdrkit.still.export import _jpeg_bytes, export_jpeg, load_linear, srgb_icc, with_tags
    from hdrkit.still.jpeg import scan_jpeg

    data, _ = export_jpeg(load_linear(src).rgb[:384, :512], "p3", progressive=progressive,
                          subsampling=subsampling)
    with Image.open(io.BytesIO(data)) as im:
        img8 = np.asarray(im.convert("RGB"))
        tags = {"exif": im.info["exif"], "xmp": im.info["xmp"], "icc_profile": im.info["icc_profile"]}
    assert tags["icc_profile"] == srgb_icc() and len(tags["exif"]) > 4096  # EXIF with its thumbnail
    big_icc = bytes(range(256)) * 600  # more than one APP2 chunk
    for kw in (tags, {**tags, "icc_profile": big_icc}, {"xmp": tags["xmp"]}):
        ours = with_tags(_jpeg_bytes(img8, 90, subsampling, progressive), **kw)
        assert ours == _jpeg_bytes(img8, 90, subsampling, progressive, **kw)
    assert [g.name for g in scan_jpeg(data).segments][:5] == ["SOI", "APP0", "APP1", "APP1", "APP2"]
