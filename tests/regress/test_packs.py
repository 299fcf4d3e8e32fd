"""Parameter packs: shipped packs load, chain to their predecessor, and tag exports as they say."""

import json

import pytest
from PIL import Image

from hdrkit.core.pipeline import RenderParams
from hdrkit.errors import OptionError
from hdrkit.regress.packs import CURRENT_PACK, list_packs, load_pack, pack_from_dict


def test_shipped_packs_load_and_chain():
    names = list_packs()
    assert CURRENT_PACK in names and len(names) >= 2
    cur = load_pack(CURRENT_PACK)
    assert cur.previous in names
    prev = load_pack(cur.previous)
    assert prev.tags() != cur.tags()
    for n in names:
        p = load_pack(n)
        assert p.to_dict()["pack"] == n
        assert pack_from_dict(p.to_dict()).tags() == p.tags()  # round trip through JSON form


def test_current_pack_is_the_library_default():
    """v1 holds exactly what RenderParams() and export_sdr default to, so the gate tests what users get."""
    cur = load_pack(CURRENT_PACK)
    assert cur.params.tags() == RenderParams().tags()
    assert (cur.quality, cur.subsampling) == (90, "auto")


def test_overrides():
    cur = load_pack(CURRENT_PACK)
    p = cur.with_overrides(curve_params={"knee_offset": 1.0}, quality=80)
    assert p.name == f"{CURRENT_PACK}+" and p.quality == 80
    assert "knee_offset=1" in p.tags()["tonemap_v"]
    assert p.overrides == {"curve_params": {"knee_offset": 1.0}, "quality": 80}
    q = cur.with_overrides(curve="pwl", curve_params={"knee_out": 0.4}, gamut_map="clip")
    assert q.tags()["tonemap_v"].startswith("pwl@") and "knee_out=0.4" in q.tags()["tonemap_v"]
    assert q.tags()["gamut_v"].startswith("clip@")
    assert cur.with_overrides() is cur


def test_bad_packs_are_option_errors(tmp_path):
    with pytest.raises(OptionError):
        load_pack("no-such-pack")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"pack": "x", "render": {"curve": "bt2390", "curve_params": {"knee_offset": 9}}}))
    with pytest.raises(OptionError, match="knee_offset"):
        load_pack(bad)
    bad.write_text("{not json")
    with pytest.raises(OptionError, match="JSON"):
        load_pack(bad)
    bad.write_text(json.dumps({"pack": "x", "render": {}, "jpeg": {"quality": 500}}))
    with pytest.raises(OptionError, match="quality"):
        load_pack(bad)


def test_export_records_the_pack_tags(tmp_path):
    import numpy as np

    from hdrkit.still.export import XMP_NS, export_array

    pack = load_pack("v0")
    rgb = np.random.default_rng(0).random((64, 96, 3)).astype(np.float32) * 3
    res = export_array(rgb, "p3", tmp_path / "t.jpg", params=pack.params, quality=pack.quality,
                       subsampling=pack.subsampling)
    with Image.open(tmp_path / "t.jpg") as im:
        xmp = im.info.get("xmp", b"").decode() if isinstance(im.info.get("xmp"), bytes) else im.info.get("xmp", "")
    assert XMP_NS in xmp
    for k in ("tonemap_v", "gamut_v", "dither"):
        assert f'hdrkit:{k}="{pack.tags()[k]}"' in xmp
    assert res.subsampling == "420" and res.quality == 90
