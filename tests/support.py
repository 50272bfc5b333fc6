"""Small helpers shared by the tests: bounded waiting, and files of measured figures."""

from __future__ import annotations

import json
import signal
import socket
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit


def wait_until(predicate: Callable[[], object], timeout_s: float = 30.0, what: str = "the condition") -> None:
    """Poll `predicate` until it is true; fail the test (never hang) after `timeout_s`."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not happen within {timeout_s:g} s")
        time.sleep(0.0005)


def connections_opened(monkeypatch: Any, url: str) -> list[tuple[str, int]]:
    """A list that fills with each TCP connection the HTTP clients open to `url`'s port from now on."""
    port = urlsplit(url).port
    opened: list[tuple[str, int]] = []
    connect = socket.create_connection

    def counting(address: tuple[str, int], *args: Any, **kwargs: Any) -> socket.socket:
        if address[1] == port:
            opened.append(address)
        return connect(address, *args, **kwargs)

    # httpcore (httpx, httpx2) opens its connections with socket.create_connection.
    monkeypatch.setattr(socket, "create_connection", counting)
    return opened


class FigureFile:
    """A JSON file of figures measured by tests (read for the closing notes), one key path per figure."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def record(self, keys: str | tuple[str, ...], value: Any) -> None:
        keys = (keys,) if isinstance(keys, str) else keys
        self.path.parent.mkdir(parents=True, exist_ok=True)
        figures = json.loads(self.path.read_text()) if self.path.exists() else {}
        node = figures
        for key in keys[:-1]:
            node = node.setdefault(key, {})
        node[keys[-1]] = value
        self.path.write_text(json.dumps(figures, indent=2, sort_keys=True))


class DecodeSteps:
    """Counts a local model's forward passes (one per decode step, plus the prompt's) while in use."""

    def __init__(self, backend: Any) -> None:
        self._model = backend.loaded_model().model
        self.count = 0
        self._hook: Any = None

    def _seen(self, *_: Any) -> None:
        self.count += 1

    def __enter__(self) -> DecodeSteps:
        self._hook = self._model.register_forward_hook(self._seen)
        return self

    def __exit__(self, *_: object) -> None:
        self._hook.remove()


def ctrl_c_as_in_a_terminal() -> None:
    """A `preexec_fn` for a child that a test stops with SIGINT.

    A test run started in the background of a non-interactive shell (`cmd &`, as a CI runner may)
    ignores SIGINT, children inherit that, and Python then installs no KeyboardInterrupt handler:
    the child never hears the Ctrl-C. A person's Ctrl-C reaches a foreground process, so restore that.
    """
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def held_until(pane, release: threading.Event, prepared: list[str]):
    """Make the pane's preparation wait for `release` (as a model load would), noting when it ran."""
    prepare = pane.backend.prepare

    def held() -> None:
        release.wait(30)
        prepare()
        prepared.append(pane.name)

    pane.backend.prepare = held
    return pane
