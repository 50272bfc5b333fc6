"""Ollama through its native `/api/chat` and the `ollama` client.

The native API (unlike Ollama's /v1) reports exact token counts and the server's own
timings in its final object, which become the `server_*` columns.
"""

from __future__ import annotations

import itertools
import json
import os
import re
from collections.abc import Iterator
from functools import partial
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import httpx
import pydantic
from pydantic import BaseModel, ConfigDict, Field, field_validator

from playground.backends.base import (
    AnswerWasReasoning,
    Backend,
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
from playground.backends.http_errors import HttpFailure, error_for_status
from playground.backends.reasoning import ThinkSplitter
from playground.backends.retry import RetryPolicy, retrying
from playground.backends.wire import WireTap
from playground.errors import (
    BackendError,
    BackendTimeout,
    BackendUnreachable,
    ConfigError,
    ConnectionLost,
    GenerationFailed,
    MalformedResponse,
    StreamTruncated,
    converted_errors,
)

# `ollama` is imported where it is used, so that reading a config does not import it: the page
# serves before any client is needed (playground.preparation opens them in the background).
if TYPE_CHECKING:
    import ollama

DEFAULT_PORT = 11434
DEFAULT_HOST = f"http://127.0.0.1:{DEFAULT_PORT}"
_THINK: dict[str, bool | str] = {"off": False, "on": True, "low": "low", "medium": "medium", "high": "high"}
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
    # The pane's thinking setting wins; this is the default for panes that leave it unset.
    think: bool | Literal["low", "medium", "high"] | None = None
    # Context window for this pane's model (Ollama's own default is small; long prompts are cut).
    num_ctx: int | None = Field(default=None, ge=256, le=10_000_000)
    # Retries of a request turned away before any answer (503 busy, 429, refused), shown live in the pane.
    max_retries: int = Field(default=1, ge=0, le=5)
    max_retry_wait_s: float = Field(default=30.0, ge=0, le=600)
    connect_timeout_s: float = Field(default=5.0, gt=0, le=300)
    read_timeout_s: float = Field(default=300.0, gt=0, le=3600)

    @field_validator("host")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return require_http_url(value, example=DEFAULT_HOST)


def parse_host(value: str | None) -> str:
    """An OLLAMA_HOST value as Ollama reads it: scheme http and port 11434 unless given.

    Same rules as ollama-python's `_parse_host` (ollama/_client.py, whose doctests list the
    cases) and Ollama's `envconfig.Host` (envconfig/config.go): "myserver" → http://myserver:11434,
    ":8080" → http://127.0.0.1:8080, "http://h" → http://h:80, "https://h" → https://h:443.
    """
    value = (value or "").strip()
    scheme, _, rest = value.rpartition("://")
    scheme = scheme.lower() or "http"
    if scheme not in ("http", "https"):
        raise ConfigError(f"OLLAMA_HOST={value!r}: the scheme must be http or https. Fix: use a value like http://myserver:11434.")
    default_port = {"http": 80, "https": 443}[scheme] if "://" in value else DEFAULT_PORT
    hostport, slash, path = rest.partition("/")
    match = re.fullmatch(r"(\[[^\]]*\]|[^:]*)(?::(\d+))?", hostport)
    host, port = (match.group(1), match.group(2)) if match else (hostport, None)
    # A listen-on-all address is not one to connect to: Ollama's `ConnectableHost` turns it into loopback.
    host = {"": "127.0.0.1", "0.0.0.0": "127.0.0.1", "[::]": "[::1]"}.get(host, host)
    base = f"{scheme}://{host}:{port or default_port}"
    path = path.rstrip("/")
    return f"{base}/{path}" if slash and path else base


def _ns_to_s(value: int | None) -> float | None:
    return value / 1e9 if value is not None else None


class OllamaBackend(Backend):
    kind: ClassVar[str] = "ollama"
    Options = OllamaOptions

    def __init__(self, model: str, options: OllamaOptions, context: Any = None) -> None:
        super().__init__(model, options, context)
        self.host = options.host or parse_host(os.environ.get("OLLAMA_HOST"))
        self._client: ollama.Client | None = None
        self._wire = WireTap()

    def prepare(self) -> None:
        self._get_client()

    def close(self) -> None:
        self._client = None

    def _get_client(self) -> ollama.Client:
        if self._client is None:
            import ollama

            # The client's default timeout is none at all: a stuck server would hang the pane.
            timeout = httpx.Timeout(self.options.read_timeout_s, connect=self.options.connect_timeout_s)
            self._client = ollama.Client(host=self.host, timeout=timeout, event_hooks=self._wire.hooks(httpx))
        return self._client

    def list_models(self, timeout_s: float | None = None) -> list[str]:
        """Names of the models the server has pulled (GET /api/tags)."""
        import ollama

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

    def details(self) -> str:
        """Whether the model is in memory now (GET /api/ps) and its context length (POST /api/show)."""
        import ollama

        try:
            client = ollama.Client(host=self.host, timeout=2.0)
            loaded = {m.model or m.name: m for m in client.ps().models}
            shown = client.show(self._model)
        except (ollama.ResponseError, httpx.HTTPError, ConnectionError, pydantic.ValidationError):
            return ""
        name = self._model if self._model in loaded else f"{self._model}:latest"
        running = loaded.get(name)
        limit = _context_length(shown.modelinfo or {})
        parts = ["loaded" if running is not None else "not loaded: the first run pays for loading it"]
        if running is not None and running.context_length:
            parts.append(f"context {running.context_length:,}" + (f" of {limit:,}" if limit else ""))
        elif limit:
            parts.append(f"model context {limit:,}")
        return " · ".join(parts)

    def _arguments(self, request: ChatRequest) -> dict[str, Any]:
        values = request.params.set_values()
        options = {_OPTION_NAMES[k]: v for k, v in values.items() if k in _OPTION_NAMES}
        if self.options.num_ctx is not None:
            options["num_ctx"] = self.options.num_ctx
        arguments: dict[str, Any] = {"options": options}
        if self.options.keep_alive is not None:
            arguments["keep_alive"] = self.options.keep_alive
        # /api/chat `think`: true/false, or "low"/"medium"/"high" for models with effort levels (docs/api.md).
        think = _THINK.get(values["thinking"]) if "thinking" in values else self.options.think
        if think is not None:
            arguments["think"] = think
        return arguments

    def stream(self, request: ChatRequest) -> Iterator[BackendEvent]:
        policy = RetryPolicy(self.options.max_retries, self.options.max_retry_wait_s)
        # Returned, not delegated to: one generator fewer for every chunk to pass through.
        return retrying(partial(self._attempt, request), policy, request.stop)

    def _attempt(self, request: ChatRequest) -> Iterator[BackendEvent]:
        with converted_errors(partial(convert_ollama_error, backend=self)):
            client = self._get_client()
            arguments = self._arguments(request)
            sent = dict(arguments["options"]) | ({"think": arguments["think"]} if "think" in arguments else {})
            yield RequestSent(params=sent)
            with self._wire.armed(request.on_send, request.stop):
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
        # Closing the client's generator closes the HTTP response.
        close = getattr(chunks, "close", lambda: None)
        for chunk in chunks:
            if stop.is_set():
                close()
                return
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
                # Ending the response now reads its last empty chunk, so the next run reuses the connection.
                close()
                yield Usage(chunk.prompt_eval_count, chunk.eval_count, source="ollama")
                yield ServerTimings(
                    load_s=_ns_to_s(chunk.load_duration),
                    prompt_eval_s=_ns_to_s(chunk.prompt_eval_duration),
                    eval_s=_ns_to_s(chunk.eval_duration),
                    total_s=_ns_to_s(chunk.total_duration),
                )
                yield Finish(chunk.done_reason)
                return
        raise StreamTruncated(
            f"Ollama at {self.host} ended the stream early: it closed before its final 'done' object, "
            "so the answer may be cut short."
        )


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
    answer: list[str] = []
    reasoning: list[str] = []
    for event in events:
        if isinstance(event, AnswerWasReasoning):
            reasoning[:0], answer[:] = answer, []
        elif isinstance(event, TextDelta | ReasoningDelta):
            (reasoning if isinstance(event, ReasoningDelta) else answer).append(event.text)
    if reasoning:
        yield ReasoningDelta("".join(reasoning))
    yield TextDelta("".join(answer))
    yield from (e for e in events if not isinstance(e, TextDelta | ReasoningDelta | AnswerWasReasoning))


def _context_length(model_info: Any) -> int | None:
    # /api/show's model_info holds "<architecture>.context_length" (docs/api.md, "Show Model Information").
    for key, value in dict(model_info).items():
        if key.endswith(".context_length") and isinstance(value, int):
            return value
    return None


def convert_ollama_error(exc: BaseException, backend: OllamaBackend) -> BackendError | None:
    import ollama

    host = backend.host
    if isinstance(exc, httpx.TimeoutException):
        return BackendTimeout(
            f"Ollama at {host} did not answer in time (connect {backend.options.connect_timeout_s:g} s, "
            f"read {backend.options.read_timeout_s:g} s)."
        )
    if isinstance(exc, ConnectionError | httpx.ConnectError):
        return BackendUnreachable(f"Ollama not reachable at {host} — is `ollama serve` running?")
    if isinstance(exc, httpx.TransportError):
        return ConnectionLost(f"the connection to Ollama at {host} broke mid-answer ({exc.__class__.__name__}).")
    if isinstance(exc, ollama.ResponseError):
        detail = (exc.error or "")[:300]
        if exc.status_code == -1:
            # The client raises an `{"error": ...}` line read inside a 200 stream with status -1 (ollama/_client.py).
            return GenerationFailed(f"Ollama at {host} failed while generating: {detail}")
        return error_for_status(_failure(exc.status_code, detail, backend))
    if isinstance(exc, pydantic.ValidationError | json.JSONDecodeError):
        return MalformedResponse(f"Ollama at {host} sent a line that is not valid /api/chat JSON.")
    return None


def _failure(status: int, detail: str, backend: OllamaBackend) -> HttpFailure:
    model = backend.model
    if model.endswith(("-cloud", ":cloud")):
        # Cloud models answer 401 with a `signin_url` while this Ollama is signed out.
        auth_fix = "this is a cloud model: run `ollama signin` on that machine"
    else:
        auth_fix = "Ollama itself takes no key, so a proxy in front of it refused the request"
    return HttpFailure(
        status=status,
        server=f"Ollama at {backend.host}",
        model=model,
        detail=detail,
        auth_fix=auth_fix,
        model_fix=f"run `ollama pull {model}`",
        path_fix="check the host: it should be the Ollama server's root URL, such as http://127.0.0.1:11434",
    )
