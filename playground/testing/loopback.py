"""Scripted loopback servers that speak the OpenAI chat and Ollama /api/chat wire formats.

The real `openai` and `ollama` clients talk to them over HTTP on 127.0.0.1, while the
script fixes what a real server only approximates: the first-token delay, the gaps
between chunks, where usage arrives, and which faults happen. Servers listen on
127.0.0.1 only and shut themselves down after `max_lifetime_s`.
"""

from __future__ import annotations

import contextlib
import json
import socket
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
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
    error_body: dict[str, Any] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    # Fault injection: stop after this many tokens, either cleanly cut or with bad JSON.
    drop_after: int | None = None
    malformed_after: int | None = None
    stall_after: int | None = None
    stall_s: float = 0.0
    # What the Ollama server reports as its model load time.
    server_load_s: float = 0.001

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


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _LoopbackServer

    def parse_request(self) -> bool:
        # The earliest moment the request is seen: injected delays count from here.
        self.arrived = time.perf_counter()
        return super().parse_request()

    def setup(self) -> None:
        super().setup()
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

    def _end_chunked(self) -> None:
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
        handler = self.server.routes.get(self.path.split("?")[0])
        if handler is None:
            self._send_json(404, {"error": f"no route {self.path}"})
            return
        handler(self, body)

    def do_GET(self) -> None:
        handler = self.server.routes.get(self.path.split("?")[0])
        if handler is None:
            self._send_json(404, {"error": f"no route {self.path}"})
            return
        handler(self, {})


class _LoopbackServer(ThreadingHTTPServer):
    daemon_threads = True
    routes: dict[str, Any]
    requests: list[dict[str, Any]]
    write_times: list[list[float]]

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that leaves mid-answer (Stop, a test's early close) is normal here.
        error = sys.exc_info()[1]
        if not isinstance(error, ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Base: serve `routes` on 127.0.0.1 in a thread; use as a context manager."""

    def __init__(self, scripts: dict[str, Script], max_lifetime_s: float = 600.0) -> None:
        self.scripts = scripts
        self._server = _LoopbackServer(("127.0.0.1", 0), _Handler)
        self._server.routes = self.routes()
        self._server.requests = []
        self._server.write_times = []
        self._lifetime = threading.Timer(max_lifetime_s, self.stop)
        self._lifetime.daemon = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

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
        return self.scripts.get(model)


def _sleep_until(instant: float) -> None:
    remaining = instant - time.perf_counter()
    if remaining > 0:
        time.sleep(remaining)


def _paced(script: Script, handler: _Handler) -> Iterator[tuple[int, str, str]]:
    """(index, kind, text) for each piece (reasoning first), each at its scheduled time.

    The moment each piece is handed to the socket is recorded in `server.write_times`.
    """
    pieces = [("reasoning", r) for r in script.reasoning] + [("content", t) for t in script.tokens]
    written: list[float] = []
    handler.server.write_times.append(written)
    for index, (kind, text) in enumerate(pieces):
        _sleep_until(script.due_at(handler.arrived, index))
        written.append(time.perf_counter())
        yield index, kind, text


class OpenAIServer(LoopbackServer):
    """POST /v1/chat/completions, streaming (SSE) and not; errors as OpenAI formats them."""

    def routes(self) -> dict[str, Any]:
        return {"/v1/chat/completions": self._chat, "/v1/models": self._models}

    def _models(self, handler: _Handler, body: dict[str, Any]) -> None:
        handler._send_json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.scripts]})

    def _chat(self, handler: _Handler, body: dict[str, Any]) -> None:
        script = self.script_for(body.get("model", ""))
        if script is None:
            error = {"message": f"The model `{body.get('model')}` does not exist", "type": "invalid_request_error"}
            handler._send_json(404, {"error": error})
            return
        if script.status != 200:
            error = script.error_body or {"error": {"message": f"scripted status {script.status}", "type": "error"}}
            handler._send_json(script.status, error, script.headers)
            return
        if body.get("stream"):
            self._stream(handler, script, body)
        else:
            self._complete(handler, script, body)

    @staticmethod
    def _usage(script: Script) -> dict[str, int]:
        output = len(script.tokens) + len(script.reasoning)
        return {"prompt_tokens": 7, "completion_tokens": output, "total_tokens": 7 + output}

    def _complete(self, handler: _Handler, script: Script, body: dict[str, Any]) -> None:
        _sleep_until(script.complete_at(handler.arrived))
        message: dict[str, Any] = {"role": "assistant", "content": "".join(script.tokens)}
        if script.reasoning:
            message["reasoning_content"] = "".join(script.reasoning)
        payload: dict[str, Any] = {
            "id": "cmpl-loopback",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "stop"}],
        }
        if script.usage != "none":
            payload["usage"] = self._usage(script)
        handler._send_json(200, payload)

    def _stream(self, handler: _Handler, script: Script, body: dict[str, Any]) -> None:
        def event(delta: dict[str, Any], finish: str | None = None, usage: dict | None = None, choices: bool = True) -> bytes:
            chunk: dict[str, Any] = {
                "id": "cmpl-loopback",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
            }
            chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []
            if usage is not None:
                chunk["usage"] = usage
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        handler._start_chunked("text/event-stream")
        handler._chunk(event({"role": "assistant", "content": ""}))
        last_index = len(script.reasoning) + len(script.tokens) - 1
        for index, kind, text in _paced(script, handler):
            if handler._inject_fault(script, index, b"data: {not json\n\n"):
                return
            last = index == last_index
            usage = self._usage(script) if last and script.usage == "last-chunk" else None
            field_name = "reasoning_content" if kind == "reasoning" else "content"
            handler._chunk(event({field_name: text}, "stop" if last and usage else None, usage))
        if script.usage == "separate":
            handler._chunk(event({}, "stop"))
            handler._chunk(event({}, usage=self._usage(script), choices=False))
        elif script.usage == "none":
            handler._chunk(event({}, "stop"))
        handler._chunk(b"data: [DONE]\n\n")
        handler._end_chunked()


class OllamaServer(LoopbackServer):
    """POST /api/chat (NDJSON stream, or one object with "stream": false) and GET /api/tags."""

    def routes(self) -> dict[str, Any]:
        return {"/api/chat": self._chat, "/api/tags": self._tags}

    def _tags(self, handler: _Handler, body: dict[str, Any]) -> None:
        models = [{"name": m, "model": m, "size": 1, "digest": "0" * 12} for m in self.scripts]
        handler._send_json(200, {"models": models})

    def _final(self, script: Script, model: str, content: str, thinking: str, started: float) -> dict[str, Any]:
        total = time.perf_counter() - started
        return {
            "model": model,
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": content, **({"thinking": thinking} if thinking else {})},
            "done": True,
            "done_reason": "stop",
            "total_duration": int(total * 1e9),
            "load_duration": int(script.server_load_s * 1e9),
            "prompt_eval_count": 7,
            "prompt_eval_duration": 2_000_000,
            "eval_count": len(script.tokens) + len(script.reasoning),
            "eval_duration": int(max(total - 0.003, 0) * 1e9),
        }

    def _chat(self, handler: _Handler, body: dict[str, Any]) -> None:
        started = handler.arrived
        model = body.get("model", "")
        script = self.script_for(model)
        if script is None:
            handler._send_json(404, {"error": f"model '{model}' not found"})
            return
        if script.status != 200:
            handler._send_json(script.status, script.error_body or {"error": f"scripted status {script.status}"}, script.headers)
            return
        if body.get("stream", True) is False:
            _sleep_until(script.complete_at(handler.arrived))
            handler._send_json(200, self._final(script, model, "".join(script.tokens), "".join(script.reasoning), started))
            return
        handler._start_chunked("application/x-ndjson")
        for index, kind, text in _paced(script, handler):
            if handler._inject_fault(script, index, b"{not json\n"):
                return
            message = {"role": "assistant", "content": text if kind == "content" else ""}
            if kind == "reasoning":
                message["thinking"] = text
            line = {"model": model, "created_at": "2026-01-01T00:00:00Z", "message": message, "done": False}
            handler._chunk(json.dumps(line).encode() + b"\n")
        handler._chunk(json.dumps(self._final(script, model, "", "", started)).encode() + b"\n")
        handler._end_chunked()


SERVERS: dict[str, type[LoopbackServer]] = {"openai": OpenAIServer, "ollama": OllamaServer}


def _serve_child(kind: str, scripts: dict[str, Script], connection: Any) -> None:
    with SERVERS[kind](scripts) as server:
        connection.send(server.port)
        while (command := connection.recv()) != "stop":
            connection.send(server.write_times if command == "write_times" else server.requests)


class SubprocessServer:
    """A loopback server in its own process, so it does not share the client's GIL (for benchmarks).

    perf_counter is the system-wide monotonic clock on Linux, so `write_times` compare directly
    with the client's timestamps.
    """

    def __init__(self, kind: Literal["openai", "ollama"], scripts: dict[str, Script]) -> None:
        import multiprocessing

        context = multiprocessing.get_context("spawn")
        self._connection, child_end = context.Pipe()
        self._process = context.Process(target=_serve_child, args=(kind, scripts, child_end), daemon=True)
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def write_times(self) -> list[list[float]]:
        self._connection.send("write_times")
        return self._connection.recv()

    def __enter__(self) -> SubprocessServer:
        self._process.start()
        if not self._connection.poll(60):
            raise RuntimeError("loopback server process did not start")
        self.port = self._connection.recv()
        return self

    def __exit__(self, *exc: object) -> None:
        with contextlib.suppress(OSError):
            self._connection.send("stop")
        self._process.join(5)
        if self._process.is_alive():
            self._process.terminate()
