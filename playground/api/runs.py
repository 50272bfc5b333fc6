"""One API request as one run of the fan-out runner, followed from the server's event loop.

The run goes through `FanOutRunner` like a turn of the page, so the metrics wrapper measures it and the
run log keeps it. A thread follows the run's live snapshots and hands them to the event loop; the loop
never blocks on the run, so a client that goes away is seen at once and the run is stopped (a local
model ends within one decode step). A bounded number of requests may be held at once; more are refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Awaitable, Callable

from playground.panes import Pane
from playground.runner import Batch, FanOutRunner, PaneJob, RunHandle, Snapshot

SESSION_ID = "api"
# Requests a backend with no limit of its own (a remote API) is given at once by one served pane.
UNLIMITED_BACKEND_PARALLEL = 16


class Admission:
    """Requests held at once: those the backend runs together plus a bounded queue; refused when full."""

    def __init__(self, pane: Pane, max_queue: int) -> None:
        self.capacity = (pane.backend.max_concurrency or UNLIMITED_BACKEND_PARALLEL) + max_queue
        self._changed = threading.Condition()
        self.held = 0

    def try_enter(self) -> bool:
        with self._changed:
            if self.held >= self.capacity:
                return False
            self.held += 1
            return True

    def leave(self) -> None:
        with self._changed:
            self.held -= 1
            self._changed.notify_all()

    def wait_idle(self, timeout_s: float) -> bool:
        """Wait until every admitted run has ended and been logged; False if some still run after `timeout_s`."""
        with self._changed:
            return self._changed.wait_for(lambda: self.held == 0, timeout_s)


class ServedRun:
    """A started run: its snapshots arrive on the loop; `cancel` stops it (and logs it as cancelled)."""

    def __init__(self, runner: FanOutRunner, job: PaneJob, on_end: Callable[[], None]) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        self._latest: Snapshot | None = None
        self._on_end = on_end
        self.batch: Batch = runner.start([job])
        self.handle: RunHandle = self.batch.handles[0]
        threading.Thread(target=self._follow, name=f"api-{job.pane.name}", daemon=True).start()

    def _follow(self) -> None:
        try:
            for snapshot in self.handle.snapshots(min_interval_s=0):
                if snapshot.done:
                    # An answer ends once its run is in the run log: a client may read the log at once.
                    self.handle.wait()
                self._publish(snapshot)
        finally:
            # The slot is held until the run has really ended: until then the model is still busy.
            self._on_end()

    def _publish(self, snapshot: Snapshot) -> None:
        def store() -> None:
            self._latest = snapshot
            self._changed.set()

        # The loop is gone only when the server has stopped; the run still ends and is logged.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(store)

    async def next(self) -> Snapshot:
        """The newest snapshot not yet taken (text is cumulative, so skipped ones lose nothing)."""
        await self._changed.wait()
        self._changed.clear()
        assert self._latest is not None
        return self._latest

    def cancel(self) -> None:
        """Stop now; the runner logs the run as cancelled (at once if its thread is stuck in a read)."""
        self.handle.job.request.stop.set()
        threading.Thread(target=self.batch.cancel, name="api-cancel", daemon=True).start()

    def stop_unless_ended(self) -> None:
        if not self.handle.snapshot().done:
            self.cancel()

    async def until(self, ready: Callable[[Snapshot], bool], disconnected: Awaitable[None]) -> Snapshot | None:
        """The first snapshot that is `ready`, or None when the client left first (the run is then cancelled)."""
        watcher = asyncio.ensure_future(disconnected)
        try:
            while True:
                getter = asyncio.ensure_future(self.next())
                done, _ = await asyncio.wait({getter, watcher}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    self.cancel()
                    return None
                snapshot = getter.result()
                if ready(snapshot):
                    return snapshot
        except asyncio.CancelledError:
            self.cancel()
            raise
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher


def has_output(snapshot: Snapshot) -> bool:
    return snapshot.done or bool(snapshot.text or snapshot.reasoning)


def is_done(snapshot: Snapshot) -> bool:
    return snapshot.done
