"""Safe XMP parsing, hdrgm attribute and rdf:Seq forms, GContainer, Apple."""

import re

import pytest

from hdrkit.errors import LimitError, MetadataError
from hdrkit.still.jpeg import scan_jpeg
from hdrkit.still.xmp import (XmpRefusedError, extended_xmp_guid, parse_xmp, read_apple, read_container,
                              read_hdrgm)

from ._uhdr import APPLE, PHOTOSHOP, TRUNCATED, make

HEAD = ('<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">'
        '<rdf:Description rdf:about="" xmlns:hdrgm="http://ns.adobe.com/hdr-gain-map/1.0/" ')
TAIL = "</rdf:Description></rdf:RDF></x:xmpmeta>"


def _gainmap_xmp(path):
    data = path.read_bytes()
    p = scan_jpeg(data)
    return scan_jpeg(data, p.end).xmp


@pytest.mark.parametrize("doc", [
    '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa">]><x>&a;</x>',
    '<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><lolz>&lol2;</lolz>',
    '<!doctype x SYSTEM "http://example.invalid/x.dtd"><x/>',
    '<x><!ENTITY e SYSTEM "file:///etc/passwd"></x>',
])
def test_declarations_are_refused_before_parsing(doc):
    with pytest.raises(XmpRefusedError):
        parse_xmp(doc.encode())


def test_limits():
    with pytest.raises(LimitError):
        parse_xmp(b"<x>" + b" " * 2000 + b"</x>", max_bytes=1000)
    many_attrs = "<x " + " ".join(f'a{i}="{i}"' for i in range(5000)) + "/>"
    with pytest.raises(LimitError, match="attributes"):
        parse_xmp(many_attrs)
    with pytest.raises(LimitError, match="elements"):
        parse_xmp("<x>" + "<y/>" * 5000 + "</x>", max_elements=1000)


def test_malformed_is_a_metadata_error():
    with pytest.raises(MetadataError):
        parse_xmp(b"<x><y></x>")
    with pytest.raises(MetadataError):
        parse_xmp(b"")


def test_attribute_form():
    root = parse_xmp(HEAD + 'hdrgm:Version="1.0" hdrgm:GainMapMax="2.5" hdrgm:HDRCapacityMax="2.5">' + TAIL)
    h = read_hdrgm(root)
    assert h.version == "1.0" and h.values == {"GainMapMax": (2.5,), "HDRCapacityMax": (2.5,)}
    assert h.forms["GainMapMax"] == "attribute"


def test_element_and_seq_forms():
    doc = (HEAD + 'hdrgm:Version="1.0"><hdrgm:GainMapMax><rdf:Seq><rdf:li>1</rdf:li><rdf:li>2</rdf:li>'
           '<rdf:li>3</rdf:li></rdf:Seq></hdrgm:GainMapMax><hdrgm:Gamma>1.5</hdrgm:Gamma>' + TAIL)
    h = read_hdrgm(parse_xmp(doc))
    assert h.values["GainMapMax"] == (1.0, 2.0, 3.0) and h.forms["GainMapMax"] == "seq"
    assert h.values["Gamma"] == (1.5,) and h.forms["Gamma"] == "element"


@pytest.mark.parametrize("body", [
    '><hdrgm:GainMapMax><rdf:Seq><rdf:li>1</rdf:li><rdf:li>2</rdf:li></rdf:Seq></hdrgm:GainMapMax>',
    ' hdrgm:GainMapMax="lots">',
    ' hdrgm:BaseRenditionIsHDR="maybe">',
])
def test_bad_values(body):
    with pytest.raises(MetadataError):
        read_hdrgm(parse_xmp(HEAD + 'hdrgm:Version="1.0"' + body + TAIL))


def test_photoshop_seq_values_equal_the_xmp_text():
    raw = _gainmap_xmp(PHOTOSHOP)
    h = read_hdrgm(parse_xmp(raw))
    text = raw.decode()
    for name in ("GainMapMin", "GainMapMax", "Gamma"):
        block = re.search(rf"<hdrgm:{name}>(.*?)</hdrgm:{name}>", text, re.S).group(1)
        expected = tuple(float(v) for v in re.findall(r"<rdf:li>([^<]+)</rdf:li>", block))
        assert len(expected) == 3 and h.values[name] == expected
    assert h.values["HDRCapacityMax"] == (float(re.search(r'hdrgm:HDRCapacityMax="([^"]+)"', text).group(1)),)
    assert h.base_rendition_is_hdr is False


def test_gcontainer_directory_and_extended_guid():
    data = TRUNCATED.read_bytes()
    root = parse_xmp(scan_jpeg(data).xmp)
    items = read_container(root)
    assert [(i.semantic, i.mime, i.length) for i in items] == [("Primary", "image/jpeg", None),
                                                              ("GainMap", "image/jpeg", 7817)]
    assert extended_xmp_guid(root) == "18AC0B6D96A83A7066059E016278C9C8"


def test_apple_gainmap_xmp():
    a = read_apple(parse_xmp(_gainmap_xmp(APPLE)))
    assert (a.version, a.headroom, a.auxiliary_type) == (131072, 4.532783, "urn:com:apple:photo:2020:aux:hdrgainmap")


def test_generator_xmp_round_trips():
    doc = make().hdrgm_xmp((-1, -0.5, -1.5), (3, 2.5, 3.2), gamma=1.2, seq=True)
    h = read_hdrgm(parse_xmp(doc))
    assert h.values["GainMapMin"] == (-1.0, -0.5, -1.5) and h.values["Gamma"] == (1.2,)


@pytest.mark.parametrize("enc", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"])
def test_other_encodings_are_decoded_before_the_declaration_check(enc):
    evil = '<?xml version="1.0" encoding="%s"?><!DOCTYPE x [<!ENTITY e "E">]><x>&e;</x>' % enc.upper()
    with pytest.raises(XmpRefusedError):
        parse_xmp(evil.encode(enc))
    ok = HEAD.replace("<x:xmpmeta", '<?xml version="1.0" encoding="%s"?><x:xmpmeta' % enc.upper()) + \
        'hdrgm:Version="1.0" hdrgm:GainMapMax="1.5" hdrgm:HDRCapacityMax="1.5">' + TAIL
    assert read_hdrgm(parse_xmp(ok.encode(enc))).values["GainMapMax"] == (1.5,)
    with pytest.raises(MetadataError):
        parse_xmp(b"\xff\xfe<\x00x\x00\x00\xd8")  # UTF-16 with a lone surrogate


def test_attribute_text_is_what_the_standard_library_writes():
    """``attr_text`` (the XMP writers' escape, without ``xml.sax.saxutils`` and its import of
    ``urllib.request``) is ``quoteattr``'s text between double quotes, for any value."""
    from xml.sax.saxutils import escape, quoteattr

    from hdrkit.still.xmp import _attr, attr_text

    values = ["a & b < c > d 'f'", "&amp;", "plain", 2.5, "<x/>", "tab\tline\nreturn\r", "\u00e9\u2603", 'q"uote']
    entities = {'"': "&quot;", "\n": "&#10;", "\r": "&#13;", "\t": "&#9;"}
    for v in values:
        assert attr_text(v) == escape(str(v), entities)
        if '"' not in str(v):  # quoteattr picks single quotes around a double quote
            assert _attr(str(v)) == quoteattr(str(v))
