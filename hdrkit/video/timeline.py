"""The timeline a container presents: how many frames a video stream shows.

An MP4 / MOV edit list (phone captures, stream-copied cuts) can start the presentation after
the first packets: FFmpeg's demuxer keeps those packets, since later frames reference them,
flags them ``AV_PKT_FLAG_DISCARD`` (PyAV ``Packet.is_discard``), and libavcodec drops the
frames decoded from them. Such packets are not expected to give a frame, and the frame count
is the container's sample count less its discarded samples (:func:`presented_frames`), the
count ``ffmpeg -i IN -map 0:v -f null -`` decodes.
"""

from __future__ import annotations

__all__ = ["presented_frames"]


def presented_frames(stream) -> int:
    """Frames a video stream presents: the samples its container lists, less those an edit list
    discards; 0 if the container does not say.

    FFmpeg's MP4 / MOV demuxer indexes every sample and flags those outside the edit list
    (``AVINDEX_DISCARD_FRAME``; PyAV ``IndexEntry.is_discard``): their packets are decoded as
    references only and give no frame. Containers without a full index (Matroska cues, a
    fragmented MP4) give the stream's announced frame count.

    Parameters
    ----------
    stream : av.video.stream.VideoStream
        An opened input stream (nothing is read from the file).

    Returns
    -------
    int
        Frame count, or 0 when unknown.

    References
    ----------
    - ISO/IEC 14496-12 (ISOBMFF) 8.6.6, Edit List Box.
    - FFmpeg ``libavformat/mov.c`` ``mov_fix_index`` (discarded samples) and
      ``libavcodec/decode.c`` (frames of ``AV_PKT_FLAG_DISCARD`` packets are dropped).
    """
    n = int(stream.frames or 0)
    try:
        entries = stream.index_entries
        if n and len(entries) == n:
            return sum(1 for e in entries if not e.is_discard)
    except AttributeError:  # pragma: no cover - PyAV without index entries
        pass
    return n
