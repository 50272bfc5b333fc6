"""The common part of the loopback servers: scripts, the HTTP handler, pacing, lifetime."""

from __future__ import annotations

import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal


def free_port() -> int:
    """A port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Script:
    """How the server answers for one model name."""

    tokens: tuple[str, ...] = tuple(f"tok{i} " for i in range(20))
    reasoning: tuple[str, ...] = ()
    first_token_delay_s: float = 0.0
    gap_s: float = 0.0
    usage: Literal["separate", "last-chunk", "none"] = "separate"
    status: int = 200
    # With a status other than 200: answer with it only this many times, then normally (None: always).
    status_times: int | None = None
    error_body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Fault injection: stop after this many tokens, either cleanly cut or with bad JSON.
    drop_after: int | None = None
    malformed_after: int | None = None
    stall_after: int | None = None
    stall_s: float = 0.0
    # What the Ollama server reports as its model load time.
    server_load_s: float = 0.001
    # How the answer ends: None sends no finish reason (llama.cpp's server ends an interrupted
    # stream so); "length" is a budget that ran out.
    finish_reason: str | None = "stop"
    # OpenAI-style servers: end the stream with `data: [DONE]` (some servers just close it).
    done_marker: bool = True
    # After this many pieces the server reports a failure inside the stream, with this message.
    stream_error_after: int | None = None
    stream_error: str = "CUDA error: out of memory"
    # Where reasoning goes in OpenAI-style deltas: DeepSeek/DashScope `reasoning_content`, vLLM ≥ 0.10 `reasoning`.
    reasoning_field: str = "reasoning_content"
    # SSE comment lines between chunks, as proxies and some servers send to keep a connection open.
    keepalive_comments: bool = False
    # llama.cpp's server: add its `timings` object to the final chunk / the response.
    timings: bool = False
    # Hold the body open this long after the answer's last line, before its closing empty chunk
    # (a proxy that flushes late); the answer itself is complete.
    tail_hold_s: float = 0.0

    def due_at(self, arrived: float, index: int) -> float:
        """When piece `index` is due, on the monotonic clock, for a request that arrived at `arrived`.

        Absolute times keep the server's own costs (parsing, writing) out of the injected delays.
        """
        due = arrived + self.first_token_delay_s + index * self.gap_s
        if self.stall_after is not None and index >= self.stall_after:
            due += self.stall_s
        return due

    def complete_at(self, arrived: float) -> float:
        return self.due_at(arrived, max(len(self.tokens) + len(self.reasoning) - 1, 0))


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _LoopbackServer

    def parse_request(self) -> bool:
        # The earliest moment the request is seen: injected delays count from here.
        self.arrived = time.perf_counter()
        return super().parse_request()

    def setup(self) -> None:
        super().setup()
        with self.server.connections_lock:
            self.server.connections += 1
        # Without this, Nagle's algorithm and delayed ACKs add up to 40 ms to small chunks.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _body(self) -> dict[str, Any]:
        length = int(self.headers.get("content-length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _send_json(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _start_chunked(self, content_type: str) -> None:
        self.send_response(200)
        self.send_header("content-type", content_type)
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))

    def _end_chunked(self, hold_s: float = 0.0) -> None:
        if hold_s:
            self.wfile.flush()
            time.sleep(hold_s)
        self.wfile.write(b"0\r\n\r\n")

    def _drop(self) -> None:
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _inject_fault(self, script: Script, index: int, malformed: bytes) -> bool:
        """Cut the connection or send a broken line at the scripted piece; True when the answer ends here."""
        if script.drop_after is not None and index == script.drop_after:
            self._drop()
            return True
        if script.malformed_after is not None and index == script.malformed_after:
            self._chunk(malformed)
            self._end_chunked()
            return True
        return False

    def do_POST(self) -> None:
        body = self._body()
        self.server.requests.append(body)
        self._route(body)

    def do_GET(self) -> None:
        self._route({})

    def _route(self, body: dict[str, Any]) -> None:
        handler = self.server.routes.get(self.path.split("?")[0])
        if handler is None:
            # What FastAPI-based servers (vLLM, llama-cpp-python, transformers serve) answer for an unknown path.
            self._send_json(404, {"detail": "Not Found"})
            return
        handler(self, body)


class _LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Any]
    requests: list[dict[str, Any]]
    write_times: list[list[float]]
    connections: int
    connections_lock: threading.Lock

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that leaves mid-answer (Stop, a test's early close) is normal here.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Base: serve `routes` on 127.0.0.1 in a thread; use as a context manager."""

    def __init__(self, scripts: dict[str, Script], max_lifetime_s: float = 600.0) -> None:
        self.scripts = scripts
        self._server = _LoopbackServer(("127.0.0.1", 0), Handler)
        self._server.routes = self.routes()
        self._server.requests = []
        self._server.write_times = []
        self._server.connections = 0
        self._server.connections_lock = threading.Lock()
        self._status_counts: dict[str, int] = {}
        self._counts_lock = threading.Lock()
        self._lifetime = threading.Timer(max_lifetime_s, self.stop)
        self._lifetime.daemon = True
        # A short poll lets `stop()` return at once (the default 0.5 s poll cost that much per server).
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    def routes(self) -> dict[str, Any]:
        raise NotImplementedError

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[dict[str, Any]]:
        return self._server.requests

    @property
    def write_times(self) -> list[list[float]]:
        """Per streamed request, the perf_counter instants at which each piece was written."""
        return self._server.write_times

    @property
    def connections(self) -> int:
        """How many TCP connections clients opened: a client that reuses its connection opens one."""
        return self._server.connections

    def start(self) -> LoopbackServer:
        self._thread.start()
        self._lifetime.start()
        return self

    def stop(self) -> None:
        self._lifetime.cancel()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> LoopbackServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def script_for(self, model: str) -> Script | None:
        """The model's script; a status limited to its first answers is dropped once they are used up."""
        script = self.scripts.get(model)
        if script is None or script.status == 200 or script.status_times is None:
            return script
        with self._counts_lock:
            used = self._status_counts.get(model, 0)
            self._status_counts[model] = used + 1
        return script if used < script.status_times else replace(script, status=200)


def sleep_until(instant: float) -> None:
    remaining = instant - time.perf_counter()
    if remaining > 0:
        time.sleep(remaining)


def paced(script: Script, handler: Handler) -> Iterator[tuple[int, str, str]]:
    """(index, kind, text) for each piece (reasoning first), each at its scheduled time.

    The moment each piece is handed to the socket is recorded in `server.write_times`.
    """
    pieces = [("reasoning", r) for r in script.reasoning] + [("content", t) for t in script.tokens]
    written: list[float] = []
    handler.server.write_times.append(written)
    for index, (kind, text) in enumerate(pieces):
        sleep_until(script.due_at(handler.arrived, index))
        written.append(time.perf_counter())
        yield index, kind, text


