"""HDR10+ in HEVC streams: extract, inject, remove (the jobs of hdr10plus_tool).

Inputs: raw Annex B ``.hevc`` / ``.h265`` and MP4 / MOV / MKV / MPEG-TS with one HEVC video
stream (length-prefixed samples per ``hvcC`` ``lengthSizeMinusOne``, or Annex B in TS).
Nothing is decoded and no picture is re-encoded: slice NAL units are copied byte for byte.

- **Frames and order.** One access unit (a container packet, or a group of NAL units per
  H.265 §7.4.2.4.4 in a raw stream) is one frame. Display order is presentation time in a
  container and ``(coded video sequence, picture order count)`` in a raw stream
  (:class:`hdrkit.metadata.hevc.PocTracker`).
- **Which SEI counts.** The first ``user_data_registered_itu_t_t35`` message starting
  ``B5 00 3C 00 01 04`` in a prefix SEI NAL unit of the access unit (where hdr10plus_tool
  and x265 put it).
- **Frames without an SEI** (x265 ``--dhdr10-opt`` writes one only where the metadata
  changes) take the metadata of the previous access unit in *decode* order, as
  hdr10plus_tool 1.7 and FFmpeg's HEVC decoder do; frames decoded before the first SEI
  take the first one (reported).
- **Injection** removes every HDR10+ message and puts one prefix SEI NAL unit (header
  ``4E 01``, TemporalId of the access unit) holding only the new message right before the
  first slice of each access unit; other SEI messages stay (an SEI NAL unit shared with
  HDR10+ is rewritten without it).
- **Containers** are rewritten with PyAV stream copy: every stream kept with its
  timestamps, only the video packets' bytes change; container and stream tags copied.

References
----------
- ITU-T H.265 §7.3.5, §7.4.2.4.4, §D.2.6 (user_data_registered_itu_t_t35), §8.3.1.
- ISO/IEC 14496-15 §8.3.3 (``HEVCDecoderConfigurationRecord``, NAL length size).
- quietvoid/hdr10plus_tool v1.7.2 (``extract`` / ``inject`` / ``remove``; JSON layout in
  :mod:`hdrkit.metadata.hdr10plus`).
"""

from __future__ import annotations

# PyAV, Pillow, matplotlib and the numba kernels are imported in the functions that use them, so
# "import hdrkit" and "hdrkit --help" start without them.
import dataclasses
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..errors import ContainerError, MetadataError, OptionError, OutputError
from ..io.atomic import atomic_path, check_not_input
from .hdr10plus import (Hdr10PlusFrame, Hdr10PlusMetadata, hdr10plus_t35, parse_hdr10plus_t35, read_json,
                        split_scenes, t35_problems)
from .hevc import (NAL_SEI_PREFIX, PocTracker, is_vcl, iter_access_units, iter_annexb_file, join_annexb,
                   join_length_prefixed, nal_type, sei_messages, sei_nal, split_annexb, split_length_prefixed)
from .sidedata import HDR10PLUS_T35_PREFIX, hvcc_length_size

__all__ = [
    "StreamHdr10Plus",
    "read_hdr10plus_stream",
    "extract_hdr10plus",
    "inject_hdr10plus",
    "remove_hdr10plus",
    "RewriteResult",
    "RAW_SUFFIXES",
    "check_output",
]

log = logging.getLogger("hdrkit.metadata")

#: File name endings treated as raw Annex B HEVC on output.
RAW_SUFFIXES = (".hevc", ".h265", ".265", ".hvc", ".bin")
_T35 = 4  # payloadType of user_data_registered_itu_t_t35


# ===================================================================== reading
def _is_hdr10plus(pt: int, payload: bytes) -> bool:
    return pt == _T35 and payload[:6] == HDR10PLUS_T35_PREFIX


def _hdr10plus_payloads(au) -> list[bytes]:
    out = []
    for n in au:
        if len(n) > 2 and nal_type(n) == NAL_SEI_PREFIX:
            try:
                out += [pl for pt, pl in sei_messages(n) if _is_hdr10plus(pt, pl)]
            except MetadataError as e:
                raise ContainerError(f"malformed SEI NAL unit: {e}") from None
    return out


def _is_annexb_file(path: Path) -> bool:
    try:
        with open(path, "rb") as f:
            head = f.read(4)
    except FileNotFoundError:
        raise ContainerError(f"input not found: {path}") from None
    except OSError as e:
        raise ContainerError(f"cannot read {path}: {e}") from None
    return head[:3] == b"\x00\x00\x01" or head == b"\x00\x00\x00\x01"


def _raw_access_units(path: Path):
    """Access units of a raw Annex B file, read in chunks (decode order)."""
    try:
        with open(path, "rb") as f:
            yield from iter_access_units(iter_annexb_file(f))
    except OSError as e:
        raise ContainerError(f"cannot read {path}: {e}") from None


def _display_ranks(keys) -> list[int]:
    """Display position of each access unit (decode order in, position out)."""
    order = sorted(range(len(keys)), key=lambda i: (keys[i], i))
    ranks = [0] * len(keys)
    for pos, i in enumerate(order):
        ranks[i] = pos
    return ranks


def _poc_view(nals: list[bytes]) -> list[bytes]:
    """What picture order needs of an access unit: parameter sets and slice headers (the
    first 64 bytes of a slice hold every field up to ``slice_pic_order_cnt_lsb``)."""
    return [n[:64] if is_vcl(n) else n for n in nals if not is_vcl(n) or n[2:3] and n[2] & 0x80]


def _poc_keys(aus, header_nals=()) -> list[tuple[int, int]]:
    trk = PocTracker()
    for n in header_nals:
        trk.nal(n)
    keys = []
    for au in aus:
        k = None
        for n in au:
            r = trk.nal(n)
            if r is not None and k is None:
                k = r
        if k is None:
            raise ContainerError(f"HEVC access unit {len(keys)} has no slice")
        keys.append(k)
    return keys


class _Container:
    """The first video stream of a container: packets' NAL units and display ranks."""

    def __init__(self, path: Path):
        self.path = path
        self.c = None
        self.rewind()
        if not self.c.streams.video:
            self.c.close()
            raise ContainerError(f"{path}: no video stream")
        codec = self.st.codec_context.name if self.st.codec_context is not None else "unknown"
        if codec != "hevc":
            self.c.close()
            raise ContainerError(f"{path}: HDR10+ tools need HEVC video, this stream is {codec}")
        self.length_size, self.header_nals = hvcc_length_size(bytes(self.st.codec_context.extradata or b""))

    def rewind(self) -> None:
        """Open the file (again): every read starts at the first packet (a seek to 0 may not,
        with edit lists or timestamps not starting at 0)."""
        import av

        if self.c is not None:
            self.c.close()
        try:
            self.c = av.open(str(self.path), metadata_errors="replace")
        except (av.error.FFmpegError, OSError) as e:  # type: ignore[attr-defined]
            raise ContainerError(f"cannot open {self.path}: {e}") from None
        if self.c.streams.video:
            self.st = self.c.streams.video[0]

    def split(self, data: bytes) -> tuple[list[bytes], int | None]:
        ls = self.length_size
        if data[:3] == b"\x00\x00\x01" or data[:4] == b"\x00\x00\x00\x01":
            ls = None
        elif ls is None:
            ls = 4
        return (split_annexb(data) if ls is None else split_length_prefixed(data, ls)), ls

    def packets(self):
        import av

        self.rewind()
        try:
            for pkt in self.c.demux(self.st):
                if pkt.size:
                    yield pkt
        except av.error.FFmpegError as e:  # type: ignore[attr-defined]
            raise ContainerError(f"{self.path}: cannot read its packets: {e}") from None

    def close(self):
        self.c.close()


@dataclass
class StreamHdr10Plus:
    """HDR10+ of a stream as carried: per frame in display order, plus how it was found."""

    frames: list[Hdr10PlusFrame]  # display order, sparse SEI filled in
    infos: list[dict]  # bitstream-only fields per frame (see parse_hdr10plus_t35)
    access_units: int
    with_sei: int  # access units carrying an HDR10+ SEI
    leading_without: int = 0  # access units decoded before the first SEI
    multiple: int = 0  # access units with more than one HDR10+ message
    problems: list[str] = field(default_factory=list)  # validation failures (first few)
    invalid_frames: int = 0

    def metadata(self) -> Hdr10PlusMetadata:
        """As hdr10plus_tool writes it: scenes split where the metadata changes, ToolInfo hdrkit."""
        frames = split_scenes(self.frames)
        version = f"{self.infos[0].get('application_version', 1)}.0" if self.infos else "1.0"
        return Hdr10PlusMetadata(frames=frames, json_version=version)


def _payloads_decode_order(path: Path) -> tuple[list[list[bytes]], list[int]]:
    """(HDR10+ payloads per access unit in decode order, display rank of each)."""
    if _is_annexb_file(path):
        pls, views = [], []
        for au in _raw_access_units(path):
            pls.append(_hdr10plus_payloads(au))
            views.append(_poc_view(au))
        return pls, _display_ranks(_poc_keys(views))
    c = _Container(path)
    try:
        pls, pts, aus = [], [], []
        for pkt in c.packets():
            nals, _ = c.split(bytes(pkt))
            pls.append(_hdr10plus_payloads(nals))
            pts.append(pkt.pts)
            aus.append(_poc_view(nals))
        if any(p is None for p in pts):
            ranks = _display_ranks(_poc_keys(aus, c.header_nals))
        else:
            ranks = _display_ranks(pts)
        return pls, ranks
    finally:
        c.close()


def read_hdr10plus_stream(path) -> StreamHdr10Plus:
    """Read every frame's HDR10+ metadata of an HEVC stream, in display order.

    Raises
    ------
    ContainerError
        Not an HEVC stream, or malformed NAL units / SEI / parameter sets.
    MetadataError
        No HDR10+ SEI at all, or a truncated one.
    """
    path = Path(path)
    pls, ranks = _payloads_decode_order(path)
    if not pls:
        raise ContainerError(f"{path}: no HEVC access units")
    first = next((i for i, p in enumerate(pls) if p), None)
    if first is None:
        raise MetadataError(f"{path.name}: no HDR10+ (ST 2094-40) SEI in the stream")
    res = StreamHdr10Plus(frames=[], infos=[], access_units=len(pls), with_sei=sum(1 for p in pls if p),
                          leading_without=first, multiple=sum(1 for p in pls if len(p) > 1))
    parsed: list[tuple[Hdr10PlusFrame, dict] | None] = [None] * len(pls)
    cur = None
    for i, p in enumerate(pls):
        if p:
            cur = parse_hdr10plus_t35(p[0], i)
        parsed[i] = cur
    for i in range(first):
        parsed[i] = parsed[first]
    by_display: list = [None] * len(pls)
    for i, r in enumerate(ranks):
        by_display[r] = parsed[i]
    for pos, (fr, info) in enumerate(by_display):
        fr = dataclasses.replace(fr, sequence_frame_index=pos)
        probs = t35_problems(fr, info)
        if probs:
            res.invalid_frames += 1
            if len(res.problems) < 3:
                res.problems.append(f"frame {pos}: {probs[0]}")
        res.frames.append(fr)
        res.infos.append(info)
    return res


def extract_hdr10plus(path, *, strict: bool = False) -> Hdr10PlusMetadata:
    """Every frame's HDR10+ metadata of ``path`` (display order), hdr10plus_tool's JSON model.

    Metadata that fails hdr10plus_tool's validation is returned as read with a logged
    warning; ``strict`` raises :class:`MetadataError` instead. See
    :func:`read_hdr10plus_stream` for the other errors.
    """
    s = read_hdr10plus_stream(path)
    name = Path(path).name
    if s.leading_without:
        log.warning("%s: %d access unit(s) decoded before the first HDR10+ SEI take its metadata", name,
                    s.leading_without)
    if s.multiple:
        log.warning("%s: %d access unit(s) carry more than one HDR10+ message; the first is used", name, s.multiple)
    if s.problems:
        msg = (f"{name}: HDR10+ metadata of {s.invalid_frames} frame(s) fails validation "
               f"({'; '.join(s.problems[:2])})")
        if strict:
            raise MetadataError(msg)
        log.warning("%s; extracted as it is", msg)
    return s.metadata()


# ===================================================================== writing
@dataclass
class RewriteResult:
    """What :func:`inject_hdr10plus` / :func:`remove_hdr10plus` did."""

    path: Path
    access_units: int
    removed: int  # HDR10+ messages taken out
    inserted: int  # HDR10+ SEI NAL units put in


def _strip_hdr10plus(au: list[bytes]) -> tuple[list[bytes], int]:
    """The access unit without HDR10+ messages (other SEI messages kept), and how many went."""
    out, removed = [], 0
    for n in au:
        if len(n) > 2 and nal_type(n) == NAL_SEI_PREFIX:
            try:
                msgs = sei_messages(n)
            except MetadataError as e:
                raise ContainerError(f"malformed SEI NAL unit: {e}") from None
            keep = [(pt, pl) for pt, pl in msgs if not _is_hdr10plus(pt, pl)]
            if len(keep) != len(msgs):
                removed += len(msgs) - len(keep)
                if keep:
                    out.append(sei_nal(keep, header_byte1=n[1]))
                continue
        out.append(n)
    return out, removed


def _insert_sei(au: list[bytes], payload: bytes) -> list[bytes]:
    k = next((i for i, n in enumerate(au) if is_vcl(n)), None)
    if k is None:
        raise ContainerError("HEVC access unit without a slice")
    return au[:k] + [sei_nal([(_T35, payload)], header_byte1=au[k][1])] + au[k:]


def check_output(src, dst) -> None:
    """Refuse an output path that is the input (these commands have no in-place mode)."""
    try:
        check_not_input(src, dst)
    except OutputError:
        raise OutputError(f"output would overwrite the input {src}; write to another file") from None


def _check_paths(src: Path, dst: Path) -> bool:
    """True for a raw Annex B input. Refuse writing over the input or across kinds."""
    check_output(src, dst)
    raw = _is_annexb_file(src)
    out_raw = dst.suffix.lower() in RAW_SUFFIXES
    if raw and not out_raw:
        raise OptionError(f"{src.name} is a raw HEVC stream: write a raw stream too ({', '.join(RAW_SUFFIXES[:3])}); "
                          "it has no timestamps to put in a container")
    if not raw and out_raw:
        raise OptionError(f"{src.name} is a container: write a container (.mp4, .mov, .mkv, .ts), not {dst.suffix}")
    return raw


def _mux_options(dst: Path, streams) -> dict[str, str]:
    """MP4 / MOV: a movie timescale every stream's time base divides (the least common
    multiple, as FFmpeg's stream copy ends up with), so edit list durations stay exact
    instead of being rounded to the muxer's default of 1/1000 s."""
    if dst.suffix.lower() not in (".mp4", ".m4v", ".mov"):
        return {}
    ts = 1
    for s in streams:
        if s.time_base is not None and s.time_base.numerator == 1:
            ts = math.lcm(ts, s.time_base.denominator)
    return {"movie_timescale": str(ts)} if 1 < ts < 2**31 else {}


def _rewrite(src, dst, edit: Callable[[list[bytes], int], tuple[list[bytes], int, int]],
             check_count: Callable[[int], None] | None = None) -> RewriteResult:
    """Apply ``edit(nal_units, display_rank) -> (nal_units, removed, inserted)`` to every
    access unit of ``src`` and write ``dst`` atomically (same kind of file);
    ``check_count(access_units)`` runs before anything is written."""
    src, dst = Path(src), Path(dst)
    raw = _check_paths(src, dst)
    removed = inserted = 0
    if raw:  # two passes: picture order first, then the rewrite, never the whole stream in memory
        ranks = _display_ranks(_poc_keys(map(_poc_view, _raw_access_units(src))))
        if check_count is not None:
            check_count(len(ranks))
        n = 0
        with atomic_path(dst) as tmp, open(tmp, "wb") as out:
            for au in _raw_access_units(src):
                if n >= len(ranks):
                    raise ContainerError(f"{src.name} changed between two reads")
                new, rm, ins = edit(au, ranks[n])
                n += 1
                removed, inserted = removed + rm, inserted + ins
                out.write(join_annexb(new))
            out.flush()
            os.fsync(out.fileno())
        return RewriteResult(dst, n, removed, inserted)

    import av

    c = _Container(src)
    try:
        pts = [p.pts for p in c.packets()]
        if any(p is None for p in pts):
            aus = [_poc_view(c.split(bytes(p))[0]) for p in c.packets()]
            ranks = _display_ranks(_poc_keys(aus, c.header_nals))
        else:
            ranks = _display_ranks(pts)
        if check_count is not None:
            check_count(len(ranks))
        c.rewind()
        n_video = 0
        with atomic_path(dst) as tmp:
            try:
                oc = av.open(str(tmp), "w", options=_mux_options(dst, c.c.streams))
            except (av.error.FFmpegError, ValueError) as e:  # type: ignore[attr-defined]
                raise ContainerError(f"cannot write {dst.name}: {e}") from None
            try:
                oc.metadata.update(c.c.metadata)
                streams = {}
                for s in c.c.streams:
                    try:
                        o = oc.add_stream_from_template(s)
                    except (av.error.FFmpegError, ValueError, TypeError) as e:  # type: ignore[attr-defined]
                        raise ContainerError(f"cannot copy stream {s.index} ({s.type}) into {dst.suffix}: {e}") \
                            from None
                    o.metadata.update(s.metadata)
                    streams[s.index] = o
                for pkt in c.c.demux():
                    if pkt.stream.index == c.st.index:
                        if not pkt.size:
                            continue
                        if n_video >= len(ranks):
                            raise ContainerError(f"{src.name}: the video packets changed between two reads")
                        nals, ls = c.split(bytes(pkt))
                        new, rm, ins = edit(nals, ranks[n_video])
                        n_video += 1
                        removed, inserted = removed + rm, inserted + ins
                        data = join_annexb(new) if ls is None else join_length_prefixed(new, ls)
                        q = av.Packet(data)
                        q.pts, q.dts, q.time_base, q.duration = pkt.pts, pkt.dts, pkt.time_base, pkt.duration
                        q.is_keyframe = pkt.is_keyframe
                        q.stream = streams[pkt.stream.index]
                        oc.mux(q)
                    elif pkt.dts is not None or pkt.size:
                        pkt.stream = streams[pkt.stream.index]
                        oc.mux(pkt)
            except av.error.FFmpegError as e:  # type: ignore[attr-defined]
                raise ContainerError(f"cannot remux {src.name} into {dst.name}: {e}") from None
            finally:
                oc.close()
    finally:
        c.close()
    return RewriteResult(dst, n_video, removed, inserted)


def inject_hdr10plus(src, metadata, dst) -> RewriteResult:
    """Write ``dst``: ``src`` with one HDR10+ SEI per access unit, from ``metadata``.

    Parameters
    ----------
    src : path
        Raw Annex B HEVC, or MP4 / MOV / MKV / TS with HEVC video.
    metadata : Hdr10PlusMetadata or path
        One entry per frame in display order (a path is read with :func:`read_json`,
        validated strictly); entry i goes to the i-th frame shown.
    dst : path
        Same kind of file as ``src``; written atomically, ``src`` is only read.

    Raises
    ------
    MetadataError
        Frame count and metadata count differ, or a value does not fit its field.
    ContainerError, OptionError
        Malformed stream; output kind or path not allowed.
    """
    md = metadata if isinstance(metadata, Hdr10PlusMetadata) else read_json(metadata)
    payloads = [hdr10plus_t35(f) for f in md.frames]

    def edit(au, rank):
        au, rm = _strip_hdr10plus(au)
        return _insert_sei(au, payloads[rank]), rm, 1

    def check_count(n):
        if n != len(payloads):
            raise MetadataError(f"the metadata has {len(payloads)} frame(s), {Path(src).name} has {n}")

    return _rewrite(src, dst, edit, check_count)


def remove_hdr10plus(src, dst) -> RewriteResult:
    """Write ``dst``: ``src`` without HDR10+ SEI messages (other SEI messages and every
    slice kept byte for byte). Same paths and errors as :func:`inject_hdr10plus`."""

    def edit(au, rank):
        au, rm = _strip_hdr10plus(au)
        return au, rm, 0

    return _rewrite(src, dst, edit)
