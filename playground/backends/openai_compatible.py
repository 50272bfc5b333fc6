"""Any OpenAI-compatible chat server through the `openai` client.

Presets fill in the base URL, the key variable and which non-standard parameters the
server accepts in `extra_body`. A parameter the server lacks is recorded as ignored.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import partial
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

import httpx
import openai
from pydantic import BaseModel, ConfigDict, Field, field_validator

from playground.backends.base import (
    BackendEvent,
    ChatRequest,
    Finish,
    ReasoningDelta,
    RequestSent,
    TextDelta,
    Usage,
    require_http_url,
)
from playground.backends.reasoning import ThinkSplitter, split_complete
from playground.backends.wire import WireSendHook
from playground.errors import (
    AuthenticationFailed,
    BackendError,
    BackendTimeout,
    BackendUnreachable,
    InvalidRequest,
    MalformedResponse,
    MissingApiKey,
    ModelNotFound,
    RateLimited,
    ServerError,
    converted_errors,
)

ExtraParam = Literal["top_k", "repetition_penalty"]


@dataclass(frozen=True)
class Preset:
    base_url: str
    api_key_env: str | None
    extra_params: tuple[ExtraParam, ...] = ()


PRESETS: dict[str, Preset] = {
    "openai": Preset("https://api.openai.com/v1", "OPENAI_API_KEY"),
    "deepseek": Preset("https://api.deepseek.com", "DEEPSEEK_API_KEY"),
    "dashscope": Preset(
        "https://dashscope.aliyuncs.com/compatible-mode/v1", "DASHSCOPE_API_KEY", ("top_k", "repetition_penalty")
    ),
    "vllm": Preset("http://127.0.0.1:8000/v1", None, ("top_k", "repetition_penalty")),
    # transformers serve answers 422 to top-level top_k / repetition_penalty.
    "transformers-serve": Preset("http://127.0.0.1:8000/v1", None),
    "custom": Preset("", None),
}


class OpenAIOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preset: Literal["openai", "deepseek", "dashscope", "vllm", "transformers-serve", "custom"] = "custom"
    base_url: str | None = None
    api_key_env: str | None = None
    extra_params: list[ExtraParam] | None = None
    connect_timeout_s: float = Field(default=10.0, gt=0, le=300)
    read_timeout_s: float = Field(default=120.0, gt=0, le=3600)
    max_retries: int = Field(default=1, ge=0, le=5)

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return require_http_url(value, example="https://api.deepseek.com")

    def resolved(self) -> Preset:
        preset = PRESETS[self.preset]
        base_url = self.base_url or preset.base_url
        if not base_url:
            raise ValueError("set base_url or a preset")
        extra = tuple(self.extra_params) if self.extra_params is not None else preset.extra_params
        return Preset(base_url, self.api_key_env or preset.api_key_env, extra)


class OpenAIBackend:
    kind: ClassVar[str] = "openai"
    max_concurrency: ClassVar[int | None] = None
    Options = OpenAIOptions

    def __init__(self, model: str, options: OpenAIOptions, context: Any = None) -> None:
        self._model = model
        self.options = options
        self.endpoint = options.resolved()
        self.host = urlparse(self.endpoint.base_url).netloc
        self._client: openai.OpenAI | None = None
        self._wire = WireSendHook()

    @property
    def model(self) -> str:
        return self._model

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

    def model_choices(self) -> list[str]:
        return []

    def close(self) -> None:
        if self._client is not None:
            self._client.close()
            self._client = None

    def _get_client(self) -> openai.OpenAI:
        # One client per pane, reused: a fresh client pays for a new connection on every run.
        if self._client is None:
            key_env = self.endpoint.api_key_env
            key = os.environ.get(key_env) if key_env else "not-needed"
            if not key:
                raise MissingApiKey(f"{key_env} is not set — export your key for {self.host} in that environment variable.")
            self._client = openai.OpenAI(
                base_url=self.endpoint.base_url,
                api_key=key,
                max_retries=self.options.max_retries,
                timeout=httpx.Timeout(self.options.read_timeout_s, connect=self.options.connect_timeout_s),
                http_client=openai.DefaultHttpxClient(event_hooks={"request": [self._wire]}),
            )
        return self._client

    def _arguments(self, request: ChatRequest) -> tuple[dict[str, Any], tuple[str, ...]]:
        values = request.params.set_values()
        arguments: dict[str, Any] = {}
        extra_body: dict[str, Any] = {}
        ignored: list[str] = []
        for name, value in values.items():
            if name in ("top_k", "repetition_penalty", "min_p", "thinking"):
                if name in self.endpoint.extra_params:
                    extra_body[name] = value
                else:
                    ignored.append(name)
            else:
                arguments[name] = value
        if extra_body:
            arguments["extra_body"] = extra_body
        return arguments, tuple(ignored)

    def stream(self, request: ChatRequest) -> Iterator[BackendEvent]:
        with converted_errors(partial(convert_openai_error, backend=self)):
            client = self._get_client()
            arguments, ignored = self._arguments(request)
            sent_params = {k: v for k, v in arguments.items() if k != "extra_body"} | arguments.get("extra_body", {})
            messages = [m.as_dict() for m in request.messages]
            yield RequestSent(params=sent_params, ignored_params=ignored)
            if request.stream:
                yield from self._stream_chunks(client, request, messages, arguments)
            else:
                yield from self._complete(client, request, messages, arguments)

    def _stream_chunks(self, client: openai.OpenAI, request: ChatRequest, messages, arguments) -> Iterator[BackendEvent]:
        with self._wire.armed(request.on_send):
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
                if chunk.choices:
                    choice = chunk.choices[0]
                    reasoning = _reasoning_of(choice.delta)
                    if reasoning:
                        events.append(ReasoningDelta(reasoning))
                    if choice.delta.content:
                        events += splitter.feed(choice.delta.content)
                    finish = choice.finish_reason or finish
                yield from events or (empty,)
                if chunk.usage is not None:
                    yield _usage(chunk.usage)
        yield from splitter.flush()
        yield Finish(finish)

    def _complete(self, client: openai.OpenAI, request: ChatRequest, messages, arguments) -> Iterator[BackendEvent]:
        with self._wire.armed(request.on_send):
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
        yield Finish(choice.finish_reason)


@contextmanager
def _broken_mid_answer(host: str) -> Iterator[None]:
    """A connection lost after the answer began is a broken stream, not an unreachable server."""
    try:
        yield
    except (openai.APITimeoutError, httpx.TimeoutException):
        raise
    except (openai.APIConnectionError, httpx.TransportError) as exc:
        raise BackendUnreachable(f"the connection to {host} broke mid-answer ({exc.__class__.__name__}).") from None


def _reasoning_of(message: Any) -> str | None:
    # DeepSeek and vLLM put reasoning in `reasoning_content`; some servers call it `reasoning`.
    extra = getattr(message, "model_extra", None) or {}
    value = extra.get("reasoning_content") or extra.get("reasoning")
    return value if isinstance(value, str) else None


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
    host, model, key_env = backend.host, backend.model, backend.endpoint.api_key_env
    detail = _server_detail(exc)
    # APITimeoutError is a subclass of APIConnectionError: test it first.
    if isinstance(exc, openai.APITimeoutError | httpx.TimeoutException):
        limits = f"connect {backend.options.connect_timeout_s:g} s, read {backend.options.read_timeout_s:g} s"
        return BackendTimeout(f"{host} did not answer in time ({limits}).")
    if isinstance(exc, openai.APIConnectionError | httpx.TransportError):
        return BackendUnreachable(
            f"cannot reach {host} — is the server running and the base_url right? ({detail or 'connection failed'})"
        )
    if isinstance(exc, openai.AuthenticationError):
        fix = f"check {key_env}" if key_env else "this server wants a key: set api_key_env"
        return AuthenticationFailed(f"401 from {host} — {fix}.")
    if isinstance(exc, openai.PermissionDeniedError):
        return AuthenticationFailed(f"403 from {host} — the key in {key_env} may not use model {model!r}.")
    if isinstance(exc, openai.RateLimitError):
        retry_after = _retry_after(exc)
        wait = f"; retry after {retry_after:g} s" if retry_after is not None else ""
        return RateLimited(f"429 from {host} — rate limit or quota reached{wait}.", retry_after)
    if isinstance(exc, openai.NotFoundError):
        return ModelNotFound(f"404 from {host} — model {model!r} not found there. {detail}".strip())
    if isinstance(exc, openai.APIStatusError) and exc.status_code < 500:
        return InvalidRequest(f"{exc.status_code} from {host} — the server refused the request: {detail}")
    if isinstance(exc, openai.APIStatusError):
        return ServerError(f"{exc.status_code} from {host} — server error. {detail}".strip())
    if isinstance(exc, openai.APIResponseValidationError | ValueError):
        return MalformedResponse(f"{host} sent a response that is not valid OpenAI JSON ({exc.__class__.__name__}).")
    if isinstance(exc, openai.APIError):
        return MalformedResponse(f"{host} sent an error the client could not read: {detail}")
    return None


def _server_detail(exc: BaseException) -> str:
    body = getattr(exc, "body", None)
    if isinstance(body, dict):
        message = body.get("message") or body.get("detail") or body.get("error")
        if isinstance(message, dict):
            message = message.get("message")
        if message:
            return str(message)[:300]
    return str(getattr(exc, "message", "") or "")[:300]


def _retry_after(exc: BaseException) -> float | None:
    response = getattr(exc, "response", None)
    value = response.headers.get("retry-after") if response is not None else None
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
