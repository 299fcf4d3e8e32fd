"""Hostile XMP: declarations, external entities, entity expansion, attribute and element floods.

Every packet must be refused with a named hdrkit error, quickly, without opening a file or
a socket (checked with a Python audit hook) and without expanding anything.
"""

from __future__ import annotations

import contextlib
import sys
import time

import pytest

from hdrkit.errors import HdrkitError, LimitError
from tools.fuzz.corpus import HOSTILE_XMP, gainmap_jpeg
from hdrkit.still.xmp import parse_xmp

from .conftest import peak_rss_of

_EVENTS: list[tuple[str, str]] = []
_RECORDING = [False]


def _hook(event, args):
    if _RECORDING[0] and (event == "open" or event.startswith(("socket.", "urllib.", "http.", "subprocess."))):
        _EVENTS.append((event, repr(args)[:200]))


sys.addaudithook(_hook)


@contextlib.contextmanager
def watch_io():
    """Record file opens and network calls made inside the block."""
    _EVENTS.clear()
    _RECORDING[0] = True
    try:
        yield _EVENTS
    finally:
        _RECORDING[0] = False


def _packet(decl: str, body: str = "&e;") -> str:
    return (f'<?xml version="1.0"?><!DOCTYPE x [{decl}]><x:xmpmeta xmlns:x="adobe:ns:meta/">'
            f'<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description rdf:about="">'
            f"<y>{body}</y></rdf:Description></rdf:RDF></x:xmpmeta>")


@pytest.fixture()
def secret(tmp_path):
    p = tmp_path / "secret.txt"
    p.write_text("SECRET-CONTENT-42")
    return p


def hostile_packets(secret_path) -> dict[str, bytes]:
    out = dict(HOSTILE_XMP)
    out["external_secret"] = _packet(f'<!ENTITY e SYSTEM "file://{secret_path}">').encode()
    out["external_secret_relative"] = _packet('<!ENTITY e SYSTEM "secret.txt">').encode()
    out["internal_entity"] = _packet('<!ENTITY e "EXPANDED-ENTITY">').encode()
    return out


@pytest.mark.parametrize("name", sorted(hostile_packets("/nonexistent")))
def test_declarations_refused_without_io(name, secret):
    data = hostile_packets(secret)[name]
    with watch_io() as events:
        t0 = time.perf_counter()
        with pytest.raises(HdrkitError) as ei:
            parse_xmp(data)
        dt = time.perf_counter() - t0
    assert dt < 2.0  # no expansion: a hang guard (the fuzz goal: no case over 2 s), not a speed test
    assert "\n" not in str(ei.value)
    assert events == [], f"parse_xmp opened files or sockets: {events}"


# Encodings XML allows without a byte-order mark (XML 1.0 Appendix F): a declaration
# check that only looks at UTF-8 bytes misses them, and expat then expands the entity.
@pytest.mark.parametrize("encoding", ["utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be", "utf-16", "utf-32"])
def test_declarations_refused_in_every_encoding(encoding, secret):
    for name, text in (("internal", _packet('<!ENTITY e "EXPANDED-ENTITY">')),
                       ("external", _packet(f'<!ENTITY e SYSTEM "file://{secret}">'))):
        raw = text.replace('<?xml version="1.0"?>', f'<?xml version="1.0" encoding="{encoding.upper()}"?>')
        with watch_io() as events:
            try:
                root = parse_xmp(raw.encode(encoding))
            except HdrkitError:
                root = None
        assert events == []
        if root is not None:
            texts = " ".join((e.text or "") for e in root.iter())
            assert "EXPANDED-ENTITY" not in texts and "SECRET" not in texts
            pytest.fail(f"{encoding} XMP with a DOCTYPE ({name} entity) was accepted instead of refused")


def test_billion_laughs_bounded_memory_and_time():
    # a fresh interpreter: its peak RSS is the cost of the attempt (the expansion would be ~3 GB)
    base, _ = peak_rss_of("import tools.fuzz.corpus, hdrkit.still.xmp, hdrkit.errors")
    code = (
        "import time\n"
        "from hdrkit.errors import HdrkitError\n"
        "from tools.fuzz.corpus import HOSTILE_XMP\n"
        "from hdrkit.still.xmp import parse_xmp\n"
        "lol = HOSTILE_XMP['billion_laughs']\n"
        "for enc in ('utf-8', 'utf-16', 'utf-16-be', 'utf-32'):\n"
        "    d = lol.decode().encode(enc)\n"
        "    t = time.perf_counter()\n"
        "    try:\n"
        "        parse_xmp(d)\n"
        "        print('ACCEPTED', enc)\n"
        "    except HdrkitError:\n"
        "        pass\n"
        "    print('TIME', enc, time.perf_counter() - t)\n"
    )
    peak, out = peak_rss_of(code)
    assert "ACCEPTED" not in out
    times = [float(ln.split()[2]) for ln in out.splitlines() if ln.startswith("TIME")]
    assert len(times) == 4 and max(times) < 2.0, out
    assert peak - base < 64, f"billion laughs cost {peak - base:.0f} MB"


def test_attribute_flood_refused_quickly():
    attrs = " ".join(f'a:x{i}="{i}"' for i in range(100_000))
    data = (f'<x:xmpmeta xmlns:x="adobe:ns:meta/" xmlns:a="urn:a"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-'
            f'syntax-ns#"><rdf:Description {attrs}/></rdf:RDF></x:xmpmeta>').encode()
    t0 = time.perf_counter()
    with pytest.raises(LimitError):
        parse_xmp(data)
    assert time.perf_counter() - t0 < 2.0


def test_element_flood_and_deep_nesting():
    flat = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + b"<a/>" * 300_000 + b"</x:xmpmeta>"
    t0 = time.perf_counter()
    with pytest.raises(LimitError):
        parse_xmp(flat)
    deep = b"<x:xmpmeta xmlns:x='adobe:ns:meta/'>" + b"<a>" * 100_000 + b"</a>" * 100_000 + b"</x:xmpmeta>"
    try:  # deep nesting may be accepted, but only a named error may refuse it (no RecursionError)
        root = parse_xmp(deep)
        from hdrkit.still.xmp import read_apple, read_container, read_hdrgm

        read_hdrgm(root), read_container(root), read_apple(root)
    except HdrkitError:
        pass
    assert time.perf_counter() - t0 < 5.0


def test_hostile_xmp_inside_a_gainmap_jpeg(tmp_path, secret):
    """The whole still path: a hostile primary XMP never reads the file nor reaches the output."""
    from hdrkit.still.export import export_sdr

    good = gainmap_jpeg()
    hostile = _packet(f'<!ENTITY e SYSTEM "file://{secret}">').encode()
    sig = b"http://ns.adobe.com/xap/1.0/\x00"
    i = good.index(sig)
    seg_len = int.from_bytes(good[i - 2:i], "big")
    start, end = i - 4, i - 2 + seg_len
    payload = sig + hostile
    bad = good[:start] + b"\xff\xe1" + (len(payload) + 2).to_bytes(2, "big") + payload + good[end:]
    src = tmp_path / "hostile.jpg"
    src.write_bytes(bad)
    dst = tmp_path / "out.jpg"
    with watch_io() as events:
        try:
            export_sdr(src, dst)
        except HdrkitError:
            pass
    opened = [e for e in events if str(secret) in e[1] or "socket" in e[0]]
    assert opened == []
    if dst.exists():
        assert b"SECRET-CONTENT" not in dst.read_bytes()
