"""A run's token timeline: when each content chunk arrived, and where the stream stalled."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass

# A gap is a stall when it is both far above the run's own rhythm and long enough for a person to
# notice: 4× the median inter-chunk gap, and more than a quarter of a second.
STALL_FACTOR = 4.0
STALL_MIN_S = 0.25


@dataclass(frozen=True)
class Stall:
    index: int  # the chunk that ended the gap
    start_s: float  # offset of the chunk before the gap
    gap_s: float


def gaps(offsets_s: Sequence[float]) -> list[float]:
    return [later - earlier for earlier, later in zip(offsets_s, offsets_s[1:], strict=False)]


def find_stalls(offsets_s: Sequence[float]) -> list[Stall]:
    """Gaps between content chunks longer than STALL_FACTOR × the median gap and STALL_MIN_S."""
    between = gaps(offsets_s)
    if not between:
        return []
    threshold = max(STALL_FACTOR * statistics.median(between), STALL_MIN_S)
    return [
        Stall(index=i + 1, start_s=offsets_s[i], gap_s=gap) for i, gap in enumerate(between) if gap > threshold
    ]


def count_stalls(offsets_s: Sequence[float], streaming: bool) -> int | None:
    """Stalls of a streamed run; None for a non-streamed one (its single chunk has no rhythm)."""
    return len(find_stalls(offsets_s)) if streaming else None
