"""A real llama.cpp server (llama-cpp-python's) serving the tiny model as GGUF on 127.0.0.1."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from playground.testing.loopback import free_port
from tests.conftest import _wait_healthy

LLAMACPP_INSTALL = "scripts/setup.sh --dev  (or: .venv/bin/pip install 'llama-cpp-python[server]==0.3.36')"
LLAMACPP_MODEL = "tiny-gguf"
# The server has no lifetime limit of its own: `timeout` ends it even if pytest dies first.
LLAMACPP_LIFETIME_S = 1800


def _require_llamacpp() -> None:
    """Fail, not skip: this tier is part of the suite, and a missing build must show in CI."""
    needed = ("llama_cpp", "sse_starlette", "starlette_context", "pydantic_settings")
    missing = [module for module in needed if not importlib.util.find_spec(module)]
    if missing:
        pytest.fail(f"llama.cpp server tests need {', '.join(missing)}; install with: {LLAMACPP_INSTALL}", pytrace=False)


def _server_env(port: int) -> dict[str, str]:
    from llama_cpp.server.settings import Settings

    # The server reads every setting it lacks a flag for from the environment (pydantic-settings,
    # any case): an API_KEY, CONFIG_FILE or CACHE there would change the server under test.
    settings = {name.upper() for name in Settings.model_fields} | {"CONFIG_FILE"}
    env = {k: v for k, v in os.environ.items() if k.upper() not in settings}
    # llama_cpp/server/__main__.py lets HOST and PORT override --host/--port: pin them to ours.
    return env | {"HOST": "127.0.0.1", "PORT": str(port), "OMP_NUM_THREADS": "1"}


def _stop(process: subprocess.Popen) -> None:
    """SIGTERM, then SIGKILL to the whole group.

    On SIGTERM uvicorn waits for non-stream answers in flight to finish; streams are cut
    within 0.5 s (sse-starlette watches for shutdown), without "[DONE]".
    """
    # To `timeout` only, which passes it on once (a second SIGTERM makes uvicorn quit at once)
    # and kills the server itself 10 s later if it still runs.
    process.terminate()
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)


@pytest.fixture(scope="session")
def llamacpp_gguf(tiny_model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    from playground.testing.gguf_export import export_gguf

    return export_gguf(tiny_model_dir, tmp_path_factory.mktemp("gguf") / "tiny.gguf")


@pytest.fixture(scope="session")
def llamacpp_server(llamacpp_gguf: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """`python -m llama_cpp.server` on 127.0.0.1 serving the tiny model; yields its ".../v1" URL.

    Settings not named here keep the server's defaults, interrupt_requests among them: a new
    request ends a stream in flight early, with "[DONE]" and no finish_reason.
    """
    _require_llamacpp()
    port = free_port()
    server = [sys.executable, "-m", "llama_cpp.server", "--model", str(llamacpp_gguf), "--model_alias", LLAMACPP_MODEL]
    server += ["--host", "127.0.0.1", "--port", str(port), "--chat_format", "chatml"]
    server += ["--n_ctx", "1024", "--n_threads", "1", "--n_threads_batch", "1"]
    command = ["timeout", "--kill-after=10", str(LLAMACPP_LIFETIME_S), *server]
    log = tmp_path_factory.mktemp("llamacpp-log") / "server.log"
    with log.open("wb") as output:
        # Its own process group, so that the kill reaches the server behind `timeout` too.
        process = subprocess.Popen(
            command, env=_server_env(port), stdout=output, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        try:
            # No /health in this server; /v1/models answers once the model is loaded.
            _wait_healthy(f"http://127.0.0.1:{port}/v1/models", process, timeout_s=60)
        except RuntimeError as exc:
            tail = log.read_text(errors="replace")[-3000:]
            pytest.fail(f"llama.cpp server did not start: {exc}\n--- {log} ---\n{tail}", pytrace=False)
        yield f"http://127.0.0.1:{port}/v1"
    finally:
        _stop(process)
