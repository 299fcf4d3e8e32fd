"""Colour tags and input policy: the colour description hdrkit decodes a video with.

:func:`resolve_colour` turns a stream's H.273 code points (on the stream, else on its first
frame; :class:`hdrkit.video.reader.VideoReader` reads them) and the ``--assume-*`` options
into a :class:`ColourInfo`, and refuses to guess: a missing transfer, primaries, matrix or
range tag is an :class:`~hdrkit.errors.OptionError` naming the ``--assume-*`` option that
supplies it, with values suggested from the bit depth. A tag wins over an ``--assume-*``
value. Code points hdrkit cannot decode are a :class:`~hdrkit.errors.DecodeError`.

References
----------
- ITU-T H.273 (07/2021): ColourPrimaries, TransferCharacteristics, MatrixCoefficients,
  VideoFullRangeFlag code points.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass

from ..core.primaries import H273_PRIMARIES, H273_PRIMARY_CODES
from ..core.transfer import H273_TRANSFER_CODES, H273_TRANSFERS, HDR_TRANSFERS, TRANSFERS
from ..core.ycbcr import H273_MATRICES, H273_MATRIX_CODES
from ..errors import DecodeError, OptionError

__all__ = ["ColourInfo", "resolve_colour", "read_tags", "has_unspecified", "fill_unspecified", "TAG_NAMES",
           "TRANSFERS", "HDR_TRANSFERS"]

log = logging.getLogger("hdrkit.video")

#: H.273 TransferCharacteristics -> hdrkit transfer name. BT.709, BT.601 (6), BT.2020 10/12
#: bit (14, 15) share one curve: SDR, displayed with the BT.1886 EOTF.
_TRC = H273_TRANSFERS
#: H.273 ColourPrimaries -> :data:`hdrkit.core.primaries.PRIMARIES` key (12 = SMPTE EG 432 P3-D65).
_PRIM = H273_PRIMARIES
#: H.273 MatrixCoefficients -> :func:`hdrkit.core.ycbcr.ycbcr_weights` key.
_MATRIX = H273_MATRICES
_UNSPECIFIED = 2  # H.273 "unspecified" for primaries, transfer and matrix

# TRANSFERS (the source transfers, ``--assume-transfer`` choices) and HDR_TRANSFERS (everything
# else needs ``allow_sdr``) come from the core registry, :mod:`hdrkit.core.transfer`.
_RANGES = {"limited": False, "tv": False, "mpeg": False, "full": True, "pc": True, "jpeg": True}
_PIXFMT = re.compile(r"^yuvj?(420|422|444)p(?:(9|10|12|14|16)le)?$")


@dataclass(frozen=True)
class ColourInfo:
    """The colour description hdrkit decodes with (after tags and ``--assume-*``).

    ``transfer``: 'pq' | 'hlg' | 'bt1886' | 'srgb'; ``primaries``: 'bt2020' | 'p3' | 'bt709';
    ``matrix``: 'bt2020' (NCL) | 'bt709' | 'bt601'; ``full_range``; ``bit_depth``;
    ``chroma_shift`` (log2 subsampling x, y); ``assumed``: names of fields that came from
    ``--assume-*`` instead of a tag.
    """

    transfer: str
    primaries: str
    matrix: str
    full_range: bool
    bit_depth: int
    chroma_shift: tuple[int, int]
    pix_fmt: str
    assumed: tuple[str, ...] = ()

    @property
    def is_hdr(self) -> bool:
        return self.transfer in HDR_TRANSFERS

    def h273(self) -> dict[str, int]:
        """The description as H.273 code points (primaries, transfer, matrix, range: 1 tv / 2 pc)."""
        return {"color_primaries": H273_PRIMARY_CODES[self.primaries], "color_trc": H273_TRANSFER_CODES[self.transfer],
                "colorspace": H273_MATRIX_CODES[self.matrix], "color_range": 2 if self.full_range else 1}

    def ffmpeg_names(self) -> dict[str, str]:
        """The description as FFmpeg option values (``setparams`` / ``-color_*``)."""
        trc = {"pq": "smpte2084", "hlg": "arib-std-b67", "bt1886": "bt709", "srgb": "iec61966-2-1"}[self.transfer]
        prim = {"bt2020": "bt2020", "p3": "smpte432", "bt709": "bt709"}[self.primaries]
        mat = {"bt2020": "bt2020nc", "bt709": "bt709", "bt601": "smpte170m"}[self.matrix]
        return {"color_primaries": prim, "color_trc": trc, "colorspace": mat,
                "range": "pc" if self.full_range else "tv"}


def _enum_int(v) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return _UNSPECIFIED


#: The H.273 tags a stream or frame carries, by their PyAV attribute names.
TAG_NAMES = ("color_primaries", "color_trc", "colorspace", "color_range")


def read_tags(obj) -> dict[str, int]:
    """The H.273 code points of a PyAV codec context or frame (one that does not read as an
    integer counts as unspecified)."""
    return {k: _enum_int(getattr(obj, k, None)) for k in TAG_NAMES}


def has_unspecified(tags: dict[str, int]) -> bool:
    """Whether a tag is still to be looked for on the first frame: primaries, transfer or
    matrix 0 or 2 (unspecified), range 0 (unknown)."""
    return any(tags[k] in (0, _UNSPECIFIED) for k in ("color_primaries", "color_trc", "colorspace")) \
        or tags["color_range"] == 0


def fill_unspecified(tags: dict[str, int], more: dict[str, int]) -> None:
    """Take each tag that is 0 or 2 in ``tags`` from ``more`` where ``more`` has another value
    (the first frame completes what the stream does not say); in place."""
    for k in tags:
        v = more[k]
        if tags[k] in (0, _UNSPECIFIED) and v not in (0, _UNSPECIFIED):
            tags[k] = v


def _untagged_message(missing: list[str], trc: str | None, bits: int, full: bool | None) -> str:
    """Name the missing tags and suggest values: 8-bit untagged video is almost always SDR
    BT.709 (ITU-R BT.1886 display); 10-bit or more HDR in BT.2020 (PQ or HLG, which only the
    source can tell)."""
    sdr = trc in ("bt1886", "srgb") or (trc is None and bits <= 8)
    guess = {"--assume-transfer": "bt1886" if sdr else "pq|hlg", "--assume-primaries": "bt709" if sdr else "bt2020",
             "--assume-matrix": "bt709" if sdr else "bt2020", "--assume-range": "full" if full else "limited"}
    flags = " ".join(f"{f} {guess[f]}" for f in missing) + (" --allow-sdr" if sdr else "")
    kind = "most likely SDR BT.709" if sdr else "most likely HDR BT.2020; the transfer only the source can tell"
    return (f"the input does not say its colour {'/'.join(f[9:] for f in missing)}; hdrkit does not guess: check "
            f"with the source and pass e.g. {flags} ({bits}-bit, {kind})")


def resolve_colour(tags: dict[str, int], pix_fmt: str, *, assume_transfer=None, assume_primaries=None,
                   assume_matrix=None, assume_range=None) -> ColourInfo:
    """Tags (H.273 ints: color_primaries, color_trc, colorspace, color_range) -> :class:`ColourInfo`.

    A tag wins over an ``assume_*`` value; a missing tag without one raises OptionError.
    """
    m = _PIXFMT.match(pix_fmt or "")
    if not m:
        raise DecodeError(f"unsupported pixel format {pix_fmt!r}: hdrkit reads planar Y'CbCr 4:2:0 / 4:2:2 / 4:4:4")
    sub = {"420": (1, 1), "422": (1, 0), "444": (0, 0)}[m.group(1)]
    bits = int(m.group(2) or 8)
    assumed = []
    missing = []

    def pick(code, table, assume, what, flag, choices):
        if code in table:
            if assume and assume != table[code]:
                log.info("%s is tagged %s; ignoring %s %s", what, table[code], flag, assume)
            return table[code]
        if code not in (_UNSPECIFIED, 0) or (what == "matrix" and code == 0):
            raise DecodeError(f"unsupported {what} (H.273 code {code}); hdrkit handles {', '.join(choices)}")
        if assume:
            if assume not in choices:
                raise OptionError(f"{flag} must be one of {', '.join(choices)}, not {assume!r}")
            assumed.append(what)
            return assume
        missing.append(flag)
        return None

    trc = pick(tags.get("color_trc", 2), _TRC, assume_transfer, "transfer", "--assume-transfer", TRANSFERS)
    prim = pick(tags.get("color_primaries", 2), _PRIM, assume_primaries, "primaries", "--assume-primaries",
                ("bt2020", "p3", "bt709"))
    mat = pick(tags.get("colorspace", 2), _MATRIX, assume_matrix, "matrix", "--assume-matrix",
               ("bt2020", "bt709", "bt601"))
    rng = tags.get("color_range", 0)
    full = None
    if pix_fmt.startswith("yuvj"):
        full = True
    elif rng in (1, 2):
        full = rng == 2
    elif assume_range:
        if assume_range.lower() not in _RANGES:
            raise OptionError(f"--assume-range must be limited or full, not {assume_range!r}")
        full = _RANGES[assume_range.lower()]
        assumed.append("range")
    else:
        missing.append("--assume-range")
    if missing:
        raise OptionError(_untagged_message(missing, trc, bits, full))
    return ColourInfo(trc, prim, mat, bool(full), bits, sub, pix_fmt, tuple(assumed))
