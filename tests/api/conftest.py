"""The served API on 127.0.0.1 (uvicorn in a thread of the test process), serving the tiny local model."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import openai
import pytest

from playground.api.app import ApiSettings
from playground.api.launch import ApiServer
from playground.config import parse_config
from playground.panes import BackendContext, Pane, build_pane
from playground.runner import FanOutRunner
from playground.store import RunStore

MAX_TOKENS = 12


@dataclass
class Served:
    server: ApiServer
    pane: Pane
    store: RunStore
    context: BackendContext

    def client(self, api_key: str = "unused", **options: object) -> openai.OpenAI:
        # No retries by the client: each test sees the server's first answer.
        return openai.OpenAI(base_url=self.server.base_url, api_key=api_key, max_retries=0, timeout=60, **options)

    def api_runs(self) -> list:
        return self.store.rows(session_id="api")


def local_pane(model_dir: Path, context: BackendContext, **overrides: object) -> Pane:
    settings = {
        "name": "local",
        "backend": "transformers",
        "model": str(model_dir),
        "torch_threads": 1,
        "system": "You are terse.",
        "params": {"temperature": 0, "max_tokens": MAX_TOKENS},
    }
    # An override of None drops the setting (a remote pane has no torch_threads).
    config = parse_config({"panes": [{k: v for k, v in (settings | overrides).items() if v is not None}]})
    return build_pane(config.panes[0], config, context)


@pytest.fixture
def serve(tiny_model_dir: Path, tmp_path: Path) -> Iterator:
    """serve(settings=None, **pane) → Served: the tiny local pane (or `pane`'s overrides) behind the API.

    Every server stops after the test (and by itself after two minutes).
    """
    started: list[ApiServer] = []

    def start(settings: ApiSettings | None = None, **pane_settings: object) -> Served:
        context = BackendContext()
        pane = local_pane(tiny_model_dir, context, **pane_settings)
        store = RunStore(tmp_path / f"runs-{len(started)}.sqlite")
        runner = FanOutRunner(store)
        runner.prepare([pane])
        server = ApiServer(pane, runner, settings, max_lifetime_s=120).__enter__()
        started.append(server)
        return Served(server, pane, store, context)

    yield start
    for server in started:
        server.__exit__(None, None, None)
