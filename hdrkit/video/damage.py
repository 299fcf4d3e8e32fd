"""Damage tracking: what a decode did not deliver, as decoder errors and missing time ranges.

:class:`GapTracker` follows a decode loop (packets sent, frames received) and records in a
:class:`Damage` every decoder error, every packet that was read but gave no frame, every
jump of more than three nominal frame durations between frames and a stream that ends before
the duration its container announces. Completeness is judged on the timeline the container
presents: packets an edit list discards are not expected to give a frame, and a frame count
that reaches the presented count is whole (:func:`hdrkit.video.timeline.presented_frames`).
Variable frame rates are not mistaken for gaps.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["Damage", "GapTracker"]


@dataclass
class Damage:
    """What did not decode: decoder errors and missing time ranges (seconds)."""

    errors: list[str] = field(default_factory=list)
    gaps: list[tuple[float, float]] = field(default_factory=list)
    corrupt_frames: list[int] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.errors or self.gaps or self.corrupt_frames)

    def summary(self) -> str:
        parts = []
        if self.gaps:
            parts.append("missing " + ", ".join(f"{a:.3f}-{b:.3f} s" for a, b in self.gaps))
        if self.errors:
            parts.append(f"{len(self.errors)} decoder error(s)")
        if self.corrupt_frames:
            parts.append(f"{len(self.corrupt_frames)} frame(s) flagged corrupt")
        return "; ".join(parts) or "none"

    def to_dict(self) -> dict:
        return {"errors": list(self.errors), "gaps": [list(g) for g in self.gaps],
                "corrupt_frames": list(self.corrupt_frames)}

    def add_gap(self, t0: float, t1: float) -> None:
        """Record a missing time range, merged with every adjacent or overlapping one (sorted)."""
        t0, t1 = round(t0, 6), round(t1, 6)
        keep = []
        for a, b in self.gaps:
            if t0 <= b + 1e-6 and t1 >= a - 1e-6:
                t0, t1 = min(a, t0), max(b, t1)
            else:
                keep.append((a, b))
        self.gaps[:] = sorted(keep + [(t0, t1)])


class GapTracker:
    """Follows one decode loop and records what is missing in ``damage``.

    Parameters
    ----------
    damage : Damage
        Where errors and gaps go.
    nominal : float
        Nominal frame duration in seconds (0 if the frame rate is unknown: no jump or end
        checks then).
    time_base : float
        The stream's time base in seconds per tick.
    """

    def __init__(self, damage: Damage, nominal: float, time_base: float):
        self.damage = damage
        self.nominal = nominal
        self.time_base = time_base
        self._sent: dict[int, float] = {}  # pts -> duration (s) of every presented video packet demuxed
        self._got: set[int] = set()
        self.prev_end: float | None = None

    def packet(self, pts: int, duration: int | None) -> None:
        """A presented, non-empty packet with timestamp ``pts`` was sent to the decoder."""
        self._sent[pts] = float(duration or 0) * self.time_base or self.nominal

    def received(self, pts: int | None) -> None:
        """The decoder gave a frame with timestamp ``pts``."""
        if pts is not None:
            self._got.add(pts)

    def frame(self, index: int, time: float, duration: float, corrupt: bool, *, jumps: bool = True) -> None:
        """Frame number ``index`` (presented at ``time`` s for ``duration`` s) is delivered; a
        jump of more than 3 nominal frame durations with no packet to explain it is a gap
        (unless ``jumps`` is False)."""
        if jumps and self.prev_end is not None and self.nominal and time - self.prev_end > 3 * self.nominal:
            self.damage.add_gap(self.prev_end, time)
        if corrupt:
            self.damage.corrupt_frames.append(index)
        self.prev_end = time + duration

    def finish(self, frames: int, presented: int, start_time: float, duration: float) -> None:
        """The stream ended after ``frames`` frames; ``presented`` is the container's presented
        frame count (0 if unknown), ``start_time`` and ``duration`` (s) what it announces."""
        if self.prev_end is None:
            self.damage.errors.append("no frame decoded")
            return
        # packets that were read but gave no frame (decoder dropped or refused them)
        lost = sorted(p for p in self._sent if p not in self._got)
        for p in lost:
            t0 = p * self.time_base
            self.damage.add_gap(t0, t0 + self._sent[p])
        # a stream that ends before the duration its container announces (truncated file); an edit
        # list may end up to a frame after the last presented frame (it starts inside a dropped
        # one), so a count that matches the container's presented frames is whole
        whole = presented and frames >= presented
        if duration and self.nominal and not whole and start_time + duration - self.prev_end > 0.5 * self.nominal:
            self.damage.add_gap(self.prev_end, start_time + duration)
