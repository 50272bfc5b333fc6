"""Shared fixtures: the tiny model, a real `transformers serve`, scripted loopback servers."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from playground.config import PlaygroundConfig, parse_config
from playground.panes import BackendContext, Pane, build_pane
from playground.store import RunStore
from playground.testing.loopback import free_port

if TYPE_CHECKING:
    from playground.testing.postgres import PostgresServer

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # A real server process takes seconds to start: every `server` test belongs to the slow layer too.
    for item in items:
        if item.get_closest_marker("server") is not None:
            item.add_marker(pytest.mark.slow)


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    from playground.testing.tiny_model import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


def _wait_healthy(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"server exited early with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError(f"server at {url} not healthy after {timeout_s} s")


@pytest.fixture(scope="session")
def transformers_server(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory):
    """A real `transformers serve` on 127.0.0.1 serving the tiny model; stopped after the session."""
    port = free_port()
    cache = tmp_path_factory.mktemp("hf-cache")
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    command = [sys.executable, "-m", "transformers.cli.transformers", "serve", str(tiny_model_dir)]
    command += ["--host", "127.0.0.1", "--port", str(port), "--device", "cpu"]
    log = tmp_path_factory.mktemp("serve-log") / "serve.log"
    with log.open("wb") as output:
        process = subprocess.Popen(command, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        _wait_healthy(f"http://127.0.0.1:{port}/health", process, timeout_s=90)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """A real PostgreSQL on 127.0.0.1 for the whole session. Without PostgreSQL installed the tests fail, naming the install."""
    from playground.testing.postgres import PostgresNotInstalled, PostgresServer

    try:
        server = PostgresServer().start()
    except PostgresNotInstalled as exc:
        pytest.fail(str(exc), pytrace=False)
    with server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> str:
    """A new, empty database on the session's PostgreSQL, as a SQLAlchemy URL."""
    return postgres_server.create_database()


@pytest.fixture
def backend_context() -> BackendContext:
    return BackendContext()


@pytest.fixture
def make_pane(backend_context: BackendContext):
    """Build a real pane from a config mapping, as the app would."""

    def make(**pane: object) -> Pane:
        config = parse_config({"panes": [pane]})
        return build_pane(config.panes[0], config, backend_context)

    return make


@dataclass
class RunningApp:
    url: str
    store: RunStore
    config: PlaygroundConfig
    demo: object

    def refusal(self, client, prompt: str, values: list | None = None) -> str:
        """Send `prompt` through /send and return the page's refusal message ("" if it was accepted)."""
        try:
            client.predict(prompt, False, *(values or self.settings_values()), api_name="/send")
        except Exception as exc:  # noqa: BLE001 - gradio_client raises AppError carrying the message
            return str(exc)
        return ""

    def settings_values(self) -> list:
        """The settings inputs of /send as the page starts with them."""
        from playground.ui.settings import setting_values

        values: list = []
        for pane in self.config.panes:
            values += setting_values(pane.model, pane.params, pane.system, pane.mode == "stream")
        return values


@pytest.fixture
def serve_app(tmp_path) -> Iterator:
    """serve_app(panes, auth=None, store=None) → RunningApp, launched as `llm-playground` launches it
    (its CSS included); every app started is closed after the test."""
    started = []

    def serve(panes: list[dict], auth: list[tuple[str, str]] | None = None, store: RunStore | None = None) -> RunningApp:
        from playground.ui.app import build_controller, build_page
        from playground.ui.serve import launch

        config = parse_config({"panes": panes})
        store = store or RunStore(tmp_path / f"runs-{len(started)}.sqlite")
        controller = build_controller(config, store)
        demo = build_page(controller)
        started.append(demo)
        url, _ = launch(demo, "127.0.0.1", free_port(), auth=auth)
        controller.start_preparing()
        return RunningApp(url.rstrip("/"), store, config, demo)

    yield serve
    from playground.ui.serve import close_page

    for demo in started:
        close_page(demo)


def history_of(client, api_name: str) -> list[dict]:
    """A pane's chat after its turn: the renderer streams the turn, then its history event writes it."""
    client.predict(api_name=api_name)
    history, _live = client.predict(api_name=f"{api_name}_history")
    return history


def chat_texts(chat: list[dict]) -> list[str]:
    """The text of each Chatbot message as gradio_client returns them (lists of text parts)."""
    return ["".join(part["text"] for part in m["content"]) if isinstance(m["content"], list) else str(m["content"]) for m in chat]
