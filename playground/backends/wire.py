"""Linking a backend's HTTP client to the run it serves.

Two things happen on the wire that the metrics depend on:
  - when the request leaves (the run's "send"), told by an httpx request hook;
  - whether the next run reuses the connection. A streamed answer's client often stops
    reading at its logical end — the openai client at `data: [DONE]`, the Ollama backend at
    the `done` object — before the chunked body's last, empty chunk. httpcore then cannot
    reuse the connection, and every run pays a new TCP (and, for a cloud API, TLS) handshake
    inside its TTFT. The openai client drains that tail itself only in its async stream
    (openai `_streaming.py`, `drain_response_async`: "HTTP/1.1 needs the remaining body
    consumed for connection reuse"); a response hook here does the same for the sync clients.

Both are httpx event hooks (https://www.python-httpx.org/advanced/event-hooks/), so the
clients keep the transports they build themselves, proxies from the environment included.
"""

from __future__ import annotations

import inspect
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache, partial
from typing import Any

from playground.backends.base import StopSignal

# The tail of an answer's body is a few bytes already on their way; a server that sends
# more (or nothing) within this bound loses the connection instead of holding the run.
DRAIN_S = 0.1
DRAIN_BYTES = 64 * 1024


class WireTap:
    """One per pane: tells the current run when its request leaves, and keeps connections reusable.

    httpx runs event hooks in the calling thread; a thread-local keeps concurrent runs sharing
    one client apart. Only the first send of a run counts, so a retried request is timed from
    its first attempt.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def hooks(self, library: Any) -> dict[str, list[Callable[[Any], None]]]:
        """The `event_hooks` argument for a client of `library` (the httpx or httpx2 module)."""
        return {"request": [self._on_request], "response": [partial(self._on_response, _body_class(library))]}

    def _on_request(self, request: Any) -> None:
        # Called just before the request is handed to the transport.
        callback = getattr(self._local, "on_send", None)
        if callback is not None:
            self._local.on_send = None
            callback()

    def _on_response(self, body_class: type, response: Any) -> None:
        # Called once the headers are in, before anyone reads the body.
        response.stream = body_class(response.stream, response.request, getattr(self._local, "stop", None))

    @contextmanager
    def armed(self, on_send: Callable[[], None] | None, stop: StopSignal | None) -> Iterator[None]:
        self._local.on_send, self._local.stop = on_send, stop
        try:
            yield
        finally:
            self._local.on_send = self._local.stop = None


class _DrainingBody:
    """A response body that, closed while its reader is paused mid-body, first reads the rest (bounded).

    Not after a stop: the server is still answering, and the stop wants the connection cut.
    A reader that read to the end leaves nothing to drain (a pass then would wait for bytes
    that never come).
    """

    def __init__(self, inner: Any, request: Any, stop: StopSignal | None) -> None:
        self._inner, self._request, self._stop = inner, request, stop
        self._reading: Iterator[bytes] | None = None

    @property
    def elapsed(self) -> Any:
        # httpx2's Response.elapsed reads it from its stream (the client's timing wrapper, inside ours).
        return getattr(self._inner, "elapsed", None)

    def __iter__(self) -> Iterator[bytes]:
        # The reader gets the inner pass itself: no layer of ours per read. Holding it here keeps
        # a reader that drops its generator mid-body (the ollama client's, at the `done` object)
        # from finalizing it, which would close the connection before `close` reads the tail.
        self._reading = iter(self._inner)
        return self._reading

    def close(self) -> None:
        # httpx closes a response once (Response.is_closed), so this runs once per body.
        reading, self._reading = self._reading, None
        paused = inspect.isgenerator(reading) and inspect.getgeneratorstate(reading) == inspect.GEN_SUSPENDED
        if paused and not (self._stop is not None and self._stop.is_set()):
            self._drain()
        self._inner.close()

    def _drain(self) -> None:
        # A fresh pass reads on where the reader stopped. httpcore takes the read timeout from the
        # request's "timeout" extension as each pass starts (httpcore docs, "Extensions"): half
        # the bound per read, checked against half the bound in all, keeps the drain within DRAIN_S.
        half = DRAIN_S / 2
        timeouts = self._request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            self._request.extensions["timeout"] = {**timeouts, "read": min(timeouts.get("read") or half, half)}
        deadline, read = time.monotonic() + half, 0
        try:
            for part in self._inner:
                read += len(part)  # one read can bring up to 64 KiB more than the bound
                if read > DRAIN_BYTES or time.monotonic() > deadline:
                    break
        except Exception:  # noqa: BLE001 - a failed drain only costs the connection, never the answer
            pass


@cache
def _body_class(library: Any) -> type:
    # httpx and httpx2 each check that a body is their own SyncByteStream; httpx2 is imported
    # only with the openai client, so the class for each library is made when first needed.
    return type("DrainingBody", (_DrainingBody, library.SyncByteStream), {})
