"""Stall detection on a run's chunk offsets."""

from playground.timeline import STALL_MIN_S, count_stalls, find_stalls


def steady(n: int, gap: float) -> list[float]:
    return [0.2 + i * gap for i in range(n)]


def test_a_steady_stream_has_no_stalls():
    assert find_stalls(steady(50, 0.02)) == []


def test_one_long_gap_is_one_stall_at_the_chunk_that_ended_it():
    offsets = steady(20, 0.02)
    offsets = offsets[:10] + [t + 0.8 for t in offsets[10:]]
    (stall,) = find_stalls(offsets)
    assert stall.index == 10 and abs(stall.gap_s - 0.82) < 1e-9 and stall.start_s == offsets[9]


def test_a_gap_above_four_medians_but_below_the_floor_is_not_a_stall():
    offsets = steady(20, 0.01)
    offsets = offsets[:10] + [t + STALL_MIN_S / 2 for t in offsets[10:]]
    assert find_stalls(offsets) == []


def test_a_slow_but_even_stream_has_no_stalls():
    assert find_stalls(steady(10, 0.5)) == []


def test_non_streamed_runs_have_no_count_and_short_ones_none():
    assert count_stalls([1.0], streaming=False) is None
    assert count_stalls([], streaming=True) == 0
    assert count_stalls([0.3], streaming=True) == 0
