"""Statistics: bootstrap intervals cover a known shift, equal data is "no clear difference", repeats needed."""

import numpy as np
import pytest

from playground.stats import (
    NO_CLEAR_DIFFERENCE,
    Side,
    compare_sides,
    comparisons_view,
    difference_ci,
    median_ci,
    repeats_needed,
    verdict,
)
from playground.tables import runs_frame
from tests.fakes import record_with

SHIFT_S = 0.2


def _runs(a_values, b_values, same_batch: bool = True):
    """Pane a and pane b, one pair per batch (as panes answering side by side)."""
    records = []
    for i, (a, b) in enumerate(zip(a_values, b_values, strict=True)):
        stamp = f"2026-01-01T00:{i // 60:02d}:{i % 60:02d}.000000+00:00"
        records.append(record_with(run_id=f"a{i}", pane="a", batch_id=f"b{i}", ttft_s=float(a), started_at=stamp))
        records.append(
            record_with(run_id=f"b{i}", pane="b", batch_id=f"b{i}" if same_batch else f"x{i}", ttft_s=float(b),
                        started_at=stamp, prompt=f"p{i}" if not same_batch else "hi")
        )  # fmt: skip
    return runs_frame(r.as_row() for r in records)


def test_the_interval_covers_a_known_shift_and_names_the_faster_side():
    rng = np.random.default_rng(7)
    base = rng.lognormal(mean=-1.0, sigma=0.3, size=40)
    a = base + rng.normal(0, 0.02, 40)
    b = base + SHIFT_S + rng.normal(0, 0.02, 40)
    result = compare_sides(_runs(a, b), Side("a"), Side("b"), "ttft_s")
    assert result.pairs == 40
    assert result.low <= -SHIFT_S <= result.high
    assert result.verdict == "A faster" and result.more_repeats == 0
    # The other way round, and for a metric where larger is faster.
    assert compare_sides(_runs(b, a), Side("a"), Side("b"), "ttft_s").verdict == "B faster"
    assert verdict("decode_tps", 5.0, 9.0) == "A faster"


def test_intervals_cover_the_true_shift_about_95_percent_of_the_time():
    rng = np.random.default_rng(11)
    covered = 0
    trials = 100
    for _ in range(trials):
        a = rng.normal(1.0, 0.1, 30)
        b = rng.normal(1.0 + SHIFT_S, 0.1, 30)
        _, low, high = difference_ci(a, b, paired=False)
        covered += low <= -SHIFT_S <= high
    assert covered >= 85, f"covered the true shift in {covered} of {trials} trials"


def test_samples_from_one_distribution_give_no_clear_difference_and_ask_for_more_repeats():
    rng = np.random.default_rng(3)
    a, b = rng.normal(1.0, 0.1, 20), rng.normal(1.0, 0.1, 20)
    result = compare_sides(_runs(a, b), Side("a"), Side("b"), "ttft_s")
    assert result.verdict == NO_CLEAR_DIFFERENCE
    assert result.low < 0 < result.high
    assert result.more_repeats is None or result.more_repeats >= 1
    identical = compare_sides(_runs(a, a), Side("a"), Side("b"), "ttft_s")
    assert (identical.difference, identical.verdict, identical.more_repeats) == (0.0, NO_CLEAR_DIFFERENCE, None)


def test_repeats_needed_follows_the_half_width_shrinking_as_one_over_root_n():
    # d = 0.1 with the half-width towards zero 0.2 at n = 10: needs n' > 10 · (0.2/0.1)² = 40.
    assert repeats_needed(10, 0.1, -0.1, 0.3) == 30
    assert repeats_needed(10, -0.1, -0.3, 0.1) == 30
    assert repeats_needed(10, 0.1, 0.05, 0.2) == 0


def test_unpaired_sides_are_compared_by_their_medians():
    a, b = [1.0, 1.1, 1.2, 1.0, 1.1], [2.0, 2.1, 2.2, 2.0, 2.1]
    result = compare_sides(_runs(a, b, same_batch=False), Side("a"), Side("b"), "ttft_s")
    assert result.pairs == 0 and result.difference == pytest.approx(-1.0)
    assert result.verdict == "A faster"


def test_too_few_runs_give_no_interval_and_say_so():
    result = compare_sides(_runs([1.0, 1.1], [2.0, 2.1]), Side("a"), Side("b"), "ttft_s")
    assert result.difference is None and result.verdict == NO_CLEAR_DIFFERENCE
    assert comparisons_view([result]).iloc[0]["95% CI"] == "fewer than 3 runs a side"
    assert median_ci([1.0, 2.0]) is None


def test_warmup_and_failed_runs_are_left_out():
    runs = _runs([1.0] * 5, [2.0] * 5)
    runs.loc[runs["run_id"] == "a0", "warmup"] = True
    runs.loc[runs["run_id"] == "b1", "status"] = "error"
    result = compare_sides(runs, Side("a"), Side("b"), "ttft_s")
    assert (result.n_a, result.n_b, result.pairs) == (4, 4, 3)


def test_the_interval_is_the_same_every_time():
    values = np.random.default_rng(5).normal(1, 0.2, 25)
    assert median_ci(values) == median_ci(values)
