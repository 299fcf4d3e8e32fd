"""HDR video decoding, by the names it has always been imported under.

The work is done in one module per job; this module re-exports their public names so
``from hdrkit.video.decode import VideoReader`` keeps working:

- :mod:`hdrkit.video.tags` - colour tags and input policy (:class:`ColourInfo`,
  :func:`resolve_colour`, :data:`TRANSFERS`, :data:`HDR_TRANSFERS`);
- :mod:`hdrkit.video.reader` - the PyAV frame reader (:class:`VideoReader`,
  :class:`DecodedFrame`);
- :mod:`hdrkit.video.damage` - what did not decode (:class:`Damage`);
- :mod:`hdrkit.video.timeline` - frames a container presents (:func:`presented_frames`);
- :mod:`hdrkit.video.threads` - decoder threads and prefetching (:func:`prefetch`,
  :func:`queue_depth`, :func:`usable_cores`).
"""

from __future__ import annotations

from .damage import Damage
from .reader import DecodedFrame, VideoReader
from .tags import HDR_TRANSFERS, TRANSFERS, ColourInfo, resolve_colour
from .threads import prefetch, queue_depth, usable_cores
from .timeline import presented_frames

__all__ = [
    "ColourInfo",
    "DecodedFrame",
    "Damage",
    "VideoReader",
    "TRANSFERS",
    "HDR_TRANSFERS",
    "prefetch",
    "presented_frames",
    "queue_depth",
    "resolve_colour",
    "usable_cores",
]
