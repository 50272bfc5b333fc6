"""Fixtures that serve the real page on 127.0.0.1 and drive it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from playground.config import parse_config
from playground.store import RunStore
from playground.testing.browser import launch_chromium
from playground.testing.loopback import free_port

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "browser"


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


@pytest.fixture
def launch_page() -> Iterator:
    """launch_page(panes, store) → URL of the page, launched as `llm-playground` launches it (its CSS included)."""
    from playground.ui.app import build_app
    from playground.ui.serve import launch

    started = []

    def start(panes: list[dict], store: RunStore) -> str:
        demo = build_app(parse_config({"panes": panes}), store)
        started.append(demo)
        url, _ = launch(demo, "127.0.0.1", free_port())
        return url.rstrip("/")

    yield start
    for demo in started:
        demo.close()


def screenshot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
