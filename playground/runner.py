"""The fan-out runner: one prompt to several panes at once. Used by the UI, the CLI and benchmarks.

Each pane runs in its own thread through the metrics wrapper, so a slow or failing pane
never holds up another. Each finished run is written to the store as it ends. A
`RunHandle` lets a caller follow one pane live (throttled snapshots) without measuring.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, replace

from playground.backends.base import ChatRequest
from playground.metrics import MeteredRun, RunLabels
from playground.panes import Pane
from playground.preparation import Preparation
from playground.records import RunRecord
from playground.store import RunStore

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PaneJob:
    pane: Pane
    request: ChatRequest
    session_id: str = "cli"
    turn: int = 1
    repeat: int = 0
    load_level: int | None = None


@dataclass(frozen=True)
class Snapshot:
    """What a pane has produced so far; `record` is set once the run has ended."""

    text: str
    reasoning: str
    record: RunRecord | None = None
    # What the run waits for before its answer (a rate limit before a retry); empty otherwise.
    notice: str = ""

    @property
    def done(self) -> bool:
        return self.record is not None


class RunHandle:
    def __init__(self, job: PaneJob, metered: MeteredRun) -> None:
        self.job = job
        self.metered = metered
        self._changed = threading.Condition()
        self._version = 0
        # The final record as soon as the run has ended (readers show it), and once it is in the run
        # log (`wait` returns it). Writing a long conversation's run takes the store 10–200 ms: the
        # final text does not wait for the disk.
        self._final: RunRecord | None = None
        self._record: RunRecord | None = None
        self._claimed = False
        self._waiting = 0
        # What the run waits for before it starts (the panes being prepared); empty once it runs.
        self._pending = ""

    @property
    def pane_name(self) -> str:
        return self.job.pane.name

    def _touch(self) -> None:
        # Runs once per streamed chunk: take the lock only when a reader is waiting. A reader
        # raises `_waiting` before it checks the version, so no change can slip between them.
        self._version += 1
        if self._waiting:
            with self._changed:
                self._changed.notify_all()

    def _claim(self) -> bool:
        """Only the first of (the run's own end, a cancel) may write the final record."""
        with self._changed:
            claimed, self._claimed = self._claimed, True
            return not claimed

    def _settle(self, record: RunRecord, keep: Callable[[RunRecord, Sequence[float], ChatRequest], None]) -> None:
        """Show the final record to readers, write it to the run log, then let `wait` return it."""
        self._show(record)
        keep(record, self.metered.chunk_offsets_s, self.job.request)
        self._finish(record)

    def _show(self, record: RunRecord) -> None:
        with self._changed:
            self._final = record
            self._version += 1
            self._changed.notify_all()

    def _finish(self, record: RunRecord) -> None:
        with self._changed:
            self._final = self._record = record
            self._version += 1
            self._changed.notify_all()

    def snapshot(self) -> Snapshot:
        with self._changed:
            record = self._final
        if record is not None:
            return Snapshot(record.response_text, record.reasoning_text, record)
        return Snapshot(self.metered.text, self.metered.reasoning, notice=self._pending or self.metered.notice)

    def snapshots(self, min_interval_s: float | Callable[[Snapshot], float] = 0.05) -> Iterator[Snapshot]:
        """Yield the pane's state at most once per interval, always ending with the final one.

        The interval may depend on the snapshot just yielded (a long answer costs its reader more).
        """
        seen = 0
        while True:
            with self._changed:
                self._waiting += 1
                try:
                    while self._version == seen and self._final is None:
                        self._changed.wait()
                finally:
                    self._waiting -= 1
                seen = self._version
                finished = self._final is not None
            snapshot = self.snapshot()
            yield snapshot
            if finished:
                return
            interval = min_interval_s(snapshot) if callable(min_interval_s) else min_interval_s
            # Throttle, but wake at once when the run ends so the final text is never held back.
            with self._changed:
                self._changed.wait_for(lambda: self._final is not None, timeout=interval)

    def wait(self, timeout: float | None = None) -> RunRecord | None:
        with self._changed:
            self._changed.wait_for(lambda: self._record is not None, timeout)
            return self._record


class Batch:
    def __init__(
        self, batch_id: str, handles: list[RunHandle], keep: Callable[[RunRecord, Sequence[float], ChatRequest], None]
    ) -> None:
        self.batch_id = batch_id
        self.handles = handles
        self._keep = keep

    def by_pane(self) -> dict[str, RunHandle]:
        return {handle.pane_name: handle for handle in self.handles}

    def cancel(self, grace_s: float = 0.5) -> None:
        """Stop every run. Runs still blocked after `grace_s` (a stuck network read) are
        logged as cancelled at once; their threads end on their own later."""
        for handle in self.handles:
            handle.job.request.stop.set()
        deadline = time.monotonic() + grace_s
        for handle in self.handles:
            if handle.wait(max(deadline - time.monotonic(), 0)) is not None or handle.metered.stream_ended:
                # Ended, or building its own record (bounded by the token counter's timeouts): keep that one.
                continue
            if handle._claim():
                handle._settle(handle.metered.cancelled_record(), self._keep)

    def wait(self, timeout: float | None = None) -> list[RunRecord]:
        records = [handle.wait(timeout) for handle in self.handles]
        return [record for record in records if record is not None]


class FanOutRunner:
    def __init__(
        self,
        store: RunStore | None,
        on_record: Callable[[RunRecord], None] | None = None,
        preparation: Preparation | None = None,
    ) -> None:
        self.store = store
        self.on_record = on_record
        # Panes being prepared in the background (the page): a run waits for all of them, unmeasured.
        self.preparation = preparation

    def prepare(self, panes: Sequence[Pane], stop: threading.Event | None = None) -> bool:
        """Load models and open clients before any timed run, one pane after another.

        With a background preparation (the page), wait for it first, so no pane is prepared by two
        threads at once; preparing an already prepared pane costs nothing. A failure is left for the
        run itself to report as that pane's error. False when `stop` is set during that wait: then
        nothing more is prepared (a sweep stopped while the page loads a model ends at once).
        """
        if self.preparation is not None:
            if stop is None:
                self.preparation.wait_all()
            elif not self.preparation.wait(stop):
                return False
        Preparation(panes).run()
        return True

    def start(self, jobs: Sequence[PaneJob], batch_id: str | None = None) -> Batch:
        batch_id = batch_id or uuid.uuid4().hex
        handles = []
        for job in jobs:
            labels = RunLabels(
                batch_id=batch_id,
                session_id=job.session_id,
                pane=job.pane.name,
                turn=job.turn,
                repeat=job.repeat,
                load_level=job.load_level,
                price_per_million=job.pane.price_per_million,
            )
            handles.append(RunHandle(job, MeteredRun(job.pane.backend, job.request, labels)))
        for handle in handles:
            threading.Thread(target=self._run_one, args=(handle,), name=f"pane-{handle.pane_name}", daemon=True).start()
        return Batch(batch_id, handles, self._keep)

    def run(self, jobs: Sequence[PaneJob], batch_id: str | None = None) -> list[RunRecord]:
        return self.start(jobs, batch_id).wait()

    def _run_one(self, handle: RunHandle) -> None:
        if not self._pane_ready(handle):
            return
        metered = handle.metered
        # Decided as the clock starts: a run stopped before it began does not use up the pane's warm-up.
        metered.labels = replace(metered.labels, warmup=handle.job.pane.next_run_is_warmup())
        for _ in metered:
            handle._touch()
        record = metered.record
        assert record is not None
        if handle._claim():
            handle._settle(record, self._keep)

    def _pane_ready(self, handle: RunHandle) -> bool:
        """Wait, before the run's clock starts, until the panes are prepared; False when stopped meanwhile."""
        preparation = self.preparation
        if preparation is None or preparation.done:
            return True
        handle._pending = preparation.notice()
        handle._touch()
        ready = preparation.wait(handle.job.request.stop)
        handle._pending = ""
        handle._touch()
        if not ready and handle._claim():
            handle._settle(handle.metered.cancelled_record(), self._keep)
        return ready

    def _keep(self, record: RunRecord, chunk_offsets_s: Sequence[float] = (), request: ChatRequest | None = None) -> None:
        if self.store is not None:
            try:
                # The request goes with its run, so the run can be replayed exactly (playground.replay).
                self.store.add(record, chunk_offsets_s, request)
            except Exception:  # noqa: BLE001 - the record still reaches the caller
                log.exception("could not write run %s to the run log", record.run_id)
        if self.on_record is not None:
            self.on_record(record)
