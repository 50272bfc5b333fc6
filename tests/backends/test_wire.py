"""The wire tap: streamed answers keep their connection, a late body tail or a stop does not hold a run."""

import importlib
import itertools
import time

import httpx
import pytest

from playground.backends import wire
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


@pytest.fixture
def patient_drain(monkeypatch):
    """The drain's time bound raised, so a busy machine cannot miss a tail."""
    monkeypatch.setattr(wire, "DRAIN_S", 2.0)


@pytest.fixture
def drains(monkeypatch, patient_drain):
    """How many times a body was drained."""
    counted = []
    drain = wire._DrainingBody._drain

    def counting(self):
        counted.append(self)
        drain(self)

    monkeypatch.setattr(wire._DrainingBody, "_drain", counting)
    return counted


@pytest.mark.parametrize("mode", ["stream", "non-stream"])
@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_runs_of_a_pane_reuse_one_connection(make_pane, drains, kind, mode):
    # Each new connection would sit inside the next run's TTFT (a TLS handshake, for a cloud API).
    with SERVERS[kind]({"m": Script(tokens=("a ", "b "))}) as server:
        pane = _pane(make_pane, kind, server, mode)
        records = [_run(pane) for _ in range(3)]
        connections = server.connections
    assert [r.status for r in records] == ["ok"] * 3
    assert connections == 1
    # Only a stream stopped at its last message has a tail; a body read to its end is left alone.
    assert len(drains) == (3 if mode == "stream" else 0)


def test_a_stream_the_client_reads_to_its_end_is_not_drained(make_pane, drains):
    # Without `data: [DONE]` the openai client reads until the body ends: nothing is left.
    with OpenAIServer({"m": Script(tokens=("a ",), done_marker=False)}) as server:
        record = _run(_pane(make_pane, "openai", server))
    assert (record.status, drains) == ("ok", [])


@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_proxies_from_the_environment_still_apply(make_pane, monkeypatch, kind):
    # The hooks leave the clients' own transports, which read HTTP(S)_PROXY, in place.
    with SERVERS[kind]({"m": Script(tokens=("a ",))}) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.delenv("NO_PROXY", raising=False)
        monkeypatch.delenv("no_proxy", raising=False)
        where = {"base_url": "http://proxied.invalid:9/v1"} if kind == "openai" else {"host": "http://proxied.invalid:9"}
        _run(make_pane(name="p", backend=kind, model="m", **where))
        reached = len(proxy.requests)
    assert reached == 1  # the request went to the proxy instead of failing to resolve the host


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
        self.parts, self.read, self.passes, self.closed = iter(parts), 0, 0, False

    def __iter__(self):
        self.passes += 1
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
    client = httpx.Client(transport=_Transport(body), event_hooks=tap.hooks(httpx))
    with client, tap.armed(None, stop), client.stream("GET", "http://127.0.0.1:9/") as response:
        parts = response.iter_raw()
        first = next(parts)
        if stop is not None:
            stop.set()
    return first


def test_closing_early_reads_the_rest_of_the_body(patient_drain):
    body = _Body([b"answer", b"tail", b""])
    assert _read_first_part(body) == b"answer"
    assert (body.read, body.closed) == (3, True)


def test_a_stop_closes_without_reading_on():
    body = _Body([b"answer", b"more answer", b"tail"])
    _read_first_part(body, StopSignal())
    assert (body.read, body.closed) == (1, True)


def test_a_body_read_to_its_end_gets_no_second_pass():
    # On a real connection that pass would wait for bytes that never come, for the whole bound.
    body = _Body([b"answer", b"tail"])
    tap = WireTap()
    with httpx.Client(transport=_Transport(body), event_hooks=tap.hooks(httpx)) as client:
        assert client.get("http://127.0.0.1:9/").content == b"answertail"
    assert (body.passes, body.closed) == (1, True)


@pytest.mark.parametrize("library", ["httpx", "httpx2"])
def test_responses_still_say_how_long_they_took(library):
    # openai's raw responses (`with_raw_response`) read `elapsed`, which httpx2 takes from the body.
    http = importlib.import_module(library)
    transport = http.MockTransport(lambda request: http.Response(200, stream=http.ByteStream(b"answer")))
    with http.Client(transport=transport, event_hooks=WireTap().hooks(http)) as client:
        response = client.get("http://127.0.0.1:9/")
    # Reading `elapsed` is the check: it raises when the body hides the client's timing.
    assert response.content == b"answer" and response.elapsed.total_seconds() >= 0


def test_a_body_that_goes_on_is_read_only_up_to_the_bound():
    body = _Body(itertools.repeat(b"x" * 1024))
    _read_first_part(body)
    assert body.closed and body.read <= DRAIN_BYTES // 1024 + 2
