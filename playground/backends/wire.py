"""Linking a backend's HTTP client to the run it serves.

Two things happen on the wire that the metrics depend on:
  - when the request leaves (the run's "send"), told by an httpx request hook;
  - whether the next run reuses the connection. A streamed answer's client often stops
    reading at its logical end — the openai client at `data: [DONE]`, the Ollama backend at
    the `done` object — before the chunked body's last, empty chunk. httpcore then cannot
    reuse the connection, and every run pays a new TCP (and, for a cloud API, TLS) handshake
    inside its TTFT. The openai client drains that tail itself only in its async stream
    (openai `_streaming.py`, `drain_response_async`: "HTTP/1.1 needs the remaining body
    consumed for connection reuse"); `ReusingTransport` does the same for the sync clients.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from typing import Any

from playground.backends.base import StopSignal

# The tail of an answer's body is a few bytes already on their way; a server that sends
# more (or nothing) within this bound loses the connection instead of holding the run.
DRAIN_S = 0.1
DRAIN_BYTES = 64 * 1024


class WireTap:
    """One per pane: tells the current run when its request leaves, and keeps connections reusable.

    httpx runs request hooks and the transport in the calling thread; a thread-local keeps
    concurrent runs sharing one client apart. Only the first send of a run counts, so a
    retried request is timed from its first attempt.
    """

    def __init__(self) -> None:
        self._local = threading.local()

    def on_request(self, request: Any) -> None:
        """The httpx request hook: called just before the request is handed to the transport."""
        callback = getattr(self._local, "on_send", None)
        if callback is not None:
            self._local.on_send = None
            callback()

    def transport(self, inner: Any, library: Any) -> Any:
        """`inner` (an httpx-style transport of `library`: httpx or httpx2) wrapped to drain answer tails."""
        return _transport_class(library)(inner, _stream_class(library), self)

    def current_stop(self) -> StopSignal | None:
        return getattr(self._local, "stop", None)

    @contextmanager
    def armed(self, on_send: Callable[[], None] | None, stop: StopSignal | None = None) -> Iterator[None]:
        self._local.on_send, self._local.stop = on_send, stop
        try:
            yield
        finally:
            self._local.on_send = self._local.stop = None


class _ReusingTransport:
    """Delegates to an inner transport; each response's body drains its tail when closed early."""

    def __init__(self, inner: Any, stream_class: type, tap: WireTap) -> None:
        self._inner, self._stream_class, self._tap = inner, stream_class, tap

    def handle_request(self, request: Any) -> Any:
        response = self._inner.handle_request(request)
        response.stream = self._stream_class(response.stream, request, self._tap.current_stop())
        return response

    def close(self) -> None:
        self._inner.close()

    def __enter__(self) -> _ReusingTransport:
        self._inner.__enter__()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self._inner.__exit__(*exc_info)


class _DrainingBody:
    """A response body that, when closed, first reads what is left of it (bounded).

    Not after a stop: the server is still answering, and the stop wants the connection cut.
    """

    def __init__(self, inner: Any, request: Any, stop: StopSignal | None) -> None:
        self._inner, self._request, self._stop = inner, request, stop
        self._reading: Iterator[bytes] | None = None
        self._drained = False

    def __iter__(self) -> Iterator[bytes]:
        # The reader gets the inner pass itself: no layer of ours per read. Holding it here keeps
        # a reader that drops its generator mid-body (the ollama client's, at the `done` object)
        # from finalizing it, which would close the connection before `close` reads the tail.
        self._reading = iter(self._inner)
        return self._reading

    def close(self) -> None:
        if not self._drained and not (self._stop is not None and self._stop.is_set()):
            self._drain()
        self._reading = None
        self._inner.close()

    def _drain(self) -> None:
        self._drained = True  # one attempt: a failed drain closes the connection, as it was
        # A fresh pass over the body reads the rest (none, when the reader read it all): httpcore
        # takes the read timeout from the request's "timeout" extension as each pass starts
        # (httpcore docs, "Extensions"), so lowering it here bounds every read of the drain.
        timeouts = self._request.extensions.get("timeout")
        if isinstance(timeouts, dict):
            self._request.extensions["timeout"] = {**timeouts, "read": min(timeouts.get("read") or DRAIN_S, DRAIN_S)}
        deadline, read = time.perf_counter() + DRAIN_S, 0
        try:
            for part in self._inner:
                read += len(part)
                if read > DRAIN_BYTES or time.perf_counter() > deadline:
                    break
        except Exception:  # noqa: BLE001 - a failed drain only costs the connection, never the answer
            pass


@cache
def _transport_class(library: Any) -> type:
    # httpx and httpx2 each check that a transport and a body are their own base classes.
    return type("ReusingTransport", (_ReusingTransport, library.BaseTransport), {})


@cache
def _stream_class(library: Any) -> type:
    return type("DrainingBody", (_DrainingBody, library.SyncByteStream), {})
