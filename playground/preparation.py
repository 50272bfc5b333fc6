"""Panes prepared in the background, so a page can serve before its clients and models are ready.

Preparing a pane imports its client library, opens its client and, for a local pane, loads the
model: 0.5 s for the openai client's import alone, seconds for a model. The page starts serving
first, then prepares its panes in a thread (which would otherwise share the interpreter with the
page's own start-up). Runs wait until every pane is prepared, before their clocks start
(`FanOutRunner`): a run measured while another pane's model loads would be slowed by it (measured:
TTFT median 2.3 → 4.4 ms, E2E max 100 → 452 ms), and the heap is frozen once, before any run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence

from playground.panes import Pane

log = logging.getLogger(__name__)

# How often a waiting run checks its Stop while the panes are prepared.
STOP_POLL_S = 0.05


class Preparation:
    """Prepares panes one after another, in a background thread (`start`) or the caller's (`run`):
    panes without weights first, as they are quick.

    `after` runs once every pane is prepared (the page freezes its start-up heap there, so loaded
    models are frozen too). A pane whose preparation fails counts as ready: its run reports why.
    """

    def __init__(self, panes: Sequence[Pane], after: Callable[[], None] | None = None) -> None:
        self._panes = sorted(panes, key=lambda pane: pane.backend.loads_weights)
        self._after = after
        self._ready = {pane.name: threading.Event() for pane in panes}
        self._all_ready = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def start(self) -> Preparation:
        """Start preparing in the background (once; a run that comes first starts it too)."""
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(target=self._prepare_all, name="prepare-panes", daemon=True)
                self._thread.start()
        return self

    def run(self) -> Preparation:
        """Prepare every pane in this thread, before returning."""
        self._prepare_all()
        return self

    def _prepare_all(self) -> None:
        for pane in self._panes:
            try:
                pane.backend.prepare()
            except Exception as exc:  # noqa: BLE001 - reported per pane when it runs
                log.info("pane %s not ready: %s", pane.name, exc.__class__.__name__)
            self._ready[pane.name].set()
        if self._after is not None:
            self._after()
        self._all_ready.set()

    def is_ready(self, pane_name: str) -> bool:
        """True once the configured pane of this name is prepared (or for a name not configured)."""
        event = self._ready.get(pane_name)
        return event is None or event.is_set()

    @property
    def done(self) -> bool:
        return self._all_ready.is_set()

    def doing(self, pane: Pane) -> str:
        """What preparing this pane does, while it is not ready; empty once it is."""
        if self.is_ready(pane.name):
            return ""
        return f"loading {pane.config.model}" if pane.backend.loads_weights else "opening the client"

    def notice(self) -> str:
        """What a run shows while it waits for the panes to be prepared."""
        pending = [f"{pane.name}: {doing}" for pane in self._panes if (doing := self.doing(pane))]
        what = "; ".join(pending) or "finishing"
        return f"Preparing the panes ({what}). Runs start once all are ready, so none is measured while a model loads."

    def wait(self, stop: threading.Event) -> bool:
        """Wait until every pane is prepared; False when `stop` is set first."""
        self.start()
        while not self._all_ready.wait(STOP_POLL_S):
            if stop.is_set():
                return False
        return not stop.is_set()

    def wait_all(self, timeout: float | None = None) -> bool:
        """Wait until every pane is prepared (no Stop); False when `timeout` passes first."""
        self.start()
        return self._all_ready.wait(timeout)
