"""A run's token timeline: when each content chunk arrived, and where the stream stalled."""

from __future__ import annotations

import bisect
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
    threshold = _stall_threshold(statistics.median(between))
    return [
        Stall(index=i + 1, start_s=offsets_s[i], gap_s=gap) for i, gap in enumerate(between) if gap > threshold
    ]


def count_stalls(sorted_gaps_s: Sequence[float], streaming: bool) -> int | None:
    """How many stalls `find_stalls` would find in the same gaps, given in ascending order (counted by
    bisection, no list of stalls: this runs for every record); None for a non-streamed run (its single chunk
    has no rhythm)."""
    if not streaming:
        return None
    if not sorted_gaps_s:
        return 0
    threshold = _stall_threshold(statistics.median(sorted_gaps_s))
    return len(sorted_gaps_s) - bisect.bisect_right(sorted_gaps_s, threshold)


def _stall_threshold(median_gap_s: float) -> float:
    return max(STALL_FACTOR * median_gap_s, STALL_MIN_S)
