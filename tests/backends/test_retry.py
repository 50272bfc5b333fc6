"""Retries happen in the open: shown live, bounded in count and wait, and cut short by Stop."""

import threading
import time

import pytest

from playground.backends.base import Retrying, TextDelta
from playground.metrics import MeteredRun, RunLabels
from playground.testing.loopback import OllamaServer, OpenAIServer, Script


def _pane(make_pane, kind, server, **options):
    if kind == "openai":
        return make_pane(name="p", backend="openai", base_url=server.url + "/v1", model="m", **options)
    return make_pane(name="p", backend="ollama", host=server.url, model="m", **options)


# The openai client keeps the Retry-After header; the ollama client drops headers, so Ollama's busy 503 gets the backoff.
@pytest.mark.parametrize(
    ("kind", "server_class", "status", "wait"), [("openai", OpenAIServer, 429, 0.2), ("ollama", OllamaServer, 503, 0.5)]
)
def test_a_turned_away_request_is_retried_after_the_servers_wait_and_the_wait_is_shown(
    make_pane, kind, server_class, status, wait
):
    script = Script(status=status, status_times=1, headers={"retry-after-ms": "200"})
    with server_class({"m": script}) as server:
        pane = _pane(make_pane, kind, server, max_retries=2)
        run = MeteredRun(pane.backend, pane.build_request("hi"), RunLabels("b", "s", "p"))
        notices = []
        for event in run:
            if isinstance(event, Retrying):
                notices.append(run.notice)
            if isinstance(event, TextDelta) and event.text:
                notices.append(run.notice)
        attempts = len(server.requests)
    record = run.record
    assert record.status == "ok", record.error_message
    assert (attempts, record.retries, record.retry_wait_s) == (2, 1, pytest.approx(wait))
    assert f"{status} from" in notices[0] and f"Retrying in {wait:g} s (retry 1)" in notices[0]
    assert notices[-1] == ""  # the notice goes once the answer comes
    assert record.ttft_s >= wait  # timed from the first attempt, as the person waiting saw it


def test_a_wait_longer_than_the_panes_limit_is_not_waited(make_pane):
    with OpenAIServer({"m": Script(status=429, headers={"retry-after": "90"})}) as server:
        pane = _pane(make_pane, "openai", server, max_retries=3, max_retry_wait_s=30)
        started = time.perf_counter()
        record = MeteredRun(pane.backend, pane.build_request("hi"), RunLabels("b", "s", "p")).run()
        elapsed = time.perf_counter() - started
        attempts = len(server.requests)
    assert (record.error_type, record.http_status, attempts, record.retries) == ("rate_limit", 429, 1, 0)
    assert "Not retried: waiting 90 s more would pass this pane's limit of 30 s" in record.error_message
    assert elapsed < 9  # a tenth of the wait it refused


def test_stop_ends_the_wait_at_once(make_pane):
    with OpenAIServer({"m": Script(status=500, headers={"retry-after": "20"})}) as server:
        pane = _pane(make_pane, "openai", server, max_retries=1, max_retry_wait_s=60)
        request = pane.build_request("hi")
        run = MeteredRun(pane.backend, request, RunLabels("b", "s", "p"))
        stopper = threading.Timer(0.3, request.stop.set)
        stopper.start()
        started = time.perf_counter()
        record = run.run()
        elapsed = time.perf_counter() - started
    assert record.status == "cancelled"
    assert elapsed < 10  # half the server's 20 s Retry-After


def test_nothing_is_retried_once_the_answer_has_begun(make_pane):
    with OpenAIServer({"m": Script(stream_error_after=2)}) as server:
        pane = _pane(make_pane, "openai", server, max_retries=3)
        record = MeteredRun(pane.backend, pane.build_request("hi"), RunLabels("b", "s", "p")).run()
        attempts = len(server.requests)
    assert (record.error_type, attempts, record.retries) == ("generation_failed", 1, 0)
