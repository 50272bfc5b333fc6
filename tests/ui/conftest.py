"""Fixtures that serve the real page on 127.0.0.1 and drive it."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from playground.config import PlaygroundConfig, parse_config
from playground.store import RunStore
from playground.testing.browser import launch_chromium

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


@dataclass
class RunningApp:
    url: str
    store: RunStore
    config: PlaygroundConfig
    demo: object

    def settings_values(self) -> list:
        """The settings inputs of /send as the page starts with them."""
        values: list = []
        for pane in self.config.panes:
            p = pane.params
            values += [
                pane.model,
                p.temperature,
                p.top_p,
                p.top_k,
                p.max_tokens,
                p.repetition_penalty,
                p.seed,
                pane.system or "",
                pane.mode == "stream",
            ]
        return values


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def serve_app(tmp_path) -> Iterator:
    """serve_app(panes, auth=None) → RunningApp; every app started is closed after the test."""
    started = []

    def serve(panes: list[dict], auth: list[tuple[str, str]] | None = None) -> RunningApp:
        from playground.ui.app import build_app

        config = parse_config({"panes": panes})
        store = RunStore(tmp_path / f"runs-{len(started)}.sqlite")
        demo = build_app(config, store)
        demo.queue(default_concurrency_limit=None)
        _, url, _ = demo.launch(
            server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True, quiet=True, auth=auth, max_threads=256
        )
        started.append(demo)
        return RunningApp(url.rstrip("/"), store, config, demo)

    yield serve
    for demo in started:
        demo.close()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = launch_chromium(playwright)
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1100}, accept_downloads=True)
    opened = context.new_page()
    yield opened
    context.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
