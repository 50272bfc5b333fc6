"""Panes: a configured backend plus the pane's own settings, built from a config."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from playground.backends import backend_class
from playground.backends.base import Backend, ChatRequest, GenerationParams, Message, Mode
from playground.config import PaneConfig, PlaygroundConfig
from playground.errors import InputError

T = TypeVar("T")
# Far above any model's context here; it keeps a pasted file from freezing the page and backends.
MAX_PROMPT_CHARS = 200_000


class BackendContext:
    """Resources shared by the backends of one process (for example loaded local models)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._shared: dict[str, Any] = {}

    def shared(self, key: str, factory: Callable[[], T]) -> T:
        with self._lock:
            if key not in self._shared:
                self._shared[key] = factory()
            return self._shared[key]


def check_prompt(prompt: str | None) -> None:
    """Refuse an empty or oversized prompt with a message for the person who typed it."""
    if not prompt or not prompt.strip():
        raise InputError("The prompt is empty: type something to send.")
    if len(prompt) > MAX_PROMPT_CHARS:
        raise InputError(
            f"The prompt is {len(prompt):,} characters; the playground takes at most {MAX_PROMPT_CHARS:,}. "
            "Shorten it (or split it over several turns)."
        )


@dataclass
class Pane:
    config: PaneConfig
    backend: Backend
    price_per_million: tuple[float, float] | None = None
    runs_started: int = field(default=0)
    _count_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        return self.config.name

    def next_run_is_warmup(self) -> bool:
        """True exactly once per pane per process: its first run."""
        with self._count_lock:
            self.runs_started += 1
            return self.runs_started == 1

    def build_request(
        self,
        prompt: str,
        history: Sequence[Message] = (),
        mode: Mode | None = None,
        params: GenerationParams | None = None,
        system: str | None = None,
    ) -> ChatRequest:
        check_prompt(prompt)
        system_prompt = system if system is not None else self.config.system
        messages = [Message("system", system_prompt)] if system_prompt else []
        messages += [m for m in history if m.role != "system"]
        messages.append(Message("user", prompt))
        return ChatRequest(
            messages=tuple(messages),
            params=params or self.config.params,
            stream=(mode or self.config.mode) == "stream",
        )


def build_pane(pane_config: PaneConfig, config: PlaygroundConfig, context: BackendContext) -> Pane:
    cls = backend_class(pane_config.backend)
    options = cls.Options.model_validate(pane_config.backend_options())
    backend = cls(model=pane_config.model, options=options, context=context)
    price = config.price_for(pane_config.model)
    return Pane(
        config=pane_config,
        backend=backend,
        price_per_million=(price.input, price.output) if price else None,
    )


def build_panes(config: PlaygroundConfig, context: BackendContext | None = None) -> list[Pane]:
    context = context or BackendContext()
    return [build_pane(pane_config, config, context) for pane_config in config.panes]
