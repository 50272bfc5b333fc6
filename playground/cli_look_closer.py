"""The "look closer" commands: `replay`, `sweep` and `compare --until-clear`.

Kept apart from playground.cli, which parses the arguments and dispatches here. This module builds on cli's shared
helpers, so cli imports it only inside the functions that need it; importing it at cli's top would be a cycle.
"""

from __future__ import annotations

import argparse
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from playground.backends.base import MODES
from playground.cli import print_failures, report_runs, selected_panes
from playground.config import load_config
from playground.errors import PlaygroundError
from playground.panes import build_panes
from playground.records import RunRecord
from playground.runner import FanOutRunner
from playground.store import RunStore, resolve_store_location
from playground.tables import counted, runs_frame, write_runs_csv

if TYPE_CHECKING:
    from playground.sweep import Sweep


def _compare_until_clear(args: argparse.Namespace, panes: list, prompts: tuple[str, ...], store: RunStore) -> int:
    from playground.stats import COMPARED_METRICS, comparisons_view
    from playground.until_clear import run_until_clear

    if args.max_repeat < 1:
        raise PlaygroundError("--max-repeat must be at least 1.")
    unknown = [m for m in args.clear_on if m not in COMPARED_METRICS]
    if unknown or not args.clear_on:
        raise PlaygroundError(f"--clear-on takes {', '.join(COMPARED_METRICS)} (comma-separated), not {','.join(unknown)!r}.")
    if args.modes and set(args.modes) != set(MODES):
        raise PlaygroundError("--until-clear compares stream with non-stream: leave out --modes or give stream,non-stream.")

    def progress(repeats: int, comparisons: list) -> None:
        clear = sum(c.resolved for c in comparisons)
        print(f"repeat {repeats}: {clear} of {len(comparisons)} differences clear", file=sys.stderr)

    result = run_until_clear(panes, FanOutRunner(store), prompts, args.max_repeat, progress, args.clear_on)
    report_runs(result.records, store.location, args.csv)
    print()
    if result.comparisons:
        print(comparisons_view(result.comparisons).to_string(index=False))
    for name, reason in result.failed_panes.items():
        print(f"{name}: {reason}, nothing to compare")
    repeats = counted(result.repeats, "repeat")
    if not result.comparisons:
        answered = any(r.status == "ok" for r in result.records)
        print(f"nothing to compare after {repeats}: no pane answered{' in both modes' if answered else ''}")
        return 1
    capped = f"not every difference is clear (cap: --max-repeat {args.max_repeat})"
    print(f"after {repeats}: {'every difference is clear' if result.resolved else capped}")
    return 0


def command_replay(args: argparse.Namespace) -> int:
    from playground.replay import replay, replay_view

    config = load_config(args.config)
    # A batch to replay can only be in a log that exists: a mistyped path must not leave an empty log behind.
    with RunStore.existing(resolve_store_location(args.store, config.store)) as store:
        pairs = replay(store, FanOutRunner(store), build_panes(config), args.batch_id, args.panes, args.repeat)
    print(replay_view(pairs).to_string(index=False))
    print_failures([pair.new for pair in pairs])
    print(f"{counted(len(pairs), 'run')} logged to {store.location}")
    return 0 if any(pair.new.status == "ok" for pair in pairs) else 1


def command_sweep(args: argparse.Namespace) -> int:
    from playground.sweep import Sweep, SweepPlan, parse_levels

    config = selected_panes(load_config(args.config), [args.pane], option="--pane")
    plan = SweepPlan(parse_levels(args.concurrency), args.requests, args.prompt, args.mode, args.level_timeout)
    with RunStore(resolve_store_location(args.store, config.store)) as store:
        progress = _SweepProgress(Sweep(build_panes(config)[0], FanOutRunner(store), plan))
        interrupted = False
        try:
            progress.sweep.run(progress.level_done)
        except KeyboardInterrupt:
            interrupted = True
        _report_sweep(progress.records, store.location, args.plot, args.csv)
    if interrupted:
        print("stopped: the levels that ended are above; runs in flight were logged as cancelled.", file=sys.stderr)
        return 130
    return 0 if any(r.status == "ok" for r in progress.records) else 1


@dataclass
class _SweepProgress:
    sweep: Sweep
    records: list[RunRecord] = field(default_factory=list)
    levels_done: int = 0

    def level_done(self, level: int, level_records: list[RunRecord]) -> None:
        """Keep the level's runs; stop the sweep when they all failed in a way higher levels would only repeat."""
        from playground.sweep import failed_for_good

        self.records += level_records
        self.levels_done += 1
        print(f"concurrency {level}: {counted(len(level_records), 'run')}", file=sys.stderr)
        left = ", ".join(str(later) for later in self.sweep.plan.levels[self.levels_done :])
        if left and failed_for_good(level_records):
            self.sweep.stop()
            print(
                f"stopped after concurrency {level}: every run failed with an error more requests cannot fix "
                f"(reasons below); not run: concurrency {left}.",
                file=sys.stderr,
            )


def _report_sweep(records: list[RunRecord], store_location: str, plot_path: Path | None, csv_path: Path | None) -> None:
    from playground.sweep import sweep_plot, sweep_table, sweep_table_text

    frame = runs_frame(r.as_row() for r in records)
    table = sweep_table(frame)
    print(sweep_table_text(table))
    print_failures(records)
    if plot_path is not None:
        figure = sweep_plot(table)
        if figure is None:
            print(f"no plot: no run succeeded, so there is nothing to draw ({plot_path} not written).")
        else:
            figure.savefig(plot_path, dpi=110)
            print(f"plot written to {plot_path}")
    if csv_path is not None:
        print(f"CSV written to {write_runs_csv(frame, csv_path)}")
    print(f"{counted(len(records), 'run')} logged to {store_location}")
