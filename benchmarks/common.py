"""Shared by the benchmark scripts: arguments, alternating timed ways, medians, a printed table and the RESULT line."""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable, Mapping, Sequence

from playground.config import parse_config
from playground.metrics import percentile
from playground.panes import BackendContext, Pane, build_pane


def parser(description: str, repeats: int = 5) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument(
        "--repeats",
        type=int,
        default=repeats,
        help=f"repeats per measurement (default {repeats}, at least 5 for reported figures)",
    )
    parser.add_argument("--quick", action="store_true", help="a short run to check the script works (figures not for reporting)")
    return parser


def pane(context: BackendContext | None = None, **settings: object) -> Pane:
    config = parse_config({"panes": [{"name": "bench", **settings}]})
    return build_pane(config.panes[0], config, context or BackendContext())


def alternating(
    ways: Mapping[str, Callable[[], int]], repeats: int, measure: Callable[[Callable[[], int]], float]
) -> dict[str, float]:
    """The median of `measure(way)` for each way: every way runs once to warm up, then all in turn, their
    order reversed every other repeat so drift on a shared machine hits each alike."""
    for way in ways.values():
        way()
    samples: dict[str, list[float]] = {name: [] for name in ways}
    for repeat in range(repeats):
        for name in list(ways) if repeat % 2 == 0 else list(ways)[::-1]:
            samples[name].append(measure(ways[name]))
    return {name: median(values) for name, values in samples.items()}


def seconds_each(run: Callable[[], int], expected: int) -> float:
    """Seconds per item of one call of `run`, which returns how many items it handled (checked)."""
    started = time.perf_counter()
    count = run()
    elapsed = time.perf_counter() - started
    assert count == expected, count
    return elapsed / count


def median(values: Sequence[float]) -> float:
    return statistics.median(values)


def p99(values: Sequence[float]) -> float:
    # The same percentile as the run log's (linear interpolation, numpy's default).
    value = percentile(list(values), 99)
    assert value is not None, "p99 of no values"
    return value


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> None:
    cells = [[_cell(v) for v in row] for row in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) for i, h in enumerate(headers)]
    print("  ".join(h.rjust(w) for h, w in zip(headers, widths, strict=True)))
    for row in cells:
        print("  ".join(c.rjust(w) for c, w in zip(row, widths, strict=True)))


def _cell(value: object) -> str:
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1000 else f"{value:.0f}"
    return str(value)


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"


def result(name: str, value: float, unit: str) -> None:
    print(f"RESULT {name} {value:.4g} {unit}")
