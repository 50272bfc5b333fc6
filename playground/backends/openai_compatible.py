"""Any OpenAI-compatible chat server through the `openai` client.

Presets (`openai_presets`) fill in the base URL, the key variable and the names under which
the server reads each parameter. A parameter the server lacks is recorded as ignored.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal
from urllib.parse import urlparse

import httpx
from pydantic import BaseModel, ConfigDict, Field, field_validator

from playground.backends.base import (
    Backend,
    BackendEvent,
    ChatRequest,
    Finish,
    ReasoningDelta,
    RequestSent,
    ServerTimings,
    TextDelta,
    Usage,
    require_http_url,
)
from playground.backends.http_errors import HttpFailure, error_for_status, server_detail
from playground.backends.openai_presets import PRESETS, Preset, PresetName, pane_name_of, wire_request
from playground.backends.reasoning import ThinkSplitter, split_complete
from playground.backends.retry import RetryPolicy, retrying
from playground.backends.server_metrics import MetricsScraper, Totals, finished_since, one_request
from playground.backends.token_count import TokenCounter
from playground.backends.wire import WireTap
from playground.errors import (
    BackendError,
    BackendTimeout,
    BackendUnreachable,
    ConnectionLost,
    GenerationFailed,
    MalformedResponse,
    MissingApiKey,
    StreamTruncated,
    converted_errors,
)

# `openai` is imported where it is used: its import takes 0.3–0.5 s, and the page starts serving
# before the client is needed (playground.preparation opens it in the background).
if TYPE_CHECKING:
    import openai

ExtraParam = Literal["top_k", "repetition_penalty", "min_p"]


class OpenAIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preset: PresetName = "custom"
    base_url: str | None = None
    api_key_env: str | None = None
    # Extra sampling fields this server reads under their usual names (overrides the preset's).
    extra_params: list[ExtraParam] | None = None
    connect_timeout_s: float = Field(default=10.0, gt=0, le=300)
    read_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    # Retries of a request turned away before any answer (429, 5xx, refused), shown live in the pane.
    max_retries: int = Field(default=1, ge=0, le=5)
    max_retry_wait_s: float = Field(default=30.0, ge=0, le=600)
    # Read the server's own timings from its Prometheus /metrics around each run (default: on for vllm).
    server_metrics: bool | None = None

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return require_http_url(value, example="https://api.deepseek.com")

    def resolved(self) -> Preset:
        preset = PRESETS[self.preset]
        base_url = self.base_url or preset.base_url
        if not base_url:
            raise ValueError("set base_url or a preset")
        params = dict(preset.params)
        if self.extra_params is not None:
            # Keep the preset's own name for the server when it has one (llama.cpp: repeat_penalty).
            params = {k: v for k, v in params.items() if v[1] == "body"}
            params |= {name: preset.params.get(name, (name, "extra")) for name in self.extra_params}
        return replace(preset, base_url=base_url, api_key_env=self.api_key_env or preset.api_key_env, params=params)


class OpenAIBackend(Backend):
    kind: ClassVar[str] = "openai"
    Options = OpenAIOptions

    def __init__(self, model: str, options: OpenAIOptions, context: Any = None) -> None:
        super().__init__(model, options, context)
        self.endpoint = options.resolved()
        # Host and port only: a base_url may carry user:password@, which must never reach a message.
        parsed = urlparse(self.endpoint.base_url)
        self.host = f"{parsed.hostname}:{parsed.port}" if parsed.port else str(parsed.hostname)
        self.root = self.endpoint.base_url.rstrip("/").removesuffix("/v1")
        self._client: openai.OpenAI | None = None
        self._wire = WireTap()
        self._metrics = self._metrics_scraper()
        self._counter = TokenCounter(model, self.root if self.endpoint.tokenize else None)

    def secrets(self) -> tuple[str, ...]:
        key = os.environ.get(self.endpoint.api_key_env or "", "")
        return (key,) if key else ()

    def prepare(self) -> None:
        client = self._get_client()
        # The client imports its resource modules on first use; do it now, outside any timed run.
        _ = client.chat.completions

    def check(self) -> str | None:
        key_env = self.endpoint.api_key_env
        if key_env and not os.environ.get(key_env):
            return f"{key_env} is not set"
        return None

    def count_tokens(self, text: str) -> tuple[int, str] | None:
        counted = self._counter.count(text)
        return (counted.tokens, counted.source) if counted is not None else None

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _get_client(self) -> openai.OpenAI:
        # One client per pane, reused: a fresh client pays for a new connection on every run.
        if self._client is None:
            import httpx2
            import openai

            key_env = self.endpoint.api_key_env
            key = os.environ.get(key_env) if key_env else "not-needed"
            if not key:
                raise MissingApiKey(f"{key_env} is not set — export your key for {self.host} in that environment variable.")
            self._client = openai.OpenAI(
                base_url=self.endpoint.base_url,
                api_key=key,
                # Retries happen in `retrying`, where the pane can show them.
                max_retries=0,
                timeout=httpx.Timeout(self.options.read_timeout_s, connect=self.options.connect_timeout_s),
                http_client=openai.DefaultHttpxClient(event_hooks=self._wire.hooks(httpx2)),
            )
        return self._client

    def stream(self, request: ChatRequest) -> Iterator[BackendEvent]:
        policy = RetryPolicy(self.options.max_retries, self.options.max_retry_wait_s)
        # Returned, not delegated to: one generator fewer for every chunk to pass through.
        return retrying(partial(self._attempt, request), policy, request.stop)

    def _attempt(self, request: ChatRequest) -> Iterator[BackendEvent]:
        with converted_errors(partial(convert_openai_error, backend=self)):
            client = self._get_client()
            wire = wire_request(self.endpoint, self._model, request)
            arguments: dict[str, Any] = dict(wire.body)
            if wire.extra_body:
                arguments["extra_body"] = wire.extra_body
            messages = [m.as_dict() for m in request.messages]
            yield RequestSent(params=wire.sent(), ignored_params=wire.ignored)
            # Between RequestSent and the wire: counted neither as queueing nor in the latencies.
            before = self._metrics.totals() if self._metrics is not None else None
            if request.stream:
                yield from self._stream_chunks(client, request, messages, arguments)
            else:
                yield from self._complete(client, request, messages, arguments)
            if before is not None and not request.stop.is_set():
                yield from self._server_side(before)

    def _metrics_scraper(self) -> MetricsScraper | None:
        path = self.endpoint.metrics_path or "/metrics"
        wanted = self.options.server_metrics if self.options.server_metrics is not None else bool(self.endpoint.metrics_path)
        if not wanted:
            return None
        return MetricsScraper(self.root + path, self._model)

    def _server_side(self, before: Totals) -> Iterator[ServerTimings]:
        """This run's timings from the server's histograms, when it was the only request that finished meanwhile."""
        assert self._metrics is not None
        for attempt in range(2):
            after = self._metrics.totals()
            if after is None:
                return
            if finished_since(before, after) == 0 and attempt == 0:
                # The server may record a request a moment after its last byte: look once more.
                time.sleep(0.05)
                continue
            timings = one_request(before, after)
            if timings is not None:
                yield timings
            return

    def _stream_chunks(self, client: openai.OpenAI, request: ChatRequest, messages, arguments) -> Iterator[BackendEvent]:
        with self._wire.armed(request.on_send, request.stop):
            response = client.chat.completions.create(
                model=self._model,
                messages=messages,
                stream=True,
                stream_options={"include_usage": True},
                **arguments,
            )
        request.stop.on_stop(response.close)
        splitter = ThinkSplitter()
        finish = None
        stop, empty = request.stop, TextDelta("")
        with response, _broken_mid_answer(self.host):
            for chunk in response:
                if stop.is_set():
                    break
                events: list = []
                if chunk.choices and chunk.choices[0].delta is not None:
                    choice = chunk.choices[0]
                    reasoning = _reasoning_of(choice.delta)
                    if reasoning:
                        events.append(ReasoningDelta(reasoning))
                    if choice.delta.content:
                        events += splitter.feed(choice.delta.content)
                    if choice.finish_reason:
                        # Text held back for a possible tag is due now, timed with this chunk: the
                        # client reads the body's tail before the loop ends (wire.py).
                        finish = choice.finish_reason
                        events += splitter.flush()
                elif not chunk.choices:
                    self._raise_in_stream_error(chunk)
                yield from events or (empty,)
                if chunk.usage is not None:
                    yield _usage(chunk.usage)
                if chunk.model_extra:  # fields beyond OpenAI's (llama.cpp's timings); most chunks have none
                    yield from _server_timings(chunk)
        yield from splitter.flush()
        if finish is None and not stop.is_set():
            # llama.cpp's server ends an older stream this way when a newer request interrupts it.
            raise StreamTruncated(
                f"{self.host} ended the stream early: it closed without a finish reason, so the answer may be cut short."
            )
        yield Finish(finish)

    def _raise_in_stream_error(self, chunk: Any) -> None:
        """A chunk that is a bare error object with no `error` wrapper, as some servers send mid-stream.

        The wrapped form (`data: {"error": {...}}`, vLLM's) is raised by openai's Stream itself as `APIError`.
        """
        extra = chunk.model_extra or {}
        if extra.get("object") == "error" or ("message" in extra and ("type" in extra or "code" in extra)):
            raise GenerationFailed(f"{self.host} failed while generating: {server_detail(extra, 'no message')}")

    def _complete(self, client: openai.OpenAI, request: ChatRequest, messages, arguments) -> Iterator[BackendEvent]:
        with self._wire.armed(request.on_send, request.stop):
            response = client.chat.completions.create(model=self._model, messages=messages, stream=False, **arguments)
        if not response.choices:
            raise MalformedResponse(f"{self.host} returned no choices for model {self._model!r}.")
        choice = response.choices[0]
        answer, think = split_complete(choice.message.content or "")
        reasoning = (_reasoning_of(choice.message) or "") + think
        if reasoning:
            yield ReasoningDelta(reasoning)
        yield TextDelta(answer)
        if response.usage is not None:
            yield _usage(response.usage)
        yield from _server_timings(response)
        yield Finish(choice.finish_reason)


@contextmanager
def _broken_mid_answer(host: str) -> Iterator[None]:
    """A connection lost after the answer began is a broken stream, not an unreachable server."""
    import openai

    try:
        yield
    except (openai.APITimeoutError, httpx.TimeoutException):
        raise
    except (openai.APIConnectionError, httpx.TransportError) as exc:
        raise ConnectionLost(f"the connection to {host} broke mid-answer ({_cause_name(exc)}).") from None


def _cause_name(exc: BaseException) -> str:
    cause = exc.__cause__ or exc.__context__
    return (cause or exc).__class__.__name__


def _reasoning_of(message: Any) -> str | None:
    # DeepSeek, DashScope and older vLLM name it `reasoning_content`; vLLM ≥ 0.10 and OpenRouter `reasoning`.
    extra = getattr(message, "model_extra", None)
    if not extra:
        return None
    value = extra.get("reasoning_content") or extra.get("reasoning")
    return value if isinstance(value, str) else None


def _server_timings(payload: Any) -> Iterator[ServerTimings]:
    """llama.cpp's server reports its own prefill and decode times in a `timings` object (tools/server/README.md)."""
    timings = (getattr(payload, "model_extra", None) or {}).get("timings")
    if not isinstance(timings, dict):
        return
    prompt_ms, predicted_ms = _number(timings.get("prompt_ms")), _number(timings.get("predicted_ms"))
    if prompt_ms is None and predicted_ms is None:
        return
    total = (prompt_ms or 0.0) + (predicted_ms or 0.0)
    yield ServerTimings(
        prompt_eval_s=prompt_ms / 1000 if prompt_ms is not None else None,
        eval_s=predicted_ms / 1000 if predicted_ms is not None else None,
        total_s=total / 1000,
    )


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _usage(usage: Any) -> Usage:
    details = getattr(usage, "completion_tokens_details", None)
    reasoning = getattr(details, "reasoning_tokens", None) if details is not None else None
    return Usage(
        input_tokens=usage.prompt_tokens,
        output_tokens=usage.completion_tokens,
        reasoning_tokens=reasoning,
        source="usage",
    )


def convert_openai_error(exc: BaseException, backend: OpenAIBackend) -> BackendError | None:
    import openai

    host = backend.host
    # APITimeoutError is a subclass of APIConnectionError: test it first.
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        limits = f"connect {backend.options.connect_timeout_s:g} s, read {backend.options.read_timeout_s:g} s"
        return BackendTimeout(f"{host} did not answer in time ({limits}).")
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return BackendUnreachable(
            f"cannot reach {host} — is the server running and the base_url right? ({_cause_name(exc)})"
        )
    if isinstance(exc, openai.APIStatusError):
        return error_for_status(_failure(exc, backend))
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        return MalformedResponse(f"{host} sent a response that is not valid OpenAI JSON ({exc.__class__.__name__}).")
    if isinstance(exc, openai.APIError):
        # openai's Stream raises a bare APIError for an SSE `data: {"error": ...}` event (openai/_streaming.py).
        detail = server_detail(exc.body, exc.message)
        return GenerationFailed(f"{host} failed while generating: {detail}")
    return None


def _failure(exc: openai.APIStatusError, backend: OpenAIBackend) -> HttpFailure:
    key_env, endpoint = backend.endpoint.api_key_env, backend.endpoint
    auth_fix = f"check {key_env}" if key_env else "this server wants a key: name its variable with api_key_env"
    if endpoint.key_hint:
        auth_fix += f" ({endpoint.key_hint})"
    return HttpFailure(
        status=exc.status_code,
        server=backend.host,
        model=backend.model,
        detail=server_detail(exc.body, exc.message),
        body=exc.body,
        headers=exc.response.headers,
        auth_fix=auth_fix,
        pane_name=partial(pane_name_of, endpoint),
        model_fix=endpoint.model_hint
        or f"check the name; GET {endpoint.base_url.rstrip('/')}/models lists the models this server has",
    )
