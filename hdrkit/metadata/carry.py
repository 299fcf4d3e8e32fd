"""Dynamic HDR metadata an output does not carry: one notice line and one JSON record each.

HDR10+ (SMPTE ST 2094-40) and a Dolby Vision RPU describe each frame of the picture they
come with. When a command writes an output without them (an SDR proxy, an encode with
``--hdr10plus drop``, a Dolby Vision input re-encoded as its base layer), it says so: a
``note:`` line through the ``hdrkit`` logger (the command line prints it on stderr as
``hdrkit: note: IN: HDR10+ (N frames) not carried into OUT: WHY``) and a record in the
command's ``dropped_metadata`` list (``--json``).
"""

from __future__ import annotations

import logging

__all__ = ["HDR10PLUS", "DOLBY_VISION_RPU", "dropped", "note_dropped"]

log = logging.getLogger("hdrkit.metadata")

HDR10PLUS = "HDR10+"
DOLBY_VISION_RPU = "Dolby Vision RPU"


def dropped(metadata: str, src, dst, reason: str, *, frames: int | None = None, detail: str | None = None) -> dict:
    """The record of one kind of dynamic metadata not carried from ``src`` into ``dst``.

    Parameters
    ----------
    metadata : str
        :data:`HDR10PLUS` or :data:`DOLBY_VISION_RPU`.
    src, dst : path-like
        Input and output files.
    reason : str
        Why, in a few words (e.g. ``"--hdr10plus drop"``).
    frames : int, optional
        How many input frames carry it (None: not counted).
    detail : str, optional
        What it is, e.g. ``"profile 8.4"``.

    Returns
    -------
    dict
        ``metadata``, ``frames``, ``detail``, ``reason`` and ``note`` (the notice line,
        ``note: SRC: WHAT not carried into DST: REASON``).
    """
    what = ", ".join(x for x in (f"{frames} frames" if frames is not None else None, detail) if x)
    label = f"{metadata} ({what})" if what else metadata
    return {"metadata": metadata, "frames": frames, "detail": detail, "reason": reason,
            "note": f"note: {src}: {label} not carried into {dst}: {reason}"}


def note_dropped(records: list[dict]) -> list[dict]:
    """Log each record's notice (one line each, level WARNING); returns ``records``."""
    for r in records:
        log.warning("%s", r["note"])
    return records
