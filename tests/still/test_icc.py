"""ICC gamut recognition: derived colorants against colour-science, real profiles, cicp, bad input."""

import struct

import colour
import numpy as np
import pytest
from PIL import Image

from hdrkit.errors import MetadataError
from hdrkit.still.icc import D50_XYZ, icc_primaries, parse_icc, reference_colorants
from hdrkit.still.jpeg import scan_jpeg

from ._uhdr import APPLE, MINNIE, PHOTOSHOP, variant

COLOUR_NAMES = {"bt709": "ITU-R BT.709", "p3": "Display P3", "bt2020": "ITU-R BT.2020"}


@pytest.mark.parametrize("name", sorted(COLOUR_NAMES))
def test_reference_colorants_agree_with_colour_science(name):
    cs = colour.RGB_COLOURSPACES[COLOUR_NAMES[name]]
    m = colour.adaptation.matrix_chromatic_adaptation_VonKries(
        colour.xy_to_XYZ(cs.whitepoint), np.array(D50_XYZ), transform="Bradford") @ cs.matrix_RGB_to_XYZ
    np.testing.assert_allclose(reference_colorants(name), m.T, atol=2e-4)


@pytest.mark.parametrize("path,expected", [(MINNIE, "bt709"), (PHOTOSHOP, "bt709"), (APPLE, "p3")],
                         ids=lambda x: getattr(x, "name", x))
def test_real_profiles(path, expected):
    icc = Image.open(path).info["icc_profile"]
    info = parse_icc(icc)
    assert info.primaries == expected and icc_primaries(icc) == expected
    assert info.colour_space == "RGB" and info.description


def test_cicp_tag_wins():
    data = MINNIE.read_bytes()
    gm_icc = scan_jpeg(data, scan_jpeg(data).end).icc
    info = parse_icc(gm_icc)
    assert info.cicp == (1, 8, 0, 1) and info.primaries == "bt709"  # BT.709 primaries, linear transfer


def test_bt2100_profile_written_by_libultrahdr():
    data = variant("uhdr_bt2100_s4")
    gm_icc = scan_jpeg(data, scan_jpeg(data).end).icc
    assert icc_primaries(gm_icc) == "bt2020"


def _with_colorants(icc: bytes, rows) -> bytes:
    icc = bytearray(icc)
    (count,) = struct.unpack_from(">I", icc, 128)
    for i in range(count):
        sig, off, _ = struct.unpack_from(">4sII", icc, 132 + 12 * i)
        k = {b"rXYZ": 0, b"gXYZ": 1, b"bXYZ": 2}.get(sig)
        if k is not None:
            icc[off + 8:off + 20] = struct.pack(">iii", *(round(v * 65536) for v in rows[k]))
    return bytes(icc)


def test_colorant_tolerance():
    icc = Image.open(PHOTOSHOP).info["icc_profile"]
    near = reference_colorants("p3") + 0.0005
    assert icc_primaries(_with_colorants(icc, near)) == "p3"
    far = reference_colorants("p3") + 0.003
    assert icc_primaries(_with_colorants(icc, far)) is None


@pytest.mark.parametrize("mutate", [
    lambda b: b[:100],
    lambda b: b[:36] + b"xxxx" + b[40:],
    lambda b: b[:128] + struct.pack(">I", 100000) + b[132:],
    lambda b: b[:140] + struct.pack(">I", 10 ** 7) + b[144:],
])
def test_malformed_profiles(mutate):
    icc = Image.open(APPLE).info["icc_profile"]
    with pytest.raises(MetadataError):
        parse_icc(mutate(icc))


def test_no_profile():
    assert icc_primaries(None) is None and icc_primaries(b"") is None
