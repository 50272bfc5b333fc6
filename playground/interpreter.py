"""Interpreter settings for measuring: how threads share the GIL, and a garbage collector that
does not pause a run to walk the heap built at start-up."""

from __future__ import annotations

import gc
import sys
from collections.abc import Iterator
from contextlib import contextmanager

# How long a thread may hold the GIL while another waits (Python's default is 5 ms). Pane
# streams parse chunks in threads; a shorter slice lets the page's event loop answer promptly
# while fast streams run (measured in benchmarks/ui.py).
GIL_SWITCH_INTERVAL_S = 0.0005


def tune_interpreter() -> None:
    sys.setswitchinterval(GIL_SWITCH_INTERVAL_S)


def freeze_startup_heap() -> None:
    """Move everything built so far (imported libraries, the page, loaded models) out of the collector's reach.

    A full collection walks every tracked object: with gradio, pandas and torch loaded that is
    hundreds of thousands of them and hundreds of ms on a small machine, landing inside whatever
    run is streaming at the time as a TTFT or inter-token outlier. Objects made at start-up live
    for the whole process, so freezing them (https://docs.python.org/3/library/gc.html#gc.freeze)
    costs nothing and leaves later collections only the objects made since.
    """
    gc.collect()
    gc.freeze()


@contextmanager
def collector_paused() -> Iterator[None]:
    """No garbage collection while starting up (imports, building the page).

    Start-up makes about 300,000 objects that live as long as the process (310,612 tracked after importing
    the page's modules, counted with gc.get_objects()), and the collector walks
    them again and again as they pile up: 10–17 % of importing the page's modules here
    (benchmarks/RESULTS.md, startup). The collector is on again once the page serves.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
