"""The metrics wrapper: the only place that reads the clock around a backend run.

`MeteredRun` iterates a backend's event stream, timestamps every event with a monotonic
clock, accumulates the answer, and turns it all into a `RunRecord` whose columns follow
the definitions in the README (vLLM `bench serve` names).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import operator
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace

from playground.backends.base import (
    AnswerWasReasoning,
    Backend,
    BackendEvent,
    ChatRequest,
    Finish,
    ReasoningDelta,
    RequestSent,
    Retrying,
    ServerTimings,
    TextDelta,
    Usage,
)
from playground.errors import EmptyAnswer, PlaygroundError, ReasoningExhausted, redact
from playground.records import RunRecord, Status
from playground.timeline import count_stalls
from playground.tokens import token_counts

Clock = Callable[[], float]
# A server-reported model load longer than this means the run paid for loading the model.
COLD_LOAD_THRESHOLD_S = 0.5


@dataclass(frozen=True)
class RunLabels:
    """Who and what a run is, decided before it starts."""

    batch_id: str
    session_id: str
    pane: str
    turn: int = 1
    repeat: int = 0
    warmup: bool = False
    # How many requests a load sweep kept in flight at once; None outside a sweep.
    load_level: int | None = None
    price_per_million: tuple[float, float] | None = None
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class _Timeline:
    start: float
    sent: float | None = None
    on_wire: float | None = None
    first_chunk: float | None = None
    content: list[float] = field(default_factory=list)
    end: float | None = None


@dataclass
class _Collected:
    text: list[str] = field(default_factory=list)
    reasoning: list[str] = field(default_factory=list)
    usage: Usage | None = None
    timings: ServerTimings | None = None
    sent: RequestSent | None = None
    finish_reason: str | None = None
    retries: list[Retrying] = field(default_factory=list)
    # The request after the latest Retrying has gone out: the wait is over.
    retry_sent: bool = False


class MeteredRun:
    """Iterate to run; each backend event is passed through after it is timestamped."""

    def __init__(
        self,
        backend: Backend,
        request: ChatRequest,
        labels: RunLabels,
        clock: Clock = time.perf_counter,
    ) -> None:
        self.backend = backend
        self.request = request
        self.labels = labels
        self._clock = clock
        self._collected = _Collected()
        self._timeline: _Timeline | None = None
        self._wall_start: dt.datetime | None = None
        self._status: Status = "ok"
        self._error: PlaygroundError | Exception | None = None
        self.record: RunRecord | None = None
        # Set once the backend's stream is over: the record is being built (it may count tokens) and
        # must not be replaced by a cancelled one.
        self.stream_ended = False

    @property
    def content_instants(self) -> tuple[float, ...]:
        """When each content chunk was seen, as raw clock readings (to compare with a server's own)."""
        return tuple(self._timeline.content) if self._timeline else ()

    @property
    def chunk_offsets_s(self) -> tuple[float, ...]:
        """Each content chunk's arrival, in seconds after send: the run's token timeline."""
        timeline = self._timeline
        if timeline is None or not timeline.content:
            return ()
        sent = next(t for t in (timeline.on_wire, timeline.sent, timeline.start) if t is not None)
        return tuple(instant - sent for instant in timeline.content)

    @property
    def notice(self) -> str:
        """What the run is waiting for, while it waits (a rate limit before a retry); else empty."""
        collected = self._collected
        if not collected.retries or collected.retry_sent or collected.text or collected.reasoning:
            return ""
        last = collected.retries[-1]
        notice = f"{last.reason} Retrying in {last.wait_s:g} s (retry {last.attempt})."
        return redact(notice, self.backend.secrets())

    @property
    def text(self) -> str:
        return "".join(self._collected.text)

    @property
    def reasoning(self) -> str:
        return "".join(self._collected.reasoning)

    def __iter__(self) -> Iterator[BackendEvent]:
        self._wall_start = dt.datetime.now(dt.UTC)
        self._timeline = _Timeline(start=self._clock())
        events = self.backend.stream(replace(self.request, on_send=self._mark_on_wire))
        try:
            # Backends end their own stream when the stop signal is set (the local model after one
            # more decode step), so what they finish with, such as exact token counts, is kept.
            clock, observe = self._clock, self._observe
            content, text = self._timeline.content, self._collected.text
            for event in events:
                now = clock()
                # The event nearly every chunk brings, handled here without a call: answer text
                # after the first one (`_observe` does the rest, the same way).
                if type(event) is TextDelta and content and event.text:
                    content.append(now)
                    text.append(event.text)
                else:
                    observe(event, now)
                yield event
            if self.request.stop.is_set():
                self._status = "cancelled"
            elif not self._collected.text:
                self._fail(self._no_answer())
        except GeneratorExit:
            self._status = "cancelled"
            raise
        except Exception as exc:  # noqa: BLE001 - our errors, and any backend bug, become an error row
            self._fail(exc)
        finally:
            self._timeline.end = self._clock()
            self.stream_ended = True
            close = getattr(events, "close", None)
            if close is not None:
                close()
            self.record = self._build_record()

    def cancelled_record(self) -> RunRecord:
        """A record for a run abandoned while its thread is still blocked (for example in a network read)."""
        if self._timeline is None:
            self._wall_start = dt.datetime.now(dt.UTC)
            self._timeline = _Timeline(start=self._clock())
        self._status = "cancelled"
        self._timeline.end = self._clock()
        return self._build_record()

    def _mark_on_wire(self) -> None:
        """Called by the backend as its request leaves: a better "send" than RequestSent."""
        if self._timeline is not None and self._timeline.on_wire is None:
            self._timeline.on_wire = self._clock()

    def run(self) -> RunRecord:
        for _ in self:
            pass
        assert self.record is not None
        return self.record

    def _no_answer(self) -> Exception:
        what = f"{self.backend.kind} model {self.backend.model!r}"
        if not self._collected.reasoning:
            return EmptyAnswer(f"{what} returned an empty answer.")
        if self._collected.finish_reason == "length":
            return ReasoningExhausted(
                f"{what} spent the whole token budget reasoning, so the answer is empty: "
                "raise max_tokens or turn thinking off."
            )
        return ReasoningExhausted(f"{what} reasoned but gave no answer (finish: {self._collected.finish_reason or 'none'}).")

    def _fail(self, exc: Exception) -> None:
        if self.request.stop.is_set():
            # Stopping cuts the connection; the error that follows is the stop, not a fault.
            self._status = "cancelled"
            return
        self._status = "error"
        self._error = exc

    def _observe(self, event: BackendEvent, now: float) -> None:
        # `__iter__` handles answer text after the first chunk itself, as the TextDelta branch here does.
        timeline, collected = self._timeline, self._collected
        kind = type(event)
        if kind is RequestSent:
            # A retried request is timed from its first attempt, as the person waiting saw it.
            if collected.sent is None:
                timeline.sent = now
                collected.sent = event
            collected.retry_sent = bool(collected.retries)
            return
        if kind is Retrying:
            collected.retries.append(event)
            collected.retry_sent = False
            return
        if timeline.sent is None:
            timeline.sent = timeline.start
        if timeline.first_chunk is None:
            timeline.first_chunk = now
        if kind is TextDelta or kind is ReasoningDelta:
            if event.text:
                timeline.content.append(now)
                (collected.text if kind is TextDelta else collected.reasoning).append(event.text)
        elif isinstance(event, Usage):
            collected.usage = event
        elif isinstance(event, ServerTimings):
            collected.timings = event
        elif isinstance(event, Finish):
            collected.finish_reason = event.reason
        elif kind is AnswerWasReasoning:
            collected.reasoning[:0] = collected.text
            collected.text.clear()

    def _build_record(self) -> RunRecord:
        timeline, collected, labels = self._timeline, self._collected, self.labels
        assert timeline is not None and self._wall_start is not None
        sent = next(t for t in (timeline.on_wire, timeline.sent, timeline.start) if t is not None)
        latency = _latencies(timeline, sent, self.request.stream)
        # A cancelled run may be recorded from another thread while its own is stuck: ask no server then.
        counter = self.backend.count_tokens if self._status != "cancelled" else None
        streamed_chunks = len(timeline.content) if self.request.stream else 0
        # Joined once: a long answer is thousands of pieces.
        text, reasoning = self.text, self.reasoning
        tokens = token_counts(collected.usage, text, reasoning, streamed_chunks, counter)
        output_tokens = tokens.output
        timings = collected.timings or ServerTimings()
        sent_event = collected.sent or RequestSent(params={})
        # An ok run ends with its last content; a failed or stopped one when it really ended.
        ok_end = sent + latency.e2e if latency.e2e is not None else None
        end_instant = ok_end if self._status == "ok" and ok_end is not None else timeline.end
        return RunRecord(
            run_id=labels.run_id,
            batch_id=labels.batch_id,
            session_id=labels.session_id,
            turn=labels.turn,
            pane=labels.pane,
            backend=self.backend.kind,
            model=self.backend.model,
            mode=self.request.mode,
            repeat=labels.repeat,
            warmup=labels.warmup,
            load_level=labels.load_level,
            started_at=_wall(self._wall_start, sent - timeline.start),
            ended_at=_wall(self._wall_start, end_instant - timeline.start),
            status=self._status,
            error_type=self._error_type(),
            error_message=self._error_message(),
            http_status=getattr(self._error, "http_status", None),
            partial=self._status != "ok" and bool(text or reasoning),
            ttft_s=latency.ttft,
            ttfc_s=latency.ttfc,
            e2e_s=latency.e2e,
            tpot_s=_per_token(latency, output_tokens, self.request.stream),
            itl_p50_s=percentile_of_sorted(latency.sorted_gaps, 50),
            itl_p95_s=percentile_of_sorted(latency.sorted_gaps, 95),
            decode_tps=_decode_tps(latency, output_tokens, self.request.stream),
            e2e_tps=output_tokens / latency.e2e if output_tokens and latency.e2e else None,
            input_tokens=tokens.input,
            output_tokens=output_tokens,
            reasoning_tokens=tokens.reasoning,
            token_source=tokens.source,
            token_note=tokens.note,
            content_chunks=len(timeline.content),
            stalls=count_stalls(latency.sorted_gaps, self.request.stream),
            server_load_s=timings.load_s,
            server_prompt_eval_s=timings.prompt_eval_s,
            server_eval_s=timings.eval_s,
            server_total_s=timings.total_s,
            server_queue_s=timings.queue_s,
            server_ttft_s=timings.ttft_s,
            # Waiting ends when the backend is ready to send (RequestSent), not when the client
            # has finished building the request: that part is not a wait for a shared resource.
            queue_s=(timeline.sent if timeline.sent is not None else timeline.start) - timeline.start,
            retries=len(collected.retries),
            retry_wait_s=sum(r.wait_s for r in collected.retries) if collected.retries else None,
            cold_start=sent_event.cold_start or (timings.load_s or 0.0) > COLD_LOAD_THRESHOLD_S,
            cost_usd=_cost(labels.price_per_million, tokens.input, output_tokens),
            finish_reason=collected.finish_reason,
            prompt_hash=prompt_hash(self.request),
            params_json=json.dumps(sent_event.params, sort_keys=True, ensure_ascii=False),
            ignored_params=",".join(sent_event.ignored_params),
            prompt=_last_user_message(self.request),
            response_text=text,
            reasoning_text=reasoning,
        )

    def _error_type(self) -> str | None:
        if self._error is None:
            return "cancelled" if self._status == "cancelled" else None
        return getattr(self._error, "error_type", "internal")

    def _error_message(self) -> str | None:
        error = self._error
        if error is None:
            return "stopped by the user" if self._status == "cancelled" else None
        if isinstance(error, PlaygroundError):
            message = error.message
        else:
            message = f"unexpected {error.__class__.__name__} in the {self.backend.kind} backend: {error}"
        return redact(message, self.backend.secrets())


@dataclass(frozen=True)
class _Latency:
    ttft: float | None
    ttfc: float | None
    e2e: float | None
    # Between content chunks, in ascending order: sorted once for the percentiles and the stalls.
    sorted_gaps: list[float]


def _latencies(timeline: _Timeline, sent: float, streaming: bool) -> _Latency:
    content = timeline.content
    if not streaming:
        # The user sees nothing before the complete response arrives.
        done = content[-1] if content else timeline.first_chunk
        e2e = done - sent if done is not None else None
        return _Latency(ttft=e2e, ttfc=e2e, e2e=e2e, sorted_gaps=[])
    ttfc = timeline.first_chunk - sent if timeline.first_chunk is not None else None
    if not content:
        return _Latency(ttft=None, ttfc=ttfc, e2e=ttfc, sorted_gaps=[])
    gaps = sorted(map(operator.sub, content[1:], content))
    return _Latency(ttft=content[0] - sent, ttfc=ttfc, e2e=content[-1] - sent, sorted_gaps=gaps)


def _per_token(latency: _Latency, output_tokens: int | None, streaming: bool) -> float | None:
    if not streaming or not output_tokens or output_tokens <= 1 or latency.ttft is None or latency.e2e is None:
        return None
    return (latency.e2e - latency.ttft) / (output_tokens - 1)


def _decode_tps(latency: _Latency, output_tokens: int | None, streaming: bool) -> float | None:
    tpot = _per_token(latency, output_tokens, streaming)
    return 1.0 / tpot if tpot else None


def percentile(values: tuple[float, ...] | list[float], q: float) -> float | None:
    """Linear-interpolated percentile (numpy's default method); None for no values."""
    return percentile_of_sorted(sorted(values), q)


def percentile_of_sorted(ordered: list[float], q: float) -> float | None:
    """`percentile` of values already in ascending order."""
    if not ordered:
        return None
    position = (len(ordered) - 1) * q / 100
    lower = math.floor(position)
    upper = min(lower + 1, len(ordered) - 1)
    return ordered[lower] + (ordered[upper] - ordered[lower]) * (position - lower)


def _cost(price: tuple[float, float] | None, input_tokens: int | None, output_tokens: int | None) -> float | None:
    if price is None or (input_tokens is None and output_tokens is None):
        return None
    return ((input_tokens or 0) * price[0] + (output_tokens or 0) * price[1]) / 1_000_000


def prompt_hash(request: ChatRequest) -> str:
    payload = json.dumps([m.as_dict() for m in request.messages], ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def _last_user_message(request: ChatRequest) -> str:
    return next((m.content for m in reversed(request.messages) if m.role == "user"), "")


def _wall(start: dt.datetime, offset_s: float) -> str:
    return (start + dt.timedelta(seconds=offset_s)).isoformat(timespec="microseconds")
