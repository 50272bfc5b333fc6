"""`python -m playground` as a user starts it: auth, share fallback, and no secret on the page."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from types import SimpleNamespace

import pytest
import yaml
from gradio_client import Client

from playground.backends.base import GenerationParams
from playground.testing.loopback import free_port
from playground.ui.serve import close_page, exposure_warning
from playground.ui.settings import setting_values
from tests.conftest import history_of

FAKE_KEY = "sk-playgroundFAKEKEY0123456789abcdef"


@contextmanager
def _running(tmp_path, *args: str, env: dict[str, str] | None = None, announced: bool = True):
    config = tmp_path / "page.yaml"
    config.write_text(yaml.safe_dump({
        "store": str(tmp_path / "runs.sqlite"),
        "panes": [
            {"name": "cloud", "backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1",
             "api_key_env": "PLAYGROUND_FAKE_KEY"},
            {"name": "ollama", "backend": "ollama", "model": "m", "host": "http://127.0.0.1:9"},
        ],
    }))  # fmt: skip
    port = free_port()
    command = [sys.executable, "-m", "playground", "--config", str(config), "--port", str(port), *args]
    process = subprocess.Popen(
        command,
        env={**os.environ, "PLAYGROUND_FAKE_KEY": FAKE_KEY, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    output = _Output(process)
    try:
        _wait_for(url, process)
        if announced:
            output.wait_for("Playground running at")
        yield url, output
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()


class _Output:
    """Collects a process's output in the background, so a test can wait for a line."""

    def __init__(self, process: subprocess.Popen) -> None:
        self.process = process
        self.lines: list[str] = []
        threading.Thread(target=lambda: self.lines.extend(iter(process.stdout.readline, "")), daemon=True).start()

    def text(self) -> str:
        return "".join(self.lines)

    def wait_for(self, needle: str, timeout_s: float = 60) -> None:
        deadline = time.monotonic() + timeout_s
        while needle not in self.text():
            assert time.monotonic() < deadline, f"{needle!r} not printed; output so far:\n{self.text()}"
            time.sleep(0.1)


def _wait_for(url: str, process: subprocess.Popen, timeout_s: float = 60) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        assert process.poll() is None, f"exited with {process.returncode}"
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except urllib.error.HTTPError:
            return  # answering, even if only to say 401
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"{url} did not answer in {timeout_s} s")


def _status(url: str) -> int:
    try:
        return urllib.request.urlopen(url, timeout=5).status
    except urllib.error.HTTPError as exc:
        return exc.code


@pytest.mark.slow
def test_auth_closes_config_and_api_until_login(tmp_path):
    with _running(tmp_path, env={"PLAYGROUND_AUTH": "ada:lovelace"}) as (url, _):
        assert _status(f"{url}/config") == 401
        assert _status(f"{url}/gradio_api/info") == 401
        client = Client(url, auth=("ada", "lovelace"), verbose=False)
        assert "/send" in client.view_api(return_format="dict", print_info=False)["named_endpoints"]


@pytest.mark.slow
def test_share_offline_keeps_serving_and_says_why(tmp_path):
    with _running(tmp_path, "--share", "--auth", "u:p") as (url, output):
        assert _status(f"{url}/config") == 401
        output.wait_for("Share link unavailable")


@pytest.mark.slow
def test_share_without_auth_warns(tmp_path):
    with _running(tmp_path, "--share") as (_, output):
        output.wait_for("--share without --auth")


@pytest.mark.slow
def test_no_secret_reaches_the_page_its_config_or_its_api(tmp_path):
    with _running(tmp_path) as (url, output):
        client = Client(url, verbose=False)
        settings = setting_values("m", GenerationParams(), None, True) * 2
        client.predict("hi", False, *settings, api_name="/send")
        chats = [history_of(client, f"/pane_{i}") for i in range(2)]
        pages = [
            urllib.request.urlopen(f"{url}{path}", timeout=10).read().decode() for path in ("/", "/config", "/gradio_api/info")
        ]
        results = client.predict(api_name="/results")
    process_output = output.text()
    everything = "\n".join(
        [*pages, repr(chats), repr(results), process_output, *(p.read_text() for p in tmp_path.glob("*.yaml"))]
    )
    assert FAKE_KEY not in everything
    assert FAKE_KEY[3:20] not in everything
    assert "cannot reach 127.0.0.1:9" in repr(chats[0])


@pytest.mark.slow
@pytest.mark.parametrize("announced", [True, False], ids=["serving", "first-answer"])
def test_sigterm_stops_the_page_as_ctrl_c_does_and_closes_the_run_log(tmp_path, announced):
    # Also the moment the page first answers, before it has said so: the stop is clean from the start.
    with _running(tmp_path, announced=announced) as (_, output):
        output.process.send_signal(signal.SIGTERM)
        assert output.process.wait(timeout=30) == 0
        output.wait_for("Playground stopped")
    assert (tmp_path / "runs.sqlite").exists() and not (tmp_path / "runs.sqlite-wal").exists()
    # One line says it stopped: ours, not Gradio's "Closing server running on port" as well.
    assert "Closing server" not in output.text() and "Traceback" not in output.text()


class _RecordingEvent(asyncio.Event):
    def __init__(self) -> None:
        super().__init__()
        self.set_in: list[str] = []

    def set(self) -> None:
        self.set_in.append(threading.current_thread().name)
        super().set()


def test_closing_a_page_sets_its_stop_event_on_the_servers_own_loop():
    """Set from the closing thread, the event raced the loop adding waiters ("deque mutated during iteration")."""
    with _server_loop() as loop:
        event, demo, closed = _page_on(loop)
        close_page(demo)
        # Gradio's own close sets it again, from this thread: by then it is set, so no waiter is touched.
        demo.app.stop_event.set()
    assert event.set_in[0] == "server-loop" and closed == [False]


def test_a_page_closed_from_its_own_loop_sets_the_event_there_without_waiting_on_itself():
    with _server_loop() as loop:
        event, demo, closed = _page_on(loop)

        async def close_from_the_loop() -> bool:
            close_page(demo)
            set_at_once = event.is_set()  # not left for this blocked loop to run later
            await asyncio.sleep(0.01)  # the waiting task ends too
            return set_at_once

        set_at_once = asyncio.run_coroutine_threadsafe(close_from_the_loop(), loop).result(30)
    assert set_at_once and event.set_in == ["server-loop"] and closed == [False]


@contextmanager
def _server_loop() -> Iterator[asyncio.AbstractEventLoop]:
    """A loop running in a thread of its own, as the page's server runs (the main thread may hold another
    test's running loop)."""
    loop = asyncio.new_event_loop()
    server = threading.Thread(target=loop.run_forever, name="server-loop", daemon=True)
    server.start()
    try:
        yield loop
    finally:
        loop.call_soon_threadsafe(loop.stop)
        server.join(5)
        loop.close()


def _page_on(loop: asyncio.AbstractEventLoop) -> tuple[_RecordingEvent, SimpleNamespace, list[bool]]:
    """A stand-in for a served page whose stop event a coroutine on `loop` waits on; `closed` notes close()."""
    event = asyncio.run_coroutine_threadsafe(_bound_event(), loop).result(5)
    closed: list[bool] = []
    return event, SimpleNamespace(app=SimpleNamespace(stop_event=event), close=lambda verbose: closed.append(verbose)), closed


async def _bound_event() -> _RecordingEvent:
    """An event a coroutine on this loop waits on, as Gradio's streaming routes do."""
    event = _RecordingEvent()
    asyncio.get_running_loop().create_task(event.wait())
    await asyncio.sleep(0)
    return event


@pytest.mark.parametrize(
    ("host", "share", "auth", "warned"),
    [
        ("127.0.0.1", False, None, None),
        ("0.0.0.0", False, None, "--host 0.0.0.0 without --auth"),
        ("0.0.0.0", False, [("ada", "lovelace")], None),
        ("127.0.0.1", True, None, "--share without --auth"),
    ],
)
def test_a_page_others_can_reach_without_a_login_is_warned_about(host, share, auth, warned):
    warning = exposure_warning(host, share, auth)
    assert (warning is None) if warned is None else (warned in warning and "your backends and keys" in warning)
