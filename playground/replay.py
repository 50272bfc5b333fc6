"""Replay: send a logged batch's exact requests again, to the same panes or others, and set old beside new.

Each run of the batch is re-sent with the messages and generation parameters it was given (the
run log's `run_requests`), in its own mode, through the same runner and metrics wrapper, so the new
runs are logged like any other. The page's Look closer tab and `llm-playground replay` use this.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from playground.backends.base import ChatRequest
from playground.errors import InputError
from playground.panes import Pane
from playground.records import RunRecord
from playground.runner import FanOutRunner, PaneJob
from playground.store import RunStore

REPLAY_COLUMNS = [
    "old pane", "new pane", "mode", "repeat", "old status", "new status", "old TTFT", "new TTFT",
    "old E2E", "new E2E", "old tokens", "new tokens", "answer",
]  # fmt: skip


@dataclass(frozen=True)
class LoggedRun:
    """One run of the batch, with the request it was given."""

    row: dict
    request: ChatRequest


@dataclass(frozen=True)
class ReplayPair:
    old: dict
    new: RunRecord


def logged_batch(store: RunStore, batch_id: str) -> list[LoggedRun]:
    """The batch's runs that can be replayed; a clear error when none can."""
    # Pane by pane: the runs of one fan-out start in no fixed order.
    rows = sorted((row for row in store.rows() if row["batch_id"] == batch_id), key=lambda r: (r["pane"], r["started_at"]))
    if not rows:
        raise InputError(
            f"no batch {batch_id!r} in the run log {store.location}; the page's Look closer tab lists the recent batches."
        )
    requests = store.requests([row["run_id"] for row in rows])
    logged = []
    for row in rows:
        if row["run_id"] in requests:
            messages, params = requests[row["run_id"]]
            logged.append(LoggedRun(row, ChatRequest(messages=messages, params=params, stream=row["mode"] == "stream")))
    if not logged:
        raise InputError(
            f"batch {batch_id!r} was logged before requests were kept with their runs, so it cannot be replayed exactly."
        )
    return logged


def replay_jobs(
    logged: Sequence[LoggedRun], panes: Sequence[Pane], targets: Sequence[str] | None, repeat: int
) -> list[list[tuple[LoggedRun, PaneJob]]]:
    """One fan-out per repeat: every logged run on its own pane, or on each of `targets`."""
    by_name = {pane.name: pane for pane in panes}
    wanted = list(targets) if targets else sorted({run.row["pane"] for run in logged})
    missing = [name for name in wanted if name not in by_name]
    if missing:
        raise InputError(f"no pane named {', '.join(missing)} in this config; panes: {', '.join(sorted(by_name))}")
    fan_outs = []
    for index in range(repeat):
        jobs = []
        for run in logged:
            for name in wanted if targets else [run.row["pane"]]:
                # A fresh request per run: each has its own stop signal.
                request = ChatRequest(messages=run.request.messages, params=run.request.params, stream=run.request.stream)
                jobs.append((run, PaneJob(by_name[name], request, session_id="replay", repeat=index)))
        fan_outs.append(jobs)
    return fan_outs


def replay(
    store: RunStore,
    runner: FanOutRunner,
    panes: Sequence[Pane],
    batch_id: str,
    targets: Sequence[str] | None = None,
    repeat: int = 1,
) -> list[ReplayPair]:
    """Re-send the batch `repeat` times; Ctrl-C cancels the fan-out in flight (logged as cancelled)."""
    if repeat < 1:
        raise InputError("repeat must be at least 1.")
    fan_outs = replay_jobs(logged_batch(store, batch_id), panes, targets, repeat)
    runner.prepare(list({job.pane.name: job.pane for jobs in fan_outs for _, job in jobs}.values()))
    pairs: list[ReplayPair] = []
    for jobs in fan_outs:
        batch = runner.start([job for _, job in jobs])
        try:
            batch.wait()
        except KeyboardInterrupt:
            batch.cancel()
            batch.wait()
            raise
        for (run, _), handle in zip(jobs, batch.handles, strict=True):
            record = handle.snapshot().record
            if record is not None:
                pairs.append(ReplayPair(run.row, record))
    return pairs


def replay_view(pairs: Sequence[ReplayPair]) -> pd.DataFrame:
    """Old beside new, one row per new run; `answer` says whether the answer text changed, when both runs answered."""
    rows = []
    for pair in pairs:
        old, new = pair.old, pair.new
        rows.append(
            {
                "old pane": old["pane"],
                "new pane": new.pane,
                "mode": new.mode,
                "repeat": new.repeat,
                "old status": old["status"],
                "new status": new.status,
                "old TTFT": _seconds(old["ttft_s"]),
                "new TTFT": _seconds(new.ttft_s),
                "old E2E": _seconds(old["e2e_s"]),
                "new E2E": _seconds(new.e2e_s),
                "old tokens": _count(old["output_tokens"]),
                "new tokens": _count(new.output_tokens),
                "answer": _answer_change(old, new),
            }
        )
    return pd.DataFrame(rows, columns=REPLAY_COLUMNS)


# A missing figure is an empty cell, as in the summary table (playground.tables.summary_view): left to pandas, a
# column of counts with a gap would print "None", or "NaN" beside "20.0".
def _seconds(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _count(value: int | None) -> str:
    return "" if value is None else str(value)


def _answer_change(old: dict, new: RunRecord) -> str:
    # Only two complete answers compare: a failed or stopped run's text is a fragment, or nothing.
    if old["status"] != "ok" or new.status != "ok":
        return ""
    return "same" if old["response_text"] == new.response_text else "changed"


def recent_batches(store: RunStore, limit: int = 50) -> list[tuple[str, str]]:
    """(label, batch_id) of the newest batches of the whole log, newest first."""
    runs = pd.DataFrame(store.rows())
    if runs.empty:
        return []
    grouped = runs.groupby("batch_id", sort=False).agg(
        started=("started_at", "min"), panes=("pane", lambda p: ",".join(sorted(set(p)))), prompt=("prompt", "last")
    )
    grouped = grouped.sort_values("started", ascending=False).head(limit)
    return [
        (f"{row.started[:19].replace('T', ' ')} · {row.panes} · {_short(row.prompt)} · {batch_id[:8]}", batch_id)
        for batch_id, row in grouped.iterrows()
    ]


def _short(text: str, width: int = 40) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= width else text[: width - 1] + "…"
