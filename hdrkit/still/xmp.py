"""Safe XMP parsing and the gain-map properties stored in it.

:func:`parse_xmp` refuses any DOCTYPE or ENTITY declaration before parsing (no entity
expansion, no external resources, no network), enforces a size limit and limits on the
number of elements and attributes while parsing. It returns an ElementTree element.

Readers on top of it:

- :func:`read_hdrgm`: Adobe gain-map properties (``hdrgm:`` namespace), written either as
  attributes of ``rdf:Description`` or as child elements, the latter holding one value as
  text or one or three values in an ``rdf:Seq`` (Adobe per-channel form).
- :func:`read_container`: the Google GContainer directory (``Container:Directory`` of
  ``Container:Item`` with ``Item:Semantic``, ``Item:Mime``, ``Item:Length``, ``Item:Padding``).
- writers beside the readers: :func:`write_hdrgm` (attribute form, ``rdf:Seq`` for
  per-channel values), :func:`write_container` (GContainer directory),
  :func:`xmp_packet` and :func:`add_descriptions` (wrap or extend a packet).
- :func:`read_apple`: Apple's ``HDRGainMap:HDRGainMapVersion`` / ``HDRGainMapHeadroom`` and
  ``apdi:AuxiliaryImageType``.

References
----------
- ISO 16684-1:2019 (XMP data model and RDF/XML serialisation, §7: attribute and element
  forms of simple properties, rdf:Seq arrays).
- Adobe, "Gain Map Specification" 1.0 draft 15 (Feb 2024), XMP representation
  (namespace ``http://ns.adobe.com/hdr-gain-map/1.0/``).
- Google, "Ultra HDR Image Format" v1.1, §"Container XMP" (GContainer).
- Adobe XMP Specification Part 3 §1.1.3.1 (``xmpNote:HasExtendedXMP``).
"""

from __future__ import annotations

import codecs
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field

from ..errors import LimitError, MetadataError

__all__ = [
    "XmpRefusedError",
    "NS",
    "DEFAULT_MAX_XMP_BYTES",
    "parse_xmp",
    "HdrgmFields",
    "ContainerItem",
    "AppleGainMapXmp",
    "read_hdrgm",
    "read_container",
    "read_apple",
    "extended_xmp_guid",
    "attr_text",
    "write_hdrgm",
    "write_container",
    "xmp_packet",
    "add_descriptions",
]

NS = {
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "x": "adobe:ns:meta/",
    "hdrgm": "http://ns.adobe.com/hdr-gain-map/1.0/",
    "Container": "http://ns.google.com/photos/1.0/container/",
    "Item": "http://ns.google.com/photos/1.0/container/item/",
    "xmpNote": "http://ns.adobe.com/xmp/note/",
    "HDRGainMap": "http://ns.apple.com/HDRGainMap/1.0/",
    "apdi": "http://ns.apple.com/pixeldatainfo/1.0/",
}

#: Largest XMP packet (standard + extended) parse_xmp accepts.
DEFAULT_MAX_XMP_BYTES = 16 << 20
_MAX_ELEMENTS = 200_000
_MAX_ATTRIBUTES = 1_000
_DECLARATION = re.compile(r"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)

#: hdrgm properties that hold numbers (1 or 3 values each).
HDRGM_NUMERIC = ("GainMapMin", "GainMapMax", "Gamma", "OffsetSDR", "OffsetHDR", "HDRCapacityMin", "HDRCapacityMax")


class XmpRefusedError(MetadataError):
    """An XMP packet was refused outright (DOCTYPE or ENTITY declaration)."""


def _q(prefix: str, name: str) -> str:
    return f"{{{NS[prefix]}}}{name}"


# XML 1.0 (5th ed.) Appendix F.1: encoding from a byte-order mark or the first 4 bytes of "<?xm"
_BOMS = ((b"\x00\x00\xfe\xff", "utf-32-be"), (b"\xff\xfe\x00\x00", "utf-32-le"), (b"\xef\xbb\xbf", "utf-8"),
         (b"\xfe\xff", "utf-16-be"), (b"\xff\xfe", "utf-16-le"))
_SNIFF = ((b"\x00\x00\x00<", "utf-32-be"), (b"<\x00\x00\x00", "utf-32-le"), (b"\x00<\x00?", "utf-16-be"),
          (b"<\x00?\x00", "utf-16-le"))
_XML_DECL = re.compile(r"^\s*<\?xml\s[^>]*\?>")
for _enc in {e for _, e in _BOMS + _SNIFF}:
    codecs.lookup(_enc)  # load the codec modules now, not while a packet is parsed (no file access then)


def _to_text(data: bytes | str) -> str:
    """The packet as text: BOM, else XML Appendix F sniffing, else UTF-8 (the XMP default)."""
    if isinstance(data, str):
        return data
    raw = bytes(data)
    enc = next((e for bom, e in _BOMS if raw.startswith(bom)), None)
    if enc is not None:
        raw = raw[len(next(b for b, e in _BOMS if e == enc and raw.startswith(b))):]
    else:
        enc = next((e for sig, e in _SNIFF if raw.startswith(sig)), "utf-8")
    try:
        return raw.decode(enc)
    except UnicodeDecodeError as e:
        raise MetadataError(f"malformed XMP: not valid {enc} text ({e.reason} at byte {e.start})") from e


def parse_xmp(data: bytes | str, *, max_bytes: int = DEFAULT_MAX_XMP_BYTES,
              max_elements: int = _MAX_ELEMENTS, max_attributes: int = _MAX_ATTRIBUTES) -> ET.Element:
    """Parse an XMP packet safely and return its root element.

    The bytes are decoded first (byte-order mark, else XML 1.0 Appendix F sniffing of
    UTF-16/32, else UTF-8), so the declaration check sees every encoding; the text is then
    fed to expat as UTF-8 without its XML declaration.
    Raises :class:`LimitError` past ``max_bytes``, ``max_elements`` or ``max_attributes``
    per element, :class:`XmpRefusedError` for DOCTYPE/ENTITY declarations and
    :class:`MetadataError` for malformed XML.
    """
    size = len(data.encode("utf-8")) if isinstance(data, str) else len(data)
    if size > max_bytes:
        raise LimitError(f"XMP packet of {size} bytes exceeds the {max_bytes}-byte limit")
    text = _to_text(data).rstrip("\x00 \t\r\n")
    if _DECLARATION.search(text):
        raise XmpRefusedError("XMP refused: it contains a DOCTYPE or ENTITY declaration")
    raw = _XML_DECL.sub("", text, count=1).encode("utf-8")
    parser = ET.XMLPullParser(events=("start",))
    root = None
    n = 0
    try:
        for i in range(0, max(len(raw), 1), 1 << 16):
            parser.feed(raw[i:i + (1 << 16)])
            for _event, elem in parser.read_events():
                n += 1
                if root is None:
                    root = elem
                if n > max_elements:
                    raise LimitError(f"XMP has more than {max_elements} elements")
                if len(elem.attrib) > max_attributes:
                    raise LimitError(f"XMP element {elem.tag} has {len(elem.attrib)} attributes (limit {max_attributes})")
        parser.close()
    except (ET.ParseError, ValueError) as e:  # ValueError: expat refusing an encoding, etc.
        raise MetadataError(f"malformed XMP: {e}") from e
    if root is None:
        raise MetadataError("malformed XMP: no elements")
    return root


def _descriptions(root: ET.Element):
    if root.tag == _q("rdf", "Description"):
        yield root
    yield from root.iter(_q("rdf", "Description"))


def _property(desc: ET.Element, prefix: str, name: str) -> tuple[tuple[str, ...], str] | None:
    """(values, form) of one simple or array property; form is 'attribute', 'element' or 'seq'."""
    key = _q(prefix, name)
    if key in desc.attrib:
        return (desc.attrib[key],), "attribute"
    for child in desc:
        if child.tag != key:
            continue
        for container in ("Seq", "Bag", "Alt"):
            arr = child.find(_q("rdf", container))
            if arr is not None:
                return tuple((li.text or "").strip() for li in arr.findall(_q("rdf", "li"))), "seq"
        if len(child) == 0:
            return ((child.text or "").strip(),), "element"
        raise MetadataError(f"XMP property {prefix}:{name} has an unsupported structure")
    return None


def _property_values(desc: ET.Element, prefix: str, name: str) -> tuple[str, ...] | None:
    p = _property(desc, prefix, name)
    return None if p is None else p[0]


@dataclass(frozen=True)
class HdrgmFields:
    """Adobe gain-map XMP properties as written (log2 values are not converted here).

    ``values`` maps each numeric property present to a tuple of 1 or 3 floats;
    ``forms`` records 'attribute' or 'seq'/'element' per property.
    """

    version: str | None
    values: dict[str, tuple[float, ...]]
    base_rendition_is_hdr: bool | None
    forms: dict[str, str] = field(default_factory=dict)
    raw: dict[str, tuple[str, ...]] = field(default_factory=dict)


def read_hdrgm(root: ET.Element) -> HdrgmFields | None:
    """The ``hdrgm:`` properties of the first rdf:Description carrying any, or None."""
    for desc in _descriptions(root):
        present = {k for k in desc.attrib if k.startswith("{" + NS["hdrgm"])} | \
                  {c.tag for c in desc if isinstance(c.tag, str) and c.tag.startswith("{" + NS["hdrgm"])}
        if not present:
            continue
        version_v = _property_values(desc, "hdrgm", "Version")
        values: dict[str, tuple[float, ...]] = {}
        forms: dict[str, str] = {}
        raw: dict[str, tuple[str, ...]] = {}
        for name in HDRGM_NUMERIC:
            p = _property(desc, "hdrgm", name)
            if p is None:
                continue
            v, forms[name] = p
            if len(v) not in (1, 3):
                raise MetadataError(f"hdrgm:{name} has {len(v)} values; 1 or 3 are allowed")
            try:
                values[name] = tuple(float(s) for s in v)
            except ValueError as e:
                raise MetadataError(f"hdrgm:{name} is not a number: {v!r}") from e
            raw[name] = v
        brih = _property_values(desc, "hdrgm", "BaseRenditionIsHDR")
        base_hdr = None
        if brih is not None:
            t = brih[0].strip().lower()
            if t not in ("true", "false"):
                raise MetadataError(f"hdrgm:BaseRenditionIsHDR must be True or False, not {brih[0]!r}")
            base_hdr = t == "true"
        return HdrgmFields(version_v[0] if version_v else None, values, base_hdr, forms, raw)
    return None


@dataclass(frozen=True)
class ContainerItem:
    """One GContainer directory item."""

    semantic: str | None
    mime: str | None
    length: int | None
    padding: int | None
    uri: str | None = None

    def to_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if v is not None}


def _int_or_none(s: str | None, what: str) -> int | None:
    if s is None:
        return None
    try:
        v = int(s.strip())
    except ValueError as e:
        raise MetadataError(f"GContainer {what} is not an integer: {s!r}") from e
    if v < 0:
        raise MetadataError(f"GContainer {what} is negative: {v}")
    return v


def read_container(root: ET.Element) -> list[ContainerItem]:
    """GContainer ``Container:Directory`` items in order (empty list when absent)."""
    items = []
    for directory in root.iter(_q("Container", "Directory")):
        seq = directory.find(_q("rdf", "Seq"))
        if seq is None:
            continue
        for li in seq.findall(_q("rdf", "li")):
            item = li.find(_q("Container", "Item"))
            attrs = dict(li.attrib)
            if item is not None:
                attrs.update(item.attrib)
            items.append(ContainerItem(
                attrs.get(_q("Item", "Semantic")), attrs.get(_q("Item", "Mime")),
                _int_or_none(attrs.get(_q("Item", "Length")), "Item:Length"),
                _int_or_none(attrs.get(_q("Item", "Padding")), "Item:Padding"),
                attrs.get(_q("Item", "URI"))))
        break
    return items


@dataclass(frozen=True)
class AppleGainMapXmp:
    """Apple gain-map XMP (pre-ISO): version, headroom (as written) and auxiliary type."""

    version: int | None
    headroom: float | None
    auxiliary_type: str | None


def read_apple(root: ET.Element) -> AppleGainMapXmp | None:
    """Apple ``HDRGainMap`` properties, or None when the packet has none."""
    for desc in _descriptions(root):
        ver = _property_values(desc, "HDRGainMap", "HDRGainMapVersion")
        head = _property_values(desc, "HDRGainMap", "HDRGainMapHeadroom")
        aux = _property_values(desc, "apdi", "AuxiliaryImageType")
        if ver is None and head is None:
            continue
        try:
            version = int(ver[0]) if ver else None
            headroom = float(head[0]) if head else None
        except ValueError as e:
            raise MetadataError(f"Apple HDRGainMap XMP value is not a number: {e}") from e
        return AppleGainMapXmp(version, headroom, aux[0] if aux else None)
    return None


def extended_xmp_guid(root: ET.Element) -> str | None:
    """``xmpNote:HasExtendedXMP`` (the GUID of the extended packet), if declared."""
    for desc in _descriptions(root):
        v = _property_values(desc, "xmpNote", "HasExtendedXMP")
        if v:
            return v[0]
    return None


# ------------------------------------------------------------------------- writers
def attr_text(v) -> str:
    """``str(v)`` as the text of a double-quoted XML attribute value: ``&``, ``<``, ``>`` and
    ``"`` as entity references, tab, line feed and carriage return as character references
    (XML 1.0, sections 2.4, 3.1 and 3.3.3: a parser would read them as spaces). What
    ``xml.sax.saxutils.quoteattr`` writes between double quotes, without that module's import
    of ``urllib.request`` (0.01 s of every export)."""
    return (str(v).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
            .replace("\t", "&#9;").replace("\n", "&#10;").replace("\r", "&#13;"))


def _attr(v: str) -> str:
    return f'"{attr_text(v)}"'


def _num(v: float) -> str:
    return f"{float(v):.9g}"


def write_hdrgm(fields: HdrgmFields) -> str:
    """One ``rdf:Description`` holding ``fields`` (the inverse of :func:`read_hdrgm`).

    Single values are written as attributes (the form libultrahdr reads); 3-value
    properties as ``rdf:Seq`` elements (Adobe's per-channel form). Property names and
    order are :data:`HDRGM_NUMERIC`.
    """
    attrs = [f'xmlns:hdrgm="{NS["hdrgm"]}"', f'hdrgm:Version={_attr(fields.version or "1.0")}']
    elems = []
    for name in HDRGM_NUMERIC:
        v = fields.values.get(name)
        if v is None:
            continue
        if len(v) == 1:
            attrs.append(f'hdrgm:{name}="{_num(v[0])}"')
        else:
            items = "".join(f"<rdf:li>{_num(x)}</rdf:li>" for x in v)
            elems.append(f"<hdrgm:{name}><rdf:Seq>{items}</rdf:Seq></hdrgm:{name}>")
    if fields.base_rendition_is_hdr is not None:
        attrs.append(f'hdrgm:BaseRenditionIsHDR="{"True" if fields.base_rendition_is_hdr else "False"}"')
    head = '<rdf:Description rdf:about="" ' + " ".join(attrs)
    return head + ("/>" if not elems else ">" + "".join(elems) + "</rdf:Description>")


def write_container(items: list[ContainerItem], hdrgm_version: str | None = "1.0") -> str:
    """One ``rdf:Description`` with the GContainer directory of ``items`` (the inverse of
    :func:`read_container`), plus ``hdrgm:Version`` when given (Ultra HDR primary image)."""
    attrs = [f'xmlns:Container="{NS["Container"]}"', f'xmlns:Item="{NS["Item"]}"']
    if hdrgm_version is not None:
        attrs += [f'xmlns:hdrgm="{NS["hdrgm"]}"', f"hdrgm:Version={_attr(hdrgm_version)}"]
    lis = []
    for it in items:
        a = [f"Item:{k}={_attr(str(v))}" for k, v in (("Semantic", it.semantic), ("Mime", it.mime),
                                                      ("Length", it.length), ("Padding", it.padding),
                                                      ("URI", it.uri)) if v is not None]
        lis.append(f'<rdf:li rdf:parseType="Resource"><Container:Item {" ".join(a)}/></rdf:li>')
    return (f'<rdf:Description rdf:about="" {" ".join(attrs)}><Container:Directory><rdf:Seq>'
            + "".join(lis) + "</rdf:Seq></Container:Directory></rdf:Description>")


def xmp_packet(descriptions: list[str]) -> bytes:
    """A complete XMP packet (UTF-8, ``<?xpacket?>`` wrapper) around ``rdf:Description`` strings."""
    body = "\n  ".join(descriptions)
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            f'<x:xmpmeta xmlns:x="{NS["x"]}">\n <rdf:RDF xmlns:rdf="{NS["rdf"]}">\n  {body}\n </rdf:RDF>\n'
            '</x:xmpmeta>\n<?xpacket end="w"?>').encode("utf-8")


def add_descriptions(packet: bytes, descriptions: list[str]) -> bytes:
    """``packet`` with ``descriptions`` appended inside its ``rdf:RDF`` (the rest kept byte for byte).

    Raises :class:`MetadataError` when the packet has no ``</rdf:RDF>``.
    """
    end = packet.rfind(b"</rdf:RDF>")
    if end < 0:
        raise MetadataError("XMP packet has no rdf:RDF element to extend")
    return packet[:end] + "".join(f" {d}\n " for d in descriptions).encode("utf-8") + packet[end:]
