"""Start the page: `llm-playground [--config FILE] [--host H] [--port P] [--share] [--auth user:pass]`."""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import signal
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from playground.config import load_config
from playground.errors import InputError
from playground.interpreter import collector_paused, freeze_startup_heap, tune_interpreter
from playground.store import RunStore, resolve_store_location

if TYPE_CHECKING:
    import gradio as gr

    from playground.ui.controller import Controller

AUTH_ENV = "PLAYGROUND_AUTH"
# How often the main thread looks for a stop signal while the page serves.
STOP_POLL_S = 0.1
# A running server loop sets its stop event in microseconds; a loop that does not answer is left to Gradio.
STOP_EVENT_TIMEOUT_S = 5.0
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class ServeOptions:
    config: Path
    host: str = "127.0.0.1"
    port: int = 7860
    share: bool = False
    auth: str | None = None
    store: str | Path | None = None  # a file or a database URL


def parse_auth(text: str | None) -> list[tuple[str, str]] | None:
    """`user:pass` pairs, comma-separated; None when not set."""
    if not text:
        return None
    pairs = []
    for item in text.split(","):
        user, sep, password = item.strip().partition(":")
        if not sep or not user or not password:
            raise InputError(f"--auth / {AUTH_ENV} must look like user:password (several separated by commas).")
        pairs.append((user, password))
    return pairs


def exposure_warning(host: str, share: bool, auth: list[tuple[str, str]] | None) -> str | None:
    """A warning when others could use the page, and so the backends and keys behind it, without logging in."""
    if auth:
        return None
    if share:
        return "warning: --share without --auth: anyone with the link can use your backends and keys."
    if host not in LOOPBACK_HOSTS:
        return f"warning: --host {host} without --auth: anyone who can reach this machine can use your backends and keys."
    return None


def launch(
    demo: gr.Blocks, host: str, port: int, share: bool = False, auth: list[tuple[str, str]] | None = None
) -> tuple[str, str | None]:
    """Start serving a page built by `build_app` without blocking; return its local and share URLs."""
    from playground.ui.app import PAGE_CSS

    # No `demo.queue(default_concurrency_limit=...)`: it would build Gradio's FastAPI app once more
    # (70 ms of start-up). Every event of the page sets its own concurrency limit instead, so nothing
    # falls to Gradio's default of one at a time (tests/ui/test_app_client.py checks each one).
    _, local_url, share_url = demo.launch(
        server_name=host,
        server_port=port,
        share=share,
        auth=auth,
        max_threads=256,
        prevent_thread_lock=True,
        quiet=True,
        footer_links=["api"],
        css=PAGE_CSS,
        # Gradio 6 keeps every event's inputs and outputs in the browser's localStorage (its "run
        # history", up to 100 events) and rewrites that whole list on each event's end and every
        # 500 ms of a streaming one (gradio/templates/frontend, run-history:v2): with history chats
        # among the outputs each write grew with the conversation and kept the page busy. It would
        # also leave prompts and answers in the browser; the run log is the record.
        run_history=False,
    )
    return local_url, share_url


def close_page(demo: gr.Blocks) -> None:
    """Stop serving a launched page, quietly (the caller says it stopped).

    Gradio's `close` sets its app's asyncio stop event from the calling thread while the server's
    loop may be adding or removing waiters on it — a race that raised "deque mutated during
    iteration" in a test's teardown. Set on its own loop first, Gradio's later set is a no-op.
    """
    event = getattr(getattr(demo, "app", None), "stop_event", None)
    # asyncio binds an event to its loop on the first wait; unbound, nothing waits on it to race with.
    loop = getattr(event, "_loop", None)
    if isinstance(loop, asyncio.AbstractEventLoop):
        if _running_loop() is loop:
            event.set()  # on the loop's own thread already: waiting for the loop would block it
        elif loop.is_running():
            with contextlib.suppress(RuntimeError, TimeoutError, concurrent.futures.CancelledError):
                asyncio.run_coroutine_threadsafe(_set_event(event), loop).result(timeout=STOP_EVENT_TIMEOUT_S)
    demo.close(verbose=False)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


async def _set_event(event: asyncio.Event) -> None:
    event.set()


def serve(options: ServeOptions) -> int:
    tune_interpreter()
    auth = parse_auth(options.auth or os.environ.get(AUTH_ENV))
    with collector_paused():
        controller, demo, store = _build(options, auth)
    # Ctrl-C, and `kill`, `docker stop` or systemd's SIGTERM: shut down cleanly (the page closed, the
    # run log closed, the CSV folder removed) rather than die mid-write; from before the page answers
    # its first request, so a stop that comes at once is clean too. The handler only records the
    # signal (no lock, no exception): an exception raised from it lands in whatever the main thread
    # runs at that instant, and inside a finalizer (`__del__`, run by the garbage collector) Python
    # drops it — the stop was lost. A second signal stops at once, should the clean stop hang.
    signals: list[int] = []

    def on_stop(signum: int, frame: object) -> None:
        signals.append(signum)
        if len(signals) > 1:
            raise KeyboardInterrupt

    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, on_stop)
    try:
        with collector_paused():
            local_url, share_url = launch(demo, options.host, options.port, options.share, auth)
        _announce(local_url, share_url if options.share else None, options.share)
        if not signals:  # clients and models now, with the page already up (a model loads for seconds)
            controller.start_preparing()
        while demo.is_running and not signals:
            time.sleep(STOP_POLL_S)
    finally:
        try:
            close_page(demo)
        finally:
            store.close()
    print("Playground stopped; every finished run is in the run log.", file=sys.stderr)
    return 0


def _build(options: ServeOptions, auth: list[tuple[str, str]] | None) -> tuple[Controller, gr.Blocks, RunStore]:
    """The page and what it drives, not serving yet; its panes are prepared once it serves."""
    from playground.ui.app import build_controller, build_page

    config = load_config(options.config)
    warning = exposure_warning(options.host, options.share, auth)
    if warning:
        print(warning, file=sys.stderr)
    store = RunStore(resolve_store_location(options.store, config.store))
    print(f"Loading {len(config.panes)} panes from {options.config}; run log: {store.location}", file=sys.stderr)
    # The heap is frozen once the panes are prepared, so the loaded models are frozen too.
    controller = build_controller(config, store, when_prepared=freeze_startup_heap)
    return controller, build_page(controller), store


def _announce(local_url: str, share_url: str | None, share: bool) -> None:
    print(f"Playground running at {local_url}", file=sys.stderr)
    if share_url:
        print(f"Share link: {share_url}", file=sys.stderr)
    elif share:
        print(
            "Share link unavailable (Gradio's share service cannot be reached from here); serving locally only.",
            file=sys.stderr,
        )
