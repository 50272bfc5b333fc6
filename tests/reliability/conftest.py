"""Helpers for the reliability campaign: unreachable addresses, and a figures file."""

from __future__ import annotations

import contextlib
import socket
from pathlib import Path

import pytest

from tests.support import FigureFile

FIGURES = FigureFile(Path(__file__).resolve().parents[2] / "test-artifacts" / "reliability" / "figures.json")


def record_figure(section: str, key: str, value) -> None:
    FIGURES.record((section, key), value)


@pytest.fixture
def closed_url() -> str:
    """An address where nothing listens: connections are refused."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def black_hole_url():
    """An address that never completes a connection: its accept queue is full, new SYNs are dropped."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    fillers = []
    for _ in range(4):
        filler = socket.socket()
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(listener.getsockname())
        fillers.append(filler)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    for sock in [*fillers, listener]:
        sock.close()
