"""Telling the metrics wrapper when an HTTP request actually leaves."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any


class WireSendHook:
    """An httpx request hook that calls the current run's `on_send`.

    httpx runs request hooks in the calling thread, just before the request is written; a
    thread-local keeps concurrent runs sharing one client apart. Only the first send of a
    run counts, so a retried request is timed from its first attempt.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def __call__(self, request: Any) -> None:
        callback = getattr(self._local, "callback", None)
        if callback is not None:
            self._local.callback = None
            callback()

    @contextmanager
    def armed(self, callback: Callable[[], None] | None) -> Iterator[None]:
        self._local.callback = callback
        try:
            yield
        finally:
            self._local.callback = None
