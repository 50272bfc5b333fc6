"""Start the served API: `llm-playground serve --config FILE --pane NAME [--host H] [--port P] [--api-key-env VAR]`.

`serve_api` is the command; `ApiServer` runs the same app under uvicorn in a thread of this process
(tests and benchmarks), and stops by itself after its lifetime.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from playground.api.app import DEFAULT_MAX_QUEUE, ApiSettings, build_api, pane_health
from playground.config import PlaygroundConfig, load_config
from playground.errors import InputError
from playground.interpreter import freeze_startup_heap
from playground.panes import BackendContext, Pane, build_panes
from playground.runner import FanOutRunner
from playground.store import RunStore, resolve_store_location

DEFAULT_PORT = 8000
# How long a stopping server waits for the runs it stopped to end and be logged.
RUNS_END_TIMEOUT_S = 10.0


@dataclass(frozen=True)
class ServeApiOptions:
    config: Path
    pane: str
    host: str = "127.0.0.1"
    port: int = DEFAULT_PORT
    api_key_env: str | None = None
    store: str | None = None
    max_queue: int = DEFAULT_MAX_QUEUE


def served_pane(config: PlaygroundConfig, name: str, context: BackendContext | None = None) -> Pane:
    """The pane called `name`, built as the page builds its panes (one shared model cache and lock)."""
    panes = {pane.name: pane for pane in build_panes(config, context or BackendContext())}
    if name not in panes:
        raise InputError(f"--pane: no pane named {name!r} in {config.source}; panes: {', '.join(sorted(panes))}")
    return panes[name]


def api_key_from(env_name: str | None) -> str | None:
    """The key clients must send, read from the named environment variable (the value is never printed)."""
    if env_name is None:
        return None
    key = os.environ.get(env_name, "")
    if not key.strip():
        raise InputError(f"--api-key-env {env_name}: that environment variable is not set; export the key in it first.")
    return key.strip()


def serve_api(options: ServeApiOptions) -> int:
    import uvicorn

    if options.max_queue < 0:
        raise InputError("--max-queue must be 0 or more.")
    config = load_config(options.config)
    pane = served_pane(config, options.pane)
    settings = ApiSettings(api_key=api_key_from(options.api_key_env), max_queue=options.max_queue)
    with RunStore(resolve_store_location(options.store, config.store)) as store:
        runner = FanOutRunner(store)
        described = f"{pane.name!r} ({pane.config.backend} {pane.backend.model})"
        print(f"Preparing pane {described}; run log: {store.location}", file=sys.stderr)
        runner.prepare([pane])
        _warn_if_not_ready(pane)
        app = build_api(pane, runner, settings)
        freeze_startup_heap()
        auth = f"bearer key from {options.api_key_env}" if options.api_key_env else "no key"
        print(f"Serving {pane.name!r} at http://{options.host}:{options.port}/v1 ({auth}); Ctrl-C stops.", file=sys.stderr)
        # uvicorn stops on SIGTERM, then raises it again once the previous handler is back
        # (uvicorn/server.py, capture_signals): without one of ours the process died there, before
        # the runs cut by the shutdown were logged. Ours lets the shutdown below run to its end.
        signal.signal(signal.SIGTERM, _already_stopping)
        # uvicorn's access log names method, path and status only, never the Authorization header.
        uvicorn.run(app, host=options.host, port=options.port, log_level="info", timeout_graceful_shutdown=5)
        # Requests cut by the shutdown were stopped; their runs are logged (as cancelled) before the process ends.
        if app.state.admission.wait_idle(RUNS_END_TIMEOUT_S):
            print("Server stopped; every run is in the run log.", file=sys.stderr)
        else:
            print("Server stopped; a run still in flight could not be logged.", file=sys.stderr)
    return 0


def _already_stopping(signum: int, frame: object) -> None:
    """SIGTERM after uvicorn has shut down: the rest of `serve_api` finishes the stop."""


def _warn_if_not_ready(pane: Pane) -> None:
    # Served all the same: the problem may pass (a server started, weights copied in) and /health tells clients meanwhile.
    body, _status = pane_health(pane)
    if "reason" in body:
        warning = f"warning: pane {pane.name!r} is not ready: {body['reason']}; serving anyway, /health answers 503 until it is."
        print(warning, file=sys.stderr)


class ApiServer:
    """`build_api`'s app under uvicorn in a daemon thread on 127.0.0.1; a context manager.

    It stops when the block ends, or by itself after `max_lifetime_s`, whichever comes first.
    """

    def __init__(
        self, pane: Pane, runner: FanOutRunner, settings: ApiSettings | None = None, port: int = 0, max_lifetime_s: float = 300
    ) -> None:
        import uvicorn

        from playground.testing.loopback import free_port

        self.port = port or free_port()
        self.app = build_api(pane, runner, settings)
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="api-server", daemon=True)
        self._lifetime = threading.Timer(max_lifetime_s, self.stop)
        self._lifetime.daemon = True

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"

    def __enter__(self) -> ApiServer:
        self._thread.start()
        self._lifetime.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the API server did not start on port {self.port}")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        self._server.should_exit = True

    def __exit__(self, *exc: object) -> None:
        self._lifetime.cancel()
        self.stop()
        self._thread.join(10)
