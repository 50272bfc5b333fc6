"""`compare --until-clear`: repeat stream against non-stream until every pane's difference is clear.

One repeat (both modes, every prompt, in alternating order) at a time; after each, every pane's
stream and non-stream runs of this invocation are compared pair by pair (playground.stats) on TTFT
and E2E (or the metrics asked for). It stops when every pane with successful runs in both modes has a
clear verdict on each, when no pane has them (nothing to compare), or at the cap.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from playground.backends.base import MODES
from playground.compare import ComparePlan, run_compare
from playground.panes import Pane
from playground.records import RunRecord
from playground.runner import FanOutRunner
from playground.stats import Comparison, Side, compare_sides
from playground.tables import runs_frame

DECIDING_METRICS = ("ttft_s", "e2e_s")


@dataclass(frozen=True)
class UntilClearResult:
    records: list[RunRecord]
    repeats: int
    comparisons: list[Comparison]
    failed_panes: dict[str, str]  # pane → why it has nothing to compare (no successful run in a mode)

    @property
    def resolved(self) -> bool:
        return all(c.resolved for c in self.comparisons)


def mode_comparisons(
    records: Sequence[RunRecord], pane_names: Sequence[str], metrics: Sequence[str] = DECIDING_METRICS
) -> tuple[list[Comparison], dict[str, str]]:
    """Stream (A) against non-stream (B) per pane and metric; and why the other panes have nothing to compare."""
    runs = runs_frame(r.as_row() for r in records)
    comparisons: list[Comparison] = []
    failed: dict[str, str] = {}
    for name in pane_names:
        answered = set(runs.loc[(runs["pane"] == name) & (runs["status"] == "ok"), "mode"])
        missing = [mode for mode in MODES if mode not in answered]
        if missing:
            failed[name] = "no successful run" if len(missing) == len(MODES) else f"no successful {missing[0]} run"
            continue
        for metric in metrics:
            comparisons.append(compare_sides(runs, Side(name, "stream"), Side(name, "non-stream"), metric))
    return comparisons, failed


def run_until_clear(
    panes: Sequence[Pane],
    runner: FanOutRunner,
    prompts: tuple[str, ...],
    max_repeat: int,
    on_repeat: Callable[[int, list[Comparison]], None] | None = None,
    metrics: Sequence[str] = DECIDING_METRICS,
) -> UntilClearResult:
    """Repeat until resolved or `max_repeat` repeats; Ctrl-C cancels the fan-out in flight, as compare does."""
    names = [pane.name for pane in panes]
    records: list[RunRecord] = []
    comparisons: list[Comparison] = []
    failed: dict[str, str] = {}
    repeats = 0
    while repeats < max_repeat:
        records += run_compare(panes, runner, ComparePlan(prompts, modes=MODES, repeat=1, first_repeat=repeats))
        repeats += 1
        comparisons, failed = mode_comparisons(records, names, metrics)
        if on_repeat is not None:
            on_repeat(repeats, comparisons)
        # A comparison with fewer than MIN_RUNS pairs (warm-ups are left out) is never resolved.
        if comparisons and all(c.resolved for c in comparisons):
            break
        if len(failed) == len(names):
            break
    return UntilClearResult(records, repeats, comparisons, failed)
