"""Load sweep: one pane under 1, 2, 4, … requests in flight at once, every run measured and logged.

Each level keeps `level` requests in flight (a new one starts as soon as one ends) until the
level's `requests` have been sent or its deadline passes; runs still in flight then are cancelled
and logged as `cancelled`, as Stop does. A level whose first wave (the first `level` runs to end)
all failed in a way more requests cannot fix sends no more. Every run goes through the one runner and metrics wrapper
with `load_level` set, so the figures below are read from the logged records only.

A pane's backend may be shared and may serve fewer requests than the level at once: a local
transformers model runs one generation at a time, so a higher level queues on its lock. That is
the true answer to "what happens under load here", and `queue_s` shows the wait.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import pandas as pd

from playground.backends.base import Mode
from playground.errors import LASTING_ERROR_TYPES, InputError
from playground.panes import Pane
from playground.records import RunRecord
from playground.runner import Batch, FanOutRunner, PaneJob

# What the printed table shows where it has no value (a level without a successful run has no latency).
EMPTY_CELL = "–"

SWEEP_COLUMNS = [
    "concurrency", "requests", "ok", "errors", "cancelled", "error_rate", "ttft_p50_s", "ttft_p95_s",
    "e2e_p50_s", "e2e_p95_s", "queue_p50_s", "output_tok_per_s",
]  # fmt: skip
MAX_LEVEL = 256
MAX_REQUESTS = 10_000


@dataclass(frozen=True)
class SweepPlan:
    levels: tuple[int, ...]
    requests: int  # sent at each level
    prompt: str
    mode: Mode | None = None  # None: the pane's own mode
    level_deadline_s: float = 300.0

    def __post_init__(self) -> None:
        if not self.levels or any(level < 1 or level > MAX_LEVEL for level in self.levels):
            raise InputError(f"concurrency levels must be whole numbers from 1 to {MAX_LEVEL}, such as 1,2,4,8.")
        if not 1 <= self.requests <= MAX_REQUESTS:
            raise InputError(f"requests per level must be from 1 to {MAX_REQUESTS}.")
        if self.level_deadline_s <= 0:
            raise InputError("the per-level deadline must be positive.")


class Sweep:
    """Runs a plan against one pane; `stop()` (from any thread) ends it cleanly."""

    def __init__(self, pane: Pane, runner: FanOutRunner, plan: SweepPlan, session_id: str = "sweep") -> None:
        self.pane = pane
        self.runner = runner
        self.plan = plan
        self.session_id = session_id
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._in_flight: set[Batch] = set()

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        """Send nothing more; cancel the runs in flight (they are logged as cancelled)."""
        with self._lock:
            self._stopped.set()
            in_flight = list(self._in_flight)
        _cancel_all(in_flight)

    def run(self, on_level: Callable[[int, list[RunRecord]], None] | None = None) -> list[RunRecord]:
        """Every level in turn; Ctrl-C stops the sweep as `stop()` does, then re-raises."""
        records: list[RunRecord] = []
        if not self.runner.prepare([self.pane], self._stopped):
            return records
        for level in self.plan.levels:
            if self.stopped:
                break
            level_records = self._run_level(level)
            records += level_records
            if on_level is not None:
                on_level(level, level_records)
        return records

    def _run_level(self, level: int) -> list[RunRecord]:
        batch_id = uuid.uuid4().hex
        state = _LevelState(remaining=self.plan.requests, first_wave=min(level, self.plan.requests))
        workers = [
            threading.Thread(target=self._worker, args=(level, batch_id, state), name=f"sweep-{level}-{i}", daemon=True)
            for i in range(state.first_wave)
        ]
        deadline = time.monotonic() + self.plan.level_deadline_s
        try:
            # Started inside the try: a Ctrl-C while the level starts stops its runs too (outside it,
            # the runs already sent were left running and unlogged).
            for worker in workers:
                worker.start()
            for worker in workers:
                while worker.is_alive() and time.monotonic() < deadline:
                    worker.join(min(0.1, max(deadline - time.monotonic(), 0)))
        except KeyboardInterrupt:
            self.stop()
            # A worker not yet running sends nothing: it finds the sweep stopped under the same lock.
            self._join([worker for worker in workers if worker.is_alive()])
            raise
        if any(worker.is_alive() for worker in workers):
            self._end_level(state)
        self._join(workers)
        return sorted(state.records, key=lambda r: r.started_at)

    def _worker(self, level: int, batch_id: str, state: _LevelState) -> None:
        while True:
            with self._lock:
                if self.stopped or state.over or state.remaining == 0:
                    return
                state.remaining -= 1
                repeat = self.plan.requests - state.remaining - 1
                request = self.pane.build_request(self.plan.prompt, mode=self.plan.mode)
                job = PaneJob(self.pane, request, session_id=self.session_id, repeat=repeat, load_level=level)
                batch = self.runner.start([job], batch_id=batch_id)
                self._in_flight.add(batch)
            records = batch.wait()
            with self._lock:
                self._in_flight.discard(batch)
                state.records += records
                # The first wave failed for good (unreachable, bad key, no such model): the rest of
                # the level would only repeat it, each with its retries.
                if len(state.records) >= state.first_wave and failed_for_good(state.records):
                    state.over = True

    def _end_level(self, state: _LevelState) -> None:
        """The deadline passed: start nothing more at this level and cancel what is in flight."""
        with self._lock:
            state.over = True
            in_flight = list(self._in_flight)
        _cancel_all(in_flight)

    @staticmethod
    def _join(workers: Sequence[threading.Thread], timeout_s: float = 10.0) -> None:
        # Cancelled runs are logged within Batch.cancel's grace; a worker then returns at once.
        end = time.monotonic() + timeout_s
        for worker in workers:
            worker.join(max(end - time.monotonic(), 0))


def _cancel_all(batches: Sequence[Batch]) -> None:
    # Side by side: a run blocked in a network read holds its batch's cancel for the whole grace period.
    threads = [threading.Thread(target=batch.cancel, daemon=True) for batch in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


@dataclass
class _LevelState:
    remaining: int
    first_wave: int  # runs in flight at once: one per worker
    over: bool = False

    def __post_init__(self) -> None:
        self.records: list[RunRecord] = []


def parse_levels(text: str) -> tuple[int, ...]:
    """"1,2,4,8" → (1, 2, 4, 8), with a clear message for anything else."""
    try:
        levels = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise InputError(f"concurrency levels are whole numbers separated by commas, such as 1,2,4,8 (got {text!r}).") from None
    if not levels:
        raise InputError("give at least one concurrency level, such as 1,2,4,8.")
    return levels


def failed_for_good(level_records: Sequence[RunRecord]) -> bool:
    """Every run of the level failed, each with an error that more requests cannot fix (unreachable, bad key, no such model).

    More requests, at this level or a higher one, would only repeat the same failure, retries included.
    """
    return bool(level_records) and all(r.status == "error" and r.error_type in LASTING_ERROR_TYPES for r in level_records)


def sweep_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Per concurrency level: latency percentiles of the ok runs, error rate and aggregate output tokens/s.

    Aggregate output tok/s = all output tokens of the level's ok runs ÷ the level's span (first send to
    last end), read from the logged `started_at` / `ended_at`.
    """
    swept = runs[runs["load_level"].notna()]
    rows = []
    for level, group in swept.groupby("load_level", sort=True):
        ok = group[group["status"] == "ok"]
        span = _span_s(group)
        tokens = ok["output_tokens"].dropna().sum()
        rows.append(
            {
                "concurrency": int(level),
                "requests": len(group),
                "ok": len(ok),
                "errors": int((group["status"] == "error").sum()),
                "cancelled": int((group["status"] == "cancelled").sum()),
                "error_rate": round(float((group["status"] == "error").mean()), 3),
                "ttft_p50_s": _quantile(ok["ttft_s"], 0.5),
                "ttft_p95_s": _quantile(ok["ttft_s"], 0.95),
                "e2e_p50_s": _quantile(ok["e2e_s"], 0.5),
                "e2e_p95_s": _quantile(ok["e2e_s"], 0.95),
                "queue_p50_s": _quantile(ok["queue_s"], 0.5),
                "output_tok_per_s": round(float(tokens) / span, 1) if span and len(ok) else None,
            }
        )
    return pd.DataFrame(rows, columns=SWEEP_COLUMNS)


def _quantile(values: pd.Series, q: float) -> float | None:
    values = values.dropna()
    return None if values.empty else round(float(values.quantile(q)), 4)


def _span_s(group: pd.DataFrame) -> float | None:
    starts = [dt.datetime.fromisoformat(s) for s in group["started_at"].dropna()]
    ends = [dt.datetime.fromisoformat(s) for s in group["ended_at"].dropna()]
    if not starts or not ends:
        return None
    return max((max(ends) - min(starts)).total_seconds(), 0.0) or None


def sweep_table_text(table: pd.DataFrame) -> str:
    """The sweep table as printed: a level without a successful run shows EMPTY_CELL, not None or NaN."""
    # A column with no value at all holds None (an object column): made numeric, it prints as EMPTY_CELL too.
    return table.apply(pd.to_numeric).to_string(index=False, na_rep=EMPTY_CELL)


def sweep_plot(table: pd.DataFrame):
    """Latency percentiles and aggregate throughput against concurrency.

    None when no level has a successful run: there would be nothing to draw.
    """
    if table.empty or not table["ok"].any():
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (latency, throughput) = plt.subplots(1, 2, figsize=(9, 3.2))
    curves = (("ttft_p50_s", "TTFT p50"), ("ttft_p95_s", "TTFT p95"), ("e2e_p50_s", "E2E p50"), ("e2e_p95_s", "E2E p95"))
    for column, label in curves:
        latency.plot(table["concurrency"], table[column].astype(float), marker="o", label=label)
    latency.set_ylabel("seconds")
    latency.legend(fontsize="small")
    throughput.plot(table["concurrency"], table["output_tok_per_s"].astype(float), marker="o", color="tab:green")
    throughput.set_ylabel("output tokens/s (all requests)")
    levels = [int(level) for level in table["concurrency"]]
    for axes in (latency, throughput):
        axes.set_xscale("log", base=2)
        # A tick at every level swept: the axis spans them all, a level without a successful run (no point) too.
        axes.set_xticks(levels, [str(level) for level in levels])
        axes.minorticks_off()
        axes.set_xlabel("requests in flight")
    figure.tight_layout()
    plt.close(figure)
    return figure
