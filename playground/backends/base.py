"""The backend contract: `stream(request)` yields typed events.

A backend yields `RequestSent` just before its request leaves (so the metrics wrapper can
time queueing apart from the model), then deltas, usage and a `Finish`. Non-streaming is
the same contract: every content event comes at once after the complete response.
Backends never read a clock; errors are raised as `playground.errors` exceptions.
"""

from __future__ import annotations

import contextlib
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Literal
from urllib.parse import urlparse

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["system", "user", "assistant"]
Mode = Literal["stream", "non-stream"]
MODES: tuple[Mode, ...] = ("stream", "non-stream")
Thinking = Literal["off", "on", "low", "medium", "high"]


def alternated(modes: Sequence[Mode], index: int) -> list[Mode]:
    """`modes` in their order for even `index`, reversed for odd: drift then hits every mode alike."""
    return list(modes) if index % 2 == 0 else list(reversed(modes))


def require_http_url(value: str | None, example: str) -> str | None:
    """A pydantic field check: an http(s) URL with a host, or unset."""
    if value is not None:
        parsed = urlparse(value)
        if parsed.scheme not in ("http", "https") or not parsed.netloc:
            raise ValueError(f"must be an http:// or https:// URL such as {example}")
    return value


@dataclass(frozen=True)
class Message:
    role: Role
    content: str

    def as_dict(self) -> dict[str, str]:
        return {"role": self.role, "content": self.content}


class GenerationParams(BaseModel):
    """Generation parameters a pane may set; unset ones keep the backend's default."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    top_k: int | None = Field(default=None, ge=0)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    repetition_penalty: float | None = Field(default=None, gt=0.0, le=10.0)
    seed: int | None = None
    min_p: float | None = Field(default=None, ge=0.0, le=1.0)
    # Reasoning switch for models that think: "off", "on", or an effort level where the server has them.
    thinking: Thinking | None = None

    def set_values(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


class StopSignal:
    """A stop flag that can also run callbacks, so a blocked network read can be cut at once."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self._lock = threading.Lock()
        self._callbacks: list[Callable[[], None]] = []
        # Checked once per streamed chunk: the event's own method, without a call through this class.
        self.is_set: Callable[[], bool] = self._event.is_set

    def set(self) -> None:
        with self._lock:
            if self._event.is_set():
                return
            self._event.set()
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            # A failing closer must not keep the others from running.
            with contextlib.suppress(Exception):
                callback()

    def on_stop(self, callback: Callable[[], None]) -> None:
        """Run `callback` when the signal is set (at once if it already is)."""
        with self._lock:
            if not self._event.is_set():
                self._callbacks.append(callback)
                return
        callback()

    def wait(self, timeout: float | None = None) -> bool:
        return self._event.wait(timeout)


@dataclass(frozen=True)
class ChatRequest:
    messages: tuple[Message, ...]
    params: GenerationParams = field(default_factory=GenerationParams)
    stream: bool = True
    # Set by whoever wants the run to end early; backends check it between steps.
    stop: StopSignal = field(default_factory=StopSignal, compare=False)
    # Given by the metrics wrapper: a backend calls it the moment its request goes on the wire
    # (from an HTTP client's request hook), so "send" excludes the client's own preparation.
    on_send: Callable[[], None] | None = field(default=None, compare=False)

    @property
    def mode(self) -> Mode:
        return "stream" if self.stream else "non-stream"


# ---- events -------------------------------------------------------------------------


@dataclass(frozen=True)
class RequestSent:
    """The request is about to leave. `params` are the parameters actually sent."""

    params: dict[str, Any]
    ignored_params: tuple[str, ...] = ()
    cold_start: bool = False


@dataclass(frozen=True)
class TextDelta:
    """Answer text. An empty delta marks a chunk with no text (role-only, keep-alive)."""

    text: str


@dataclass(frozen=True)
class ReasoningDelta:
    text: str


TokenSource = Literal["usage", "ollama", "tokenizer", "estimate"]


@dataclass(frozen=True)
class Usage:
    input_tokens: int | None
    output_tokens: int | None
    source: TokenSource
    reasoning_tokens: int | None = None
    note: str = ""


@dataclass(frozen=True)
class ServerTimings:
    """What the server reports about itself, in seconds."""

    load_s: float | None = None
    prompt_eval_s: float | None = None
    eval_s: float | None = None
    total_s: float | None = None
    queue_s: float | None = None
    ttft_s: float | None = None


@dataclass(frozen=True)
class Retrying:
    """The server turned the request away before answering; the backend waits `wait_s`, then asks again."""

    attempt: int
    wait_s: float
    reason: str


@dataclass(frozen=True)
class AnswerWasReasoning:
    """The answer text so far was reasoning: a lone `</think>` closed a block the prompt had opened."""


@dataclass(frozen=True)
class Finish:
    reason: str | None = None


BackendEvent = RequestSent | TextDelta | ReasoningDelta | AnswerWasReasoning | Usage | ServerTimings | Retrying | Finish


class Backend(ABC):
    """The base of every backend (see `playground.backends.BACKENDS`); subclasses implement `stream`.

    A backend is built as `cls(model, cls.Options.model_validate(pane_options), context)`.
    """

    kind: ClassVar[str]
    # The backend's own pane settings, validated from the YAML config (extra keys forbidden).
    Options: ClassVar[type[BaseModel]]
    # Runs the backend can serve at once in this process (None: no limit), e.g. 1 for a local GPU.
    max_concurrency: ClassVar[int | None] = None
    # True when a new model name loads weights into this process (the page then refuses unknown ones).
    loads_weights: ClassVar[bool] = False

    def __init__(self, model: str, options: Any, context: Any = None) -> None:
        self._model = model
        self.options = options

    @property
    def model(self) -> str:
        return self._model

    @abstractmethod
    def stream(self, request: ChatRequest) -> Iterator[BackendEvent]: ...

    def prepare(self) -> None:
        """Do slow one-off work (load weights, open a client) before timed runs start."""
        return None

    def secrets(self) -> tuple[str, ...]:
        """Values that must never appear in logs, the page or exported data."""
        return ()

    def check(self) -> str | None:
        """Why the pane cannot run now (cheap to ask), or None when it looks ready."""
        return None

    def details(self) -> str:
        """A short line for the pane header about the model's state (loaded, context length); may be empty."""
        return ""

    def model_choices(self) -> list[str]:
        """Models the backend offers for a picker; empty when it cannot list them."""
        return []

    def count_tokens(self, text: str) -> tuple[int, str] | None:
        """The model's own token count of `text` and how it was counted, when the server reported none."""
        return None

    def close(self) -> None:
        return None
