"""The metrics wrapper against servers with known timing, and its formulas."""

import datetime as dt
import statistics

import pytest

from playground.backends.base import (
    AnswerWasReasoning,
    Backend,
    ChatRequest,
    Finish,
    Message,
    ReasoningDelta,
    RequestSent,
    TextDelta,
    Usage,
)
from playground.errors import ServerError
from playground.metrics import MeteredRun, RunLabels, percentile
from playground.testing.loopback import OllamaServer, OpenAIServer, Script
from playground.tokens import estimate_tokens

FIRST_TOKEN_DELAY_S = 0.050
GAP_S = 0.020


def _measure(pane, repeats: int = 6) -> list[MeteredRun]:
    runs = [MeteredRun(pane.backend, pane.build_request("hi"), RunLabels("b", "t", pane.name)) for _ in range(repeats)]
    for run in runs:
        run.run()
    assert all(r.record.status == "ok" for r in runs), [r.record.error_message for r in runs]
    return runs


def _pairs(values):
    return list(zip(values, values[1:], strict=False))


@pytest.mark.parametrize("kind", ["openai", "ollama"])
def test_chunk_times_match_the_servers_own_write_times(make_pane, kind):
    """Each chunk is timed when the client sees it: just after the server wrote it, never before.

    Compared with the server's own write instants (same monotonic clock), not with the injected
    delays, so a busy machine that delays the server does not fail the test.
    """
    script = Script(first_token_delay_s=FIRST_TOKEN_DELAY_S, gap_s=GAP_S, tokens=tuple(f"t{i} " for i in range(10)))
    server_class = OpenAIServer if kind == "openai" else OllamaServer
    with server_class({"m": script}) as server:
        where = {"base_url": server.url + "/v1"} if kind == "openai" else {"host": server.url}
        runs = _measure(make_pane(name="p", backend=kind, model="m", **where))[1:]  # the first pays for the connection
        written = server.write_times[1:]
    lags: list[float] = []
    gap_errors: list[float] = []
    for run, wrote in zip(runs, written, strict=True):
        seen = run.content_instants
        lags += [s - w for s, w in zip(seen, wrote, strict=True)]
        gap_errors += [abs((s1 - s0) - (w1 - w0)) for (s0, s1), (w0, w1) in zip(_pairs(seen), _pairs(wrote), strict=True)]
    assert min(lags) > 0  # nothing is timed before the server wrote it
    # Expected ~1 ms on loopback; the bound is ten times that, and half the injected 20 ms gap.
    assert statistics.median(lags) < 0.010 and statistics.median(gap_errors) < 0.010
    record = runs[-1].record
    assert record.itl_p50_s == pytest.approx(statistics.median(b - a for a, b in _pairs(runs[-1].content_instants)))
    assert record.tpot_s == pytest.approx((record.e2e_s - record.ttft_s) / (record.output_tokens - 1))
    assert record.decode_tps == pytest.approx(1 / record.tpot_s)
    assert record.e2e_tps == pytest.approx(record.output_tokens / record.e2e_s)


def test_non_streaming_ttft_equals_e2e(make_pane):
    with OpenAIServer({"m": Script(first_token_delay_s=0.05, gap_s=0.005)}) as server:
        pane = make_pane(name="p", backend="openai", model="m", base_url=server.url + "/v1", mode="non-stream")
        record = _measure(pane, repeats=2)[0].record
    assert record.ttft_s == record.e2e_s == record.ttfc_s
    assert record.e2e_s >= 0.05 + 19 * 0.005
    assert record.tpot_s is None and record.decode_tps is None and record.itl_p50_s is None


class _ScriptedBackend(Backend):
    """A backend whose events are given in advance, with a fake clock advanced per event."""

    kind = "scripted"

    def __init__(self, events, clock_steps):
        super().__init__("scripted", None)
        self.events = events
        self.clock_steps = iter(clock_steps)
        self.now = 0.0

    def clock(self):
        self.now += next(self.clock_steps, 0.0)
        return self.now

    def stream(self, request):
        yield from self.events

    def secrets(self):
        return ("supersecretvalue",)


def test_queue_ttfc_ttft_and_trailing_usage_follow_the_definitions():
    events = [
        RequestSent({"a": 1}),
        TextDelta(""),
        TextDelta("x"),
        TextDelta("y"),
        TextDelta("z"),
        Usage(3, 5, "usage"),
        Finish("stop"),
    ]
    # clock: start=0, sent=+2 (queued), role chunk +1, first text +1, gaps 0.5 and 1.5, usage +10 (ignored for e2e)
    backend = _ScriptedBackend(events, [0.0, 2.0, 1.0, 1.0, 0.5, 1.5, 10.0, 0.0, 0.0])
    request = ChatRequest(messages=(Message("user", "q"),))
    record = MeteredRun(backend, request, RunLabels("b", "s", "p", price_per_million=(1.0, 2.0)), clock=backend.clock).run()
    assert record.queue_s == 2.0
    assert record.ttfc_s == 1.0
    assert record.ttft_s == 2.0
    assert record.e2e_s == 4.0
    assert record.tpot_s == pytest.approx((4.0 - 2.0) / 4)
    assert record.itl_p50_s == 1.0 and record.itl_p95_s == pytest.approx(1.45)
    assert record.cost_usd == pytest.approx((3 * 1.0 + 5 * 2.0) / 1e6)
    assert record.params_json == '{"a": 1}'


def test_queue_ends_at_request_sent_and_latencies_start_on_the_wire():
    def stream(request):
        yield RequestSent({})
        request.on_send()  # the HTTP client finished building its request and sent it
        yield TextDelta("x")
        yield Usage(1, 1, "usage")

    backend = _ScriptedBackend([], [0.0, 3.0, 0.5, 1.0, 0.0, 0.0])
    backend.stream = stream
    # clock: start 0, RequestSent at 3 (queued 3 s), on the wire at 3.5, first text at 4.5
    record = MeteredRun(
        backend, ChatRequest(messages=(Message("user", "q"),)), RunLabels("b", "s", "p"), clock=backend.clock
    ).run()
    assert record.queue_s == 3.0
    assert record.ttft_s == 1.0


def test_backend_exceptions_become_redacted_error_rows_and_keep_partial_text():
    def failing(request):
        yield TextDelta("partial ")
        raise RuntimeError("boom with supersecretvalue and sk-abcdefghijklmnop")

    backend = _ScriptedBackend([], [])
    backend.stream = failing
    record = MeteredRun(backend, ChatRequest(messages=(Message("user", "q"),)), RunLabels("b", "s", "p")).run()
    assert record.status == "error" and record.error_type == "internal"
    assert record.partial and record.response_text == "partial "
    assert "supersecretvalue" not in record.error_message and "sk-abc" not in record.error_message
    assert "Traceback" not in record.error_message


def test_percentile_and_estimate():
    assert percentile([1, 2, 3, 4], 50) == 2.5
    assert percentile([], 50) is None
    assert estimate_tokens("明月几时有") == 5
    assert estimate_tokens("hello world") == 4


def test_a_failed_run_ends_when_it_failed_not_at_its_last_content():
    def failing(request):
        yield RequestSent({})
        yield TextDelta("partial ")
        raise ServerError("the server went away")

    # clock: start 0, sent 0, text at 1, then 6.4 s pass before the failure is seen
    backend = _ScriptedBackend([], [0.0, 0.0, 1.0, 6.4, 0.0])
    backend.stream = failing
    record = MeteredRun(
        backend, ChatRequest(messages=(Message("user", "q"),)), RunLabels("b", "s", "p"), clock=backend.clock
    ).run()
    started, ended = (dt.datetime.fromisoformat(record.started_at), dt.datetime.fromisoformat(record.ended_at))
    assert record.e2e_s == 1.0  # the last content, as for an ok run
    assert (ended - started).total_seconds() == pytest.approx(7.4)


def test_an_ok_run_ends_at_its_last_content():
    backend = _ScriptedBackend(
        [RequestSent({}), TextDelta("x"), Usage(1, 1, "usage"), Finish("stop")], [0.0, 0.0, 2.0, 5.0, 0.0, 0.0]
    )
    record = MeteredRun(
        backend, ChatRequest(messages=(Message("user", "q"),)), RunLabels("b", "s", "p"), clock=backend.clock
    ).run()
    started, ended = (dt.datetime.fromisoformat(record.started_at), dt.datetime.fromisoformat(record.ended_at))
    assert (ended - started).total_seconds() == pytest.approx(2.0)


def test_http_status_of_a_failed_run_is_recorded():
    def refused(request):
        yield RequestSent({})
        raise ServerError("503 from x", http_status=503)

    backend = _ScriptedBackend([], [])
    backend.stream = refused
    record = MeteredRun(backend, ChatRequest(messages=(Message("user", "q"),)), RunLabels("b", "s", "p")).run()
    assert (record.error_type, record.http_status) == ("server", 503)


def test_answer_was_reasoning_moves_the_text_so_far():
    events = [RequestSent({}), TextDelta("plan"), AnswerWasReasoning(), ReasoningDelta(" more"), TextDelta("Yes"), Finish("stop")]
    record = MeteredRun(
        _ScriptedBackend(events, []), ChatRequest(messages=(Message("user", "q"),)), RunLabels("b", "s", "p")
    ).run()
    assert (record.reasoning_text, record.response_text, record.status) == ("plan more", "Yes", "ok")
