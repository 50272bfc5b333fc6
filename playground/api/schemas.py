"""The wire shapes of the served API, following OpenAI's Chat Completions reference.

Request: platform.openai.com/docs/api-reference/chat/create. Response object ("chat.completion"),
stream chunk ("chat.completion.chunk") and the usage-only last chunk that `stream_options.include_usage`
asks for ("an additional chunk ... before the data: [DONE] message ... the choices field will always be an
empty array"): platform.openai.com/docs/api-reference/chat/streaming, the same shapes as openai-python's
`types/chat/chat_completion.py` and `chat_completion_chunk.py`. Model list: platform.openai.com/docs/api-reference/models/list.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_serializer, model_validator

from playground.backends.base import GenerationParams, Message

# "developer" is OpenAI's newer name for system instructions (platform.openai.com/docs/api-reference/chat/create).
SYSTEM_ROLES = ("system", "developer")


class TextPart(BaseModel):
    """A content part; only text parts can reach a chat model here."""

    model_config = ConfigDict(extra="ignore")

    type: Literal["text"]
    text: str


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="ignore")

    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else "".join(part.text for part in self.content)


class StreamOptions(BaseModel):
    model_config = ConfigDict(extra="ignore")

    include_usage: bool = False


class ChatCompletionRequest(BaseModel):
    """The fields the served pane can honour. Fields OpenAI defines that would change the answer but
    cannot be honoured here (n > 1, stop, tools) are refused by name rather than silently dropped."""

    model_config = ConfigDict(extra="ignore")

    model: str = Field(min_length=1)
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    stream_options: StreamOptions | None = None
    # The same ranges as the pane settings (GenerationParams), so a value is refused before any run.
    temperature: float | None = Field(default=None, ge=0.0, le=2.0)
    top_p: float | None = Field(default=None, gt=0.0, le=1.0)
    max_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    max_completion_tokens: int | None = Field(default=None, ge=1, le=1_000_000)
    seed: int | None = None
    # Sampling extras under vLLM's names (docs.vllm.ai, "Extra parameters" of the chat API).
    top_k: int | None = Field(default=None, ge=0)
    min_p: float | None = Field(default=None, ge=0.0, le=1.0)
    repetition_penalty: float | None = Field(default=None, gt=0.0, le=10.0)
    # vLLM's way to switch a template's thinking: chat_template_kwargs.enable_thinking (docs.vllm.ai, "Reasoning Outputs").
    chat_template_kwargs: dict[str, Any] | None = None
    n: int | None = None
    stop: str | list[str] | None = None
    tools: list[Any] | None = None

    @model_validator(mode="after")
    def _refuse_what_cannot_be_honoured(self) -> ChatCompletionRequest:
        if self.n not in (None, 1):
            raise ValueError("n: only one choice per request is served (n = 1)")
        if self.stop:
            raise ValueError("stop: stop sequences are not supported by the served pane; leave stop unset")
        if self.tools:
            raise ValueError("tools: tool calls are not supported by the served pane; leave tools unset")
        turns = [m for m in self.messages if m.role not in SYSTEM_ROLES]
        if not turns or turns[-1].role != "user":
            raise ValueError("messages: the last message (after any system messages) must have the role user")
        return self

    def params_over(self, defaults: GenerationParams) -> GenerationParams:
        """The pane's own parameters, with every field this request sets taking its place."""
        # max_completion_tokens replaces the deprecated max_tokens (platform.openai.com/docs/api-reference/chat/create).
        given = {
            "temperature": self.temperature,
            "top_p": self.top_p,
            "top_k": self.top_k,
            "max_tokens": self.max_completion_tokens or self.max_tokens,
            "repetition_penalty": self.repetition_penalty,
            "seed": self.seed,
            "min_p": self.min_p,
            "thinking": self._thinking(),
        }
        return defaults.model_copy(update={k: v for k, v in given.items() if v is not None})

    def _thinking(self) -> str | None:
        enable = (self.chat_template_kwargs or {}).get("enable_thinking")
        return None if enable is None else ("on" if enable else "off")

    def conversation(self) -> tuple[str | None, list[Message], str]:
        """(the system prompt or None, the earlier turns, the last user message)."""
        system = "\n\n".join(m.text() for m in self.messages if m.role in SYSTEM_ROLES) or None
        turns = [Message(m.role, m.text()) for m in self.messages if m.role not in SYSTEM_ROLES]  # type: ignore[arg-type]
        return system, turns[:-1], turns[-1].content

    @property
    def include_usage(self) -> bool:
        return bool(self.stream_options and self.stream_options.include_usage)


class CompletionUsage(BaseModel):
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    completion_tokens_details: dict[str, int] | None = None


class AssistantMessage(BaseModel):
    role: Literal["assistant"] = "assistant"
    content: str
    refusal: None = None
    # The reasoning kept apart from the answer, under DeepSeek's name (which the playground's openai panes read).
    reasoning_content: str | None = None


class Choice(BaseModel):
    index: int = 0
    message: AssistantMessage
    logprobs: None = None
    finish_reason: str | None


class ChatCompletion(BaseModel):
    id: str
    object: Literal["chat.completion"] = "chat.completion"
    created: int
    model: str
    choices: list[Choice]
    usage: CompletionUsage | None = None
    system_fingerprint: None = None


class Delta(BaseModel):
    model_config = ConfigDict(extra="forbid")

    role: Literal["assistant"] | None = None
    content: str | None = None
    reasoning_content: str | None = None


class ChunkChoice(BaseModel):
    index: int = 0
    delta: Delta
    logprobs: None = None
    finish_reason: str | None = None

    @field_serializer("delta")
    def _only_set_fields(self, delta: Delta) -> dict[str, str]:
        # A delta names only what it carries: the first has the role, the last is empty (openai-python's ChoiceDelta).
        return delta.model_dump(exclude_none=True)


class ChatCompletionChunk(BaseModel):
    id: str
    object: Literal["chat.completion.chunk"] = "chat.completion.chunk"
    created: int
    model: str
    choices: list[ChunkChoice]
    # With include_usage every chunk carries `usage: null` except the last, which carries the totals.
    usage: CompletionUsage | None = None
    system_fingerprint: None = None


class ModelCard(BaseModel):
    id: str
    object: Literal["model"] = "model"
    created: int
    owned_by: str = "playground"


class ModelList(BaseModel):
    object: Literal["list"] = "list"
    data: list[ModelCard]


class ErrorBody(BaseModel):
    """OpenAI's error object: `{"error": {"message", "type", "param", "code"}}` (platform.openai.com/docs/guides/error-codes)."""

    message: str
    type: str
    param: str | None = None
    code: str | None = None


class ErrorResponse(BaseModel):
    error: ErrorBody
