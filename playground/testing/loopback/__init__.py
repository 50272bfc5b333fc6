"""Scripted loopback servers that speak the OpenAI chat and Ollama /api/chat wire formats.

The real `openai` and `ollama` clients talk to them over HTTP on 127.0.0.1, while the
script fixes what a real server only approximates: the first-token delay, the gaps
between chunks, where usage arrives, and which faults happen. Servers listen on
127.0.0.1 only and shut themselves down after `max_lifetime_s`.
"""

from __future__ import annotations

import contextlib
from typing import Any, Literal

from playground.testing.loopback.base import LoopbackServer, Script, free_port
from playground.testing.loopback.ollama_server import OllamaServer
from playground.testing.loopback.openai_server import OpenAIServer

__all__ = ["LoopbackServer", "OllamaServer", "OpenAIServer", "Script", "SubprocessServer", "free_port"]

SERVERS: dict[str, type[LoopbackServer]] = {"openai": OpenAIServer, "ollama": OllamaServer}


def _serve_child(kind: str, scripts: dict[str, Script], connection: Any) -> None:
    with SERVERS[kind](scripts) as server:
        connection.send(server.port)
        while (command := connection.recv()) != "stop":
            connection.send(getattr(server, command))


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

    def connections(self) -> int:
        """How many TCP connections clients opened."""
        self._connection.send("connections")
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
