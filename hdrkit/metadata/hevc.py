"""HEVC bitstream plumbing: NAL units, Annex B, access units, SEI messages, picture order.

Byte-level only (no decoding): what HDR10+ extraction, injection and removal need.

- NAL unit header (H.265 §7.3.1.2): ``forbidden_zero_bit(1) nal_unit_type(6)
  nuh_layer_id(6) nuh_temporal_id_plus1(3)``, two bytes.
- Byte stream (Annex B, H.265 §B.2): each NAL unit preceded by ``00 00 01`` (written here
  as the four-byte ``00 00 00 01``, the zero_byte being allowed before any NAL unit).
- Emulation prevention (§7.4.2): inside a NAL unit no ``00 00 0x`` (x <= 3) may appear;
  the writer inserts ``03`` after every two zero bytes that precede such a byte, and after a
  final ``00``. Splitting and un-escaping are shared with
  :mod:`hdrkit.metadata.sidedata` (:func:`~hdrkit.metadata.sidedata.iter_nal_units`,
  :func:`~hdrkit.metadata.sidedata.unescape_rbsp`,
  :func:`~hdrkit.metadata.sidedata.parse_sei_rbsp`).
- Access units (§7.4.2.4.4): a new one starts, after a VCL NAL unit, at an access unit
  delimiter, VPS, SPS, PPS, prefix SEI, NAL types 41-44 and 48-55, or a VCL NAL unit with
  ``first_slice_segment_in_pic_flag`` = 1.
- SEI messages (§7.3.5): ``payloadType`` and ``payloadSize`` each coded as bytes of 255
  (``ff``) followed by the remainder, then the payload; the RBSP ends in
  ``rbsp_trailing_bits`` (``80``).
- Picture order count (§8.3.1) from the SPS (§7.3.2.2: ``log2_max_pic_order_cnt_lsb``),
  the PPS (§7.3.2.3: ``output_flag_present_flag``, ``num_extra_slice_header_bits``) and
  the first slice segment header (§7.3.6.1): display order of a raw stream, which has no
  timestamps.

References
----------
- ITU-T H.265 (V8, 08/2021) "High efficiency video coding", §7.3, §7.4.2, §8.3.1, Annex B.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..errors import ContainerError
from .sidedata import iter_nal_units, parse_sei_rbsp, unescape_rbsp

__all__ = [
    "NAL_VPS",
    "NAL_SPS",
    "NAL_PPS",
    "NAL_AUD",
    "NAL_EOS",
    "NAL_SEI_PREFIX",
    "NAL_SEI_SUFFIX",
    "BitReader",
    "BitWriter",
    "nal_type",
    "is_vcl",
    "escape_rbsp",
    "split_annexb",
    "iter_annexb_file",
    "join_annexb",
    "split_length_prefixed",
    "join_length_prefixed",
    "iter_access_units",
    "group_access_units",
    "sei_messages",
    "sei_message",
    "sei_nal",
    "PocTracker",
]

NAL_VPS, NAL_SPS, NAL_PPS, NAL_AUD, NAL_EOS = 32, 33, 34, 35, 36
NAL_SEI_PREFIX, NAL_SEI_SUFFIX = 39, 40
_IDR = (19, 20)  # IDR_W_RADL, IDR_N_LP
_BLA = (16, 17, 18)
_IRAP = range(16, 24)
_RADL_RASL = (6, 7, 8, 9)
_AU_STARTERS = {NAL_VPS, NAL_SPS, NAL_PPS, NAL_AUD, NAL_SEI_PREFIX, 41, 42, 43, 44, *range(48, 56)}
START_CODE = b"\x00\x00\x00\x01"


# ========================================================================== bits
class BitReader:
    """MSB-first reader of ``u(n)`` and ``ue(v)`` (H.265 §7.2, §9.2) over an RBSP."""

    def __init__(self, data: bytes):
        self.data = bytes(data)
        self.pos = 0

    def u(self, n: int) -> int:
        if self.pos + n > 8 * len(self.data):
            raise ContainerError("HEVC syntax element runs past the end of its NAL unit")
        v = 0
        for _ in range(n):
            v = (v << 1) | ((self.data[self.pos >> 3] >> (7 - (self.pos & 7))) & 1)
            self.pos += 1
        return v

    def flag(self) -> bool:
        return bool(self.u(1))

    def ue(self) -> int:
        zeros = 0
        while self.u(1) == 0:
            zeros += 1
            if zeros > 31:
                raise ContainerError("malformed Exp-Golomb code in an HEVC header")
        return (1 << zeros) - 1 + self.u(zeros)


class BitWriter:
    """MSB-first writer of ``u(n)``; :meth:`bytes` pads the last byte with zero bits."""

    def __init__(self):
        self.bits: list[int] = []

    def u(self, n: int, v: int) -> None:
        v = int(v)
        if v < 0 or v >= (1 << n):
            raise ValueError(f"{v} does not fit in {n} bits")
        self.bits.extend((v >> (n - 1 - k)) & 1 for k in range(n))

    def flag(self, b: bool) -> None:
        self.bits.append(1 if b else 0)

    def bytes(self) -> bytes:
        bits = self.bits + [0] * (-len(self.bits) % 8)
        return bytes(int("".join(map(str, bits[i:i + 8])), 2) for i in range(0, len(bits), 8))


# ===================================================================== NAL units
def nal_type(nal: bytes) -> int:
    """``nal_unit_type`` of a NAL unit (header included)."""
    return (nal[0] >> 1) & 0x3F


def is_vcl(nal: bytes) -> bool:
    return nal_type(nal) < 32


def escape_rbsp(rbsp: bytes) -> bytes:
    """Insert emulation prevention bytes (H.265 §7.4.2): ``00 00 0x`` -> ``00 00 03 0x``
    for x <= 3, and ``03`` after a final ``00``."""
    out = bytearray()
    zeros = 0
    for x in rbsp:
        if zeros >= 2 and x <= 3:
            out.append(3)
            zeros = 0
        out.append(x)
        zeros = zeros + 1 if x == 0 else 0
    if out and out[-1] == 0:
        out.append(3)
    return bytes(out)


def split_annexb(data: bytes) -> list[bytes]:
    """NAL units (header included, emulation prevention kept) of Annex B bytes."""
    if not (data[:3] == b"\x00\x00\x01" or data[:4] == START_CODE):
        raise ContainerError("not an HEVC Annex B byte stream (no start code at the beginning)")
    return list(iter_nal_units(data, None))


def iter_annexb_file(f, chunk_size: int = 1 << 23):
    """NAL units of an Annex B byte stream read from the binary file ``f`` in chunks, so a
    stream of any size is read in bounded memory (plus its largest NAL unit)."""
    buf = bytearray()
    while True:
        data = f.read(chunk_size)
        buf += data
        if not data:
            if buf:
                yield from iter_nal_units(bytes(buf), None)
            return
        last = buf.rfind(b"\x00\x00\x01")
        if last > 0:  # everything before the last start code is complete
            yield from iter_nal_units(bytes(buf[:last]), None)
            del buf[:last]


def join_annexb(nals) -> bytes:
    return b"".join(START_CODE + n for n in nals)


def split_length_prefixed(data: bytes, length_size: int) -> list[bytes]:
    """NAL units of one ISO/IEC 14496-15 sample (``length_size``-byte big-endian sizes)."""
    out, i, n = [], 0, len(data)
    while i < n:
        if i + length_size > n:
            raise ContainerError("truncated NAL unit length in an HEVC sample")
        ln = int.from_bytes(data[i:i + length_size], "big")
        i += length_size
        if ln == 0 or i + ln > n:
            raise ContainerError(f"HEVC sample announces a {ln}-byte NAL unit with {n - i} bytes left")
        out.append(data[i:i + ln])
        i += ln
    return out


def join_length_prefixed(nals, length_size: int) -> bytes:
    limit = 1 << (8 * length_size)
    out = bytearray()
    for n in nals:
        if len(n) >= limit:
            raise ContainerError(f"NAL unit of {len(n)} bytes does not fit a {length_size}-byte length field")
        out += len(n).to_bytes(length_size, "big") + n
    return bytes(out)


def iter_access_units(nals):
    """Group NAL units (decode order) into access units (H.265 §7.4.2.4.4), lazily.

    NAL units before the first picture's starter go to the first access unit; a trailing
    group without a VCL NAL unit (e.g. end of bitstream) joins the last one.
    """
    prev: list[bytes] | None = None
    cur: list[bytes] = []
    seen_vcl = False
    for n in nals:
        if len(n) < 2:
            continue
        t = nal_type(n)
        if seen_vcl and (t in _AU_STARTERS or (t < 32 and len(n) > 2 and n[2] & 0x80)):
            if prev is not None:
                yield prev
            prev, cur, seen_vcl = cur, [], False
        cur.append(n)
        seen_vcl = seen_vcl or t < 32
    if cur and not seen_vcl and prev is not None:
        prev.extend(cur)
        cur = []
    if prev is not None:
        yield prev
    if cur:
        yield cur


def group_access_units(nals) -> list[list[bytes]]:
    """:func:`iter_access_units` as a list."""
    return list(iter_access_units(nals))


# ========================================================================== SEI
def sei_messages(nal: bytes) -> list[tuple[int, bytes]]:
    """(payloadType, payload) of every message of an SEI NAL unit (payloads unescaped)."""
    return parse_sei_rbsp(unescape_rbsp(nal[2:]))


def _sei_number(v: int) -> bytes:
    """payloadType / payloadSize coding (H.265 §7.3.5): ``ff`` per 255, then the rest."""
    return b"\xff" * (v // 255) + bytes([v % 255])


def sei_message(payload_type: int, payload: bytes) -> bytes:
    """One ``sei_message()`` (unescaped): type, size, payload."""
    return _sei_number(payload_type) + _sei_number(len(payload)) + bytes(payload)


def sei_nal(messages, *, prefix: bool = True, header_byte1: int = 0x01) -> bytes:
    """An SEI NAL unit holding ``messages`` ((payloadType, payload) pairs), escaped.

    ``header_byte1`` carries ``nuh_layer_id`` / ``nuh_temporal_id_plus1``: take it from
    the access unit's VCL NAL unit (an SEI has the TemporalId of its access unit).
    """
    t = NAL_SEI_PREFIX if prefix else NAL_SEI_SUFFIX
    rbsp = b"".join(sei_message(pt, pl) for pt, pl in messages) + b"\x80"
    return bytes([t << 1, header_byte1]) + escape_rbsp(rbsp)


# ========================================================== picture order count
@dataclass
class _Sps:
    log2_max_poc_lsb: int
    separate_colour_plane: bool


@dataclass
class _Pps:
    sps_id: int
    output_flag_present: bool
    num_extra_slice_header_bits: int


def _skip_profile_tier_level(r: BitReader, max_sub_layers_minus1: int) -> None:
    r.u(88)  # general profile space .. general constraint flags (H.265 §7.3.3)
    r.u(8)  # general_level_idc
    present = [(r.flag(), r.flag()) for _ in range(max_sub_layers_minus1)]
    if max_sub_layers_minus1 > 0:
        for _ in range(max_sub_layers_minus1, 8):
            r.u(2)
    for prof, lev in present:
        if prof:
            r.u(88)
        if lev:
            r.u(8)


def _parse_sps(nal: bytes) -> tuple[int, _Sps]:
    r = BitReader(unescape_rbsp(nal[2:]))
    r.u(4)  # sps_video_parameter_set_id
    msl = r.u(3)
    r.u(1)  # sps_temporal_id_nesting_flag
    _skip_profile_tier_level(r, msl)
    sps_id = r.ue()
    chroma = r.ue()
    sep = r.flag() if chroma == 3 else False
    r.ue()
    r.ue()  # pic_width / pic_height_in_luma_samples
    if r.flag():  # conformance_window_flag
        for _ in range(4):
            r.ue()
    r.ue()
    r.ue()  # bit depths
    return sps_id, _Sps(r.ue() + 4, sep)


def _parse_pps(nal: bytes) -> tuple[int, _Pps]:
    r = BitReader(unescape_rbsp(nal[2:]))
    pps_id = r.ue()
    sps_id = r.ue()
    r.flag()  # dependent_slice_segments_enabled_flag
    out = r.flag()
    return pps_id, _Pps(sps_id, out, r.u(3))


@dataclass
class PocTracker:
    """Picture order count of each picture in decode order (H.265 §8.3.1).

    Feed every NAL unit of the stream in decode order to :meth:`nal`; it returns
    ``(sequence, poc)`` for the first slice segment of each picture, where ``sequence``
    counts IRAP pictures with NoRaslOutputFlag = 1 (IDR, BLA, the first picture, a CRA
    after an end of sequence): display order is the sort order of these pairs.
    """

    sps: dict[int, _Sps] = field(default_factory=dict)
    pps: dict[int, _Pps] = field(default_factory=dict)
    sequence: int = -1
    prev_tid0_poc: int = 0
    after_eos: bool = True

    def nal(self, nal: bytes) -> tuple[int, int] | None:
        if len(nal) < 3:
            return None
        t = nal_type(nal)
        if t == NAL_SPS:
            k, v = _parse_sps(nal)
            self.sps[k] = v
        elif t == NAL_PPS:
            k, v = _parse_pps(nal)
            self.pps[k] = v
        elif t == NAL_EOS:
            self.after_eos = True
        elif t < 32 and nal[2] & 0x80:
            return self._picture(nal, t)
        return None

    def _picture(self, nal: bytes, t: int) -> tuple[int, int]:
        r = BitReader(unescape_rbsp(nal[2:]))
        r.u(1)  # first_slice_segment_in_pic_flag
        if t in _IRAP:
            r.u(1)  # no_output_of_prior_pics_flag
        pps_id = r.ue()
        pps = self.pps.get(pps_id)
        sps = self.sps.get(pps.sps_id) if pps is not None else None
        if pps is None or sps is None:
            raise ContainerError(f"HEVC slice refers to parameter set {pps_id} that the stream has not sent")
        r.u(pps.num_extra_slice_header_bits)
        r.ue()  # slice_type
        if pps.output_flag_present:
            r.u(1)
        if sps.separate_colour_plane:
            r.u(2)
        max_lsb = 1 << sps.log2_max_poc_lsb
        lsb = 0 if t in _IDR else r.u(sps.log2_max_poc_lsb)
        tid = (nal[1] & 7) - 1
        if t in _IRAP and (t in _IDR or t in _BLA or self.after_eos):
            self.sequence += 1
            msb = 0
        else:
            prev_lsb = self.prev_tid0_poc & (max_lsb - 1)
            prev_msb = self.prev_tid0_poc - prev_lsb
            if lsb < prev_lsb and prev_lsb - lsb >= max_lsb // 2:
                msb = prev_msb + max_lsb
            elif lsb > prev_lsb and lsb - prev_lsb > max_lsb // 2:
                msb = prev_msb - max_lsb
            else:
                msb = prev_msb
        self.after_eos = False
        poc = msb + lsb
        sub_layer_non_ref = t <= 14 and t % 2 == 0
        if tid == 0 and t not in _RADL_RASL and not sub_layer_non_ref:
            self.prev_tid0_poc = poc
        return max(self.sequence, 0), poc
