"""Ollama through its native `/api/chat` and the `ollama` client.

The native API (unlike Ollama's /v1) reports exact token counts and the server's own
timings in its final object, which become the `server_*` columns.
"""

from __future__ import annotations

import itertools
import json
import os
from collections.abc import Iterator
from functools import partial
from typing import Any, ClassVar

import httpx
import ollama
import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from playground.backends.base import (
    BackendEvent,
    ChatRequest,
    Finish,
    ReasoningDelta,
    RequestSent,
    ServerTimings,
    StopSignal,
    TextDelta,
    Usage,
    require_http_url,
)
from playground.backends.reasoning import ThinkSplitter
from playground.backends.wire import WireSendHook
from playground.errors import (
    AuthenticationFailed,
    BackendError,
    BackendTimeout,
    BackendUnreachable,
    InvalidRequest,
    MalformedResponse,
    ModelNotFound,
    RateLimited,
    ServerError,
    converted_errors,
)

DEFAULT_HOST = "http://127.0.0.1:11434"
_OPTION_NAMES = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "num_predict",
    "repetition_penalty": "repeat_penalty",
    "seed": "seed",
    "min_p": "min_p",
}


class OllamaOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str | None = None
    keep_alive: str | float | None = None
    think: bool | None = None
    connect_timeout_s: float = Field(default=5.0, gt=0, le=300)
    read_timeout_s: float = Field(default=300.0, gt=0, le=3600)

    @field_validator("host")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return require_http_url(value, example=DEFAULT_HOST)


def _ns_to_s(value: int | None) -> float | None:
    return value / 1e9 if value is not None else None


class OllamaBackend:
    kind: ClassVar[str] = "ollama"
    max_concurrency: ClassVar[int | None] = None
    Options = OllamaOptions

    def __init__(self, model: str, options: OllamaOptions, context: Any = None) -> None:
        self._model = model
        self.options = options
        self.host = options.host or os.environ.get("OLLAMA_HOST") or DEFAULT_HOST
        if not self.host.startswith(("http://", "https://")):
            self.host = f"http://{self.host}"
        self._client: ollama.Client | None = None
        self._wire = WireSendHook()

    @property
    def model(self) -> str:
        return self._model

    def secrets(self) -> tuple[str, ...]:
        return ()

    def prepare(self) -> None:
        self._get_client()

    def close(self) -> None:
        self._client = None

    def _get_client(self) -> ollama.Client:
        if self._client is None:
            # The client's default timeout is none at all: a stuck server would hang the pane.
            timeout = httpx.Timeout(self.options.read_timeout_s, connect=self.options.connect_timeout_s)
            self._client = ollama.Client(host=self.host, timeout=timeout, event_hooks={"request": [self._wire]})
        return self._client

    def list_models(self, timeout_s: float | None = None) -> list[str]:
        """Names of the models the server has pulled (GET /api/tags)."""
        with converted_errors(partial(convert_ollama_error, backend=self)):
            client = ollama.Client(host=self.host, timeout=timeout_s) if timeout_s else self._get_client()
            return sorted(m.model for m in client.list().models if m.model)

    def model_choices(self) -> list[str]:
        try:
            return self.list_models(timeout_s=2.0)
        except BackendError:
            return []

    def check(self) -> str | None:
        try:
            models = self.list_models(timeout_s=2.0)
        except BackendError as exc:
            return exc.message
        if self._model not in models and f"{self._model}:latest" not in models:
            return f"model {self._model!r} is not pulled on {self.host} — run `ollama pull {self._model}`"
        return None

    def stream(self, request: ChatRequest) -> Iterator[BackendEvent]:
        with converted_errors(partial(convert_ollama_error, backend=self)):
            client = self._get_client()
            options = {_OPTION_NAMES[k]: v for k, v in request.params.set_values().items() if k in _OPTION_NAMES}
            arguments: dict[str, Any] = {"options": options}
            if self.options.keep_alive is not None:
                arguments["keep_alive"] = self.options.keep_alive
            if self.options.think is not None:
                arguments["think"] = self.options.think
            yield RequestSent(params=dict(options))
            with self._wire.armed(request.on_send):
                answer = client.chat(
                    model=self._model,
                    messages=[m.as_dict() for m in request.messages],
                    stream=request.stream,
                    **arguments,
                )
                if request.stream:
                    # The ollama client sends lazily, on the first read: start it inside the hook.
                    answer = _started(answer)
            if request.stream:
                yield from self._events(answer, request.stop)
            else:
                yield from _gathered(list(self._events(iter([answer]), request.stop)))

    def _events(self, chunks: Iterator[ollama.ChatResponse], stop: StopSignal) -> Iterator[BackendEvent]:
        splitter = ThinkSplitter()
        for chunk in chunks:
            if stop.is_set():
                # Closing the client's generator closes the HTTP response.
                getattr(chunks, "close", lambda: None)()
                break
            message = chunk.message
            emitted = False
            if message.thinking:
                emitted = True
                yield ReasoningDelta(message.thinking)
            for event in splitter.feed(message.content or ""):
                emitted = True
                yield event
            if not emitted and not chunk.done:
                yield TextDelta("")
            if chunk.done:
                yield from splitter.flush()
                yield Usage(chunk.prompt_eval_count, chunk.eval_count, source="ollama")
                yield ServerTimings(
                    load_s=_ns_to_s(chunk.load_duration),
                    prompt_eval_s=_ns_to_s(chunk.prompt_eval_duration),
                    eval_s=_ns_to_s(chunk.eval_duration),
                    total_s=_ns_to_s(chunk.total_duration),
                )
                yield Finish(chunk.done_reason)
                return
        raise MalformedResponse(f"Ollama at {self.host} closed the stream before its final 'done' object.")


def _started(chunks: Iterator[ollama.ChatResponse]) -> Iterator[ollama.ChatResponse]:
    """Send the request now (by reading the first item) and hand back the whole stream."""
    first = next(chunks, None)
    if first is None:
        return chunks
    return _Chained(first, chunks)


class _Chained:
    """`first` then the rest of `chunks`; keeps `close()` so a stop can end the HTTP response."""

    def __init__(self, first: ollama.ChatResponse, chunks: Iterator[ollama.ChatResponse]) -> None:
        self._iterator = itertools.chain((first,), chunks)
        self.close = getattr(chunks, "close", lambda: None)

    def __iter__(self) -> Iterator[ollama.ChatResponse]:
        return self._iterator


def _gathered(events: list[BackendEvent]) -> Iterator[BackendEvent]:
    """One complete answer from the streamed events, as a non-streaming response."""
    text = "".join(e.text for e in events if isinstance(e, TextDelta))
    reasoning = "".join(e.text for e in events if isinstance(e, ReasoningDelta))
    if reasoning:
        yield ReasoningDelta(reasoning)
    yield TextDelta(text)
    yield from (e for e in events if not isinstance(e, TextDelta | ReasoningDelta))


def convert_ollama_error(exc: BaseException, backend: OllamaBackend) -> BackendError | None:
    host, model = backend.host, backend.model
    if isinstance(exc, httpx.TimeoutException):
        return BackendTimeout(
            f"Ollama at {host} did not answer in time (connect {backend.options.connect_timeout_s:g} s, "
            f"read {backend.options.read_timeout_s:g} s)."
        )
    if isinstance(exc, ConnectionError | httpx.ConnectError):
        return BackendUnreachable(f"Ollama not reachable at {host} — is `ollama serve` running?")
    if isinstance(exc, httpx.TransportError):
        return BackendUnreachable(f"the connection to Ollama at {host} broke mid-answer ({exc.__class__.__name__}).")
    if isinstance(exc, ollama.ResponseError):
        detail = (exc.error or "")[:300]
        if exc.status_code == 404:
            return ModelNotFound(f"model {model!r} not found on Ollama at {host} — run `ollama pull {model}`.")
        if exc.status_code in (401, 403):
            return AuthenticationFailed(
                f"{exc.status_code} from Ollama at {host} — a proxy in front of it refused the request: {detail}"
            )
        if exc.status_code == 429:
            return RateLimited(f"429 from Ollama at {host} — too many requests; try again shortly.")
        if exc.status_code >= 500:
            return ServerError(f"{exc.status_code} from Ollama at {host}: {detail}")
        return InvalidRequest(f"{exc.status_code} from Ollama at {host}: {detail}")
    if isinstance(exc, pydantic.ValidationError | json.JSONDecodeError):
        return MalformedResponse(f"Ollama at {host} sent a line that is not valid /api/chat JSON.")
    return None
