"""The wire tap: streamed answers keep their connection, a late body tail or a stop does not hold a run."""

import itertools
import time

import httpx
import pytest

from playground.backends.base import StopSignal
from playground.backends.wire import DRAIN_BYTES, WireTap
from playground.metrics import MeteredRun, RunLabels
from playground.testing.loopback import OllamaServer, OpenAIServer, Script

SERVERS = {"openai": OpenAIServer, "ollama": OllamaServer}


def _pane(make_pane, kind, server, mode="stream"):
    where = {"base_url": server.url + "/v1"} if kind == "openai" else {"host": server.url}
    return make_pane(name="p", backend=kind, model="m", mode=mode, **where)


def _run(pane):
    return MeteredRun(pane.backend, pane.build_request("hi"), RunLabels("b", "test", pane.name)).run()


@pytest.mark.parametrize("mode", ["stream", "non-stream"])
@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_runs_of_a_pane_reuse_one_connection(make_pane, kind, mode):
    # Each new connection would sit inside the next run's TTFT (a TLS handshake, for a cloud API).
    with SERVERS[kind]({"m": Script(tokens=("a ", "b "))}) as server:
        pane = _pane(make_pane, kind, server, mode)
        records = [_run(pane) for _ in range(3)]
        connections = server.connections
    assert [r.status for r in records] == ["ok"] * 3
    assert connections == 1


@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_a_body_held_open_after_the_answer_costs_the_connection_not_the_run(make_pane, kind):
    hold_s = 30.0
    with SERVERS[kind]({"m": Script(tokens=("a ", "b "), tail_hold_s=hold_s)}) as server:
        pane = _pane(make_pane, kind, server)
        started = time.perf_counter()
        first = _run(pane)
        took = time.perf_counter() - started
        second = _run(pane)
        connections = server.connections
    assert (first.status, first.response_text, second.status) == ("ok", "a b ", "ok")
    assert took < hold_s / 3  # the drain gives up after a tenth of a second
    assert connections == 2  # the held connection was dropped, not reused


class _Body(httpx.SyncByteStream):
    """A response body of `parts` read off one connection (a new pass goes on where the last stopped)."""

    def __init__(self, parts):
        self.parts, self.read, self.closed = iter(parts), 0, False

    def __iter__(self):
        for part in self.parts:
            self.read += 1
            yield part

    def close(self):
        self.closed = True


class _Transport(httpx.BaseTransport):
    def __init__(self, body):
        self.body = body

    def handle_request(self, request):
        return httpx.Response(200, stream=self.body)


def _read_first_part(body, stop=None):
    tap = WireTap()
    client = httpx.Client(transport=tap.transport(_Transport(body), httpx))
    with client, tap.armed(None, stop), client.stream("GET", "http://127.0.0.1:9/") as response:
        parts = response.iter_raw()
        first = next(parts)
        if stop is not None:
            stop.set()
    return first


def test_closing_early_reads_the_rest_of_the_body():
    body = _Body([b"answer", b"tail", b""])
    assert _read_first_part(body) == b"answer"
    assert (body.read, body.closed) == (3, True)


def test_a_stop_closes_without_reading_on():
    body = _Body([b"answer", b"more answer", b"tail"])
    _read_first_part(body, StopSignal())
    assert (body.read, body.closed) == (1, True)


def test_a_body_that_goes_on_is_read_only_up_to_the_bound():
    body = _Body(itertools.repeat(b"x" * 1024))
    _read_first_part(body)
    assert body.closed and body.read <= DRAIN_BYTES // 1024 + 2
