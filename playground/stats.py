"""Differences you can trust: bootstrap confidence intervals of medians and paired comparisons.

Every interval is a 95 % percentile bootstrap (`scipy.stats.bootstrap`, method "percentile";
BCa's jackknife is unstable for the median of a handful of runs) with a fixed seed, so the same
runs always give the same table. scipy resamples each sample of `data` independently, and with
`paired=False` (its default) two samples are resampled apart, as an unpaired comparison needs
(docs.scipy.org/doc/scipy/reference/generated/scipy.stats.bootstrap.html). Fewer than `MIN_RUNS` values give no interval.

A paired comparison matches each run of side A with a run of side B made on the same occasion:
the same batch (two panes answering side by side), else the same session, turn, repeat and prompt
(stream against non-stream of one pane, whose modes run in consecutive fan-outs); several runs
on one occasion are matched in the order they started. The statistic is the median of the
differences A − B. When too few runs pair up, the two sides are resampled independently and
the statistic is the difference of their medians.

How many more repeats would separate the sides: the interval's half-width on the side towards
zero, h, shrinks as 1/√n, so it excludes zero once n' > n · (h / |d|)², d being the observed
median difference. That assumes the spread stays as observed; it is a planning figure, not a promise.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

CONFIDENCE = 0.95
SEED = 20_251_123
N_RESAMPLES = 2_000
# Resamples held in memory at once: a long log's group of 10,000 runs then needs 40 MB, not 160.
RESAMPLES_PER_BATCH = 500
MIN_RUNS = 3
# For these metrics a smaller value is faster; for the others (tokens per second) a larger one.
LOWER_IS_FASTER = frozenset({"ttft_s", "e2e_s", "ttfc_s", "tpot_s"})
COMPARED_METRICS = ("ttft_s", "e2e_s", "decode_tps")
NO_CLEAR_DIFFERENCE = "no clear difference"
PAIRED_COLUMNS = ["metric", "A", "B", "runs A / B", "pairs", "median A − B", "95% CI", "verdict", "more repeats"]


def median_ci(values: Sequence[float] | np.ndarray) -> tuple[float, float] | None:
    """95 % bootstrap interval of the median; None for fewer than MIN_RUNS values."""
    data = np.asarray(values, dtype=float)
    data = data[~np.isnan(data)]
    if len(data) < MIN_RUNS:
        return None
    return _bootstrap_interval((data,), np.median)


def _bootstrap_interval(samples: tuple[np.ndarray, ...], statistic: Callable[..., np.ndarray]) -> tuple[float, float]:
    """The percentile bootstrap interval of `statistic` over `samples` (seeded: the same data, the same interval)."""
    from scipy import stats as scipy_stats  # ~1 s to import: loaded by the first interval, not at start-up

    result = scipy_stats.bootstrap(
        samples, statistic, n_resamples=N_RESAMPLES, batch=RESAMPLES_PER_BATCH, confidence_level=CONFIDENCE,
        method="percentile", rng=np.random.default_rng(SEED),
    )  # fmt: skip
    interval = result.confidence_interval
    return float(interval.low), float(interval.high)


def _difference_of_medians(a: np.ndarray, b: np.ndarray, axis: int = -1) -> np.ndarray:
    return np.median(a, axis=axis) - np.median(b, axis=axis)


def difference_ci(a: Sequence[float], b: Sequence[float], paired: bool) -> tuple[float, float, float] | None:
    """(statistic, low, high): the median of A − B when paired, else median(A) − median(B)."""
    a_values, b_values = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if paired:
        differences = a_values - b_values
        interval = median_ci(differences)
        return None if interval is None else (float(np.median(differences)), *interval)
    if min(len(a_values), len(b_values)) < MIN_RUNS:
        return None
    low, high = _bootstrap_interval((a_values, b_values), _difference_of_medians)
    return float(_difference_of_medians(a_values, b_values)), low, high


def verdict(metric: str, low: float, high: float) -> str:
    """"A faster", "B faster" or "no clear difference", from the interval of A − B."""
    if low <= 0 <= high:
        return NO_CLEAR_DIFFERENCE
    a_smaller = high < 0
    return "A faster" if a_smaller == (metric in LOWER_IS_FASTER) else "B faster"


def repeats_needed(n: int, difference: float, low: float, high: float) -> int | None:
    """More runs (pairs) needed before the interval excludes zero, at the observed spread.

    0 when it already does; None when the observed difference is zero (no number of repeats would do).
    """
    if not (low <= 0 <= high):
        return 0
    if difference == 0 or math.isnan(difference):
        return None
    half_width = (difference - low) if difference > 0 else (high - difference)
    needed = math.ceil(n * (half_width / abs(difference)) ** 2)
    return max(needed - n, 1)


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a pane, in one mode or (None) in any."""

    pane: str
    mode: str | None = None

    @property
    def label(self) -> str:
        return self.pane if self.mode is None else f"{self.pane} ({self.mode})"

    def runs(self, runs: pd.DataFrame, metric: str) -> pd.DataFrame:
        """The side's successful, measured runs; warm-up runs (model loading, first connection) are left out."""
        chosen = runs[(runs["pane"] == self.pane) & (runs["status"] == "ok") & ~runs["warmup"].astype(bool)]
        if self.mode is not None:
            chosen = chosen[chosen["mode"] == self.mode]
        return chosen[chosen[metric].notna()].sort_values("started_at")


@dataclass(frozen=True)
class Comparison:
    metric: str
    a: Side
    b: Side
    n_a: int
    n_b: int
    pairs: int  # matched pairs; 0 when the sides were compared unpaired
    difference: float | None  # A − B, in the metric's unit
    low: float | None
    high: float | None
    verdict: str
    more_repeats: int | None

    @property
    def resolved(self) -> bool:
        return self.verdict != NO_CLEAR_DIFFERENCE


def paired_values(a_runs: pd.DataFrame, b_runs: pd.DataFrame, metric: str) -> tuple[list[float], list[float]]:
    """Values of A and B matched by occasion (see the module's docstring): by batch when that gives
    enough pairs, else by session, turn, repeat and prompt."""
    best: tuple[list[float], list[float]] = ([], [])
    for key in (["batch_id"], ["session_id", "turn", "repeat", "prompt"]):
        a_values: list[float] = []
        b_values: list[float] = []
        b_groups = {k: group for k, group in b_runs.groupby(key, sort=False)}
        for k, a_group in a_runs.groupby(key, sort=False):
            b_group = b_groups.get(k)
            if b_group is None:
                continue
            for a_value, b_value in zip(a_group[metric], b_group[metric], strict=False):
                a_values.append(float(a_value))
                b_values.append(float(b_value))
        if len(a_values) > len(best[0]):
            best = (a_values, b_values)
        if len(best[0]) >= MIN_RUNS:
            break
    return best


def compare_sides(runs: pd.DataFrame, a: Side, b: Side, metric: str) -> Comparison:
    """The median difference A − B of `metric` with its 95 % interval, the verdict and the repeats still needed."""
    a_runs, b_runs = a.runs(runs, metric), b.runs(runs, metric)
    a_paired, b_paired = paired_values(a_runs, b_runs, metric)
    paired = len(a_paired) >= MIN_RUNS
    if paired:
        found = difference_ci(a_paired, b_paired, paired=True)
    else:
        found = difference_ci(a_runs[metric].to_numpy(float), b_runs[metric].to_numpy(float), paired=False)
    counts = {"metric": metric, "a": a, "b": b, "n_a": len(a_runs), "n_b": len(b_runs), "pairs": len(a_paired) if paired else 0}
    if found is None:
        return Comparison(**counts, difference=None, low=None, high=None, verdict=NO_CLEAR_DIFFERENCE, more_repeats=None)
    difference, low, high = found
    n = len(a_paired) if paired else min(len(a_runs), len(b_runs))
    return Comparison(
        **counts, difference=difference, low=low, high=high, verdict=verdict(metric, low, high),
        more_repeats=repeats_needed(n, difference, low, high),
    )  # fmt: skip


def comparisons_view(comparisons: Sequence[Comparison]) -> pd.DataFrame:
    """One row per metric, for reading (page and command line)."""
    rows = []
    for c in comparisons:
        measured = c.difference is not None
        rows.append(
            {
                "metric": c.metric,
                "A": c.a.label,
                "B": c.b.label,
                "runs A / B": f"{c.n_a} / {c.n_b}",
                "pairs": c.pairs if c.pairs else "unpaired",
                "median A − B": f"{c.difference:+.4f}" if measured else "",
                "95% CI": f"[{c.low:+.4f}, {c.high:+.4f}]" if measured else f"fewer than {MIN_RUNS} runs a side",
                "verdict": c.verdict,
                "more repeats": _more_repeats_text(c),
            }
        )
    return pd.DataFrame(rows, columns=PAIRED_COLUMNS)


def _more_repeats_text(comparison: Comparison) -> str:
    if comparison.difference is None:
        return f"at least {MIN_RUNS} runs a side"
    if comparison.more_repeats is None:
        return "none would do: the medians are equal"
    return str(comparison.more_repeats)
