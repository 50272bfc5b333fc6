"""What each OpenAI-compatible server reads, and under which names.

A preset maps the pane's generation parameters to the request a server actually reads: the
standard body fields, the server's own extra fields (sent through `extra_body`), and how its
thinking switch is spelled. A parameter a server does not read is never sent: it is reported
in `ignored_params`, so a run never claims a setting that had no effect.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from playground.backends.base import ChatRequest, GenerationParams, Thinking

PresetName = Literal[
    "openai", "deepseek", "dashscope", "dashscope-intl", "vllm", "llamacpp", "transformers-serve", "playground", "custom"
]
# Where a parameter goes: a standard body field, or the server's own field in `extra_body`.
Place = Literal["body", "extra"]
STANDARD: dict[str, tuple[str, Place]] = {
    "temperature": ("temperature", "body"),
    "top_p": ("top_p", "body"),
    "max_tokens": ("max_tokens", "body"),
    "seed": ("seed", "body"),
}


@dataclass(frozen=True)
class WireRequest:
    """The parameters of one request, split by where they go, and those left out."""

    body: dict[str, Any] = field(default_factory=dict)
    extra_body: dict[str, Any] = field(default_factory=dict)
    ignored: tuple[str, ...] = ()

    def sent(self) -> dict[str, Any]:
        return {**self.body, **self.extra_body}


# (the pane's thinking setting, streaming?, model) → extra body fields; None: not supported this time.
ThinkingRule = Callable[[Thinking | None, bool, str], dict[str, Any] | None]


@dataclass(frozen=True)
class Preset:
    base_url: str
    api_key_env: str | None
    # Pane parameter → (the server's name for it, where it goes). Absent: the server does not read it.
    params: Mapping[str, tuple[str, Place]] = field(default_factory=lambda: dict(STANDARD))
    # Extra body fields for the pane's thinking switch; None from the rule: not supported this time.
    thinking: ThinkingRule | None = None
    # Parameters a model refuses or ignores, by model name (OpenAI reasoning models, DeepSeek thinking).
    model_rules: Callable[[str, GenerationParams], frozenset[str]] = lambda model, params: frozenset()
    # Said in a 401 message: where keys for this endpoint come from.
    key_hint: str = ""
    # Said when the server does not know the model.
    model_hint: str = ""
    # The server publishes per-request histograms at this path of its root URL (vLLM's Prometheus /metrics).
    metrics_path: str | None = None
    # The server has a tokenize endpoint (llama.cpp): used to count an answer when no usage comes.
    tokenize: bool = False


def _deepseek_thinking(thinking: Thinking | None, stream: bool, model: str) -> dict[str, Any] | None:
    # DeepSeek: `thinking: {"type": "enabled" | "disabled"}` in the body, and `reasoning_effort` low/high/max
    # where medium counts as high (api-docs.deepseek.com/guides/thinking_mode).
    if thinking is None:
        return {}
    if thinking == "off":
        return {"thinking": {"type": "disabled"}}
    effort = {"low": "low", "medium": "high", "high": "high"}.get(thinking)
    return {"thinking": {"type": "enabled"}} | ({"reasoning_effort": effort} if effort else {})


def _dashscope_thinking(thinking: Thinking | None, stream: bool, model: str) -> dict[str, Any] | None:
    # DashScope: `enable_thinking` via extra_body; thinking output is stream-only, and open-source Qwen3
    # answers 400 "parameter.enable_thinking must be set to false for non-streaming calls" otherwise
    # (help.aliyun.com/zh/model-studio/deep-thinking).
    if not stream:
        return {"enable_thinking": False} if thinking in (None, "off") else None
    return {} if thinking is None else {"enable_thinking": thinking != "off"}


def _template_thinking(thinking: Thinking | None, stream: bool, model: str) -> dict[str, Any] | None:
    # vLLM passes `chat_template_kwargs` to the chat template; Qwen3-style templates read `enable_thinking`
    # (docs.vllm.ai, "Reasoning Outputs").
    if thinking is None:
        return {}
    return {"chat_template_kwargs": {"enable_thinking": thinking != "off"}}


_OPENAI_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)(?!.*-chat)")
# gpt-5.1 and later take reasoning_effort "none" (and then accept temperature and top_p again).
_OPENAI_EFFORT_NONE = re.compile(r"^gpt-5\.\d")


def _openai_thinking(thinking: Thinking | None, stream: bool, model: str) -> dict[str, Any] | None:
    # OpenAI reasoning models: `reasoning_effort` (platform.openai.com/docs/guides/reasoning; openai-python's
    # ReasoningEffort type). "on" keeps the model's default effort.
    if thinking in (None, "on"):
        return {}
    if not _OPENAI_REASONING_MODEL.match(model):
        return None  # a chat model answers 400 to reasoning_effort
    if thinking == "off":
        return {"reasoning_effort": "none"} if _OPENAI_EFFORT_NONE.match(model) else None
    return {"reasoning_effort": thinking}


def _openai_model_rules(model: str, params: GenerationParams) -> frozenset[str]:
    # Reasoning models answer 400 "unsupported_value" to a non-default temperature or top_p (OpenAI reasoning guide),
    # except gpt-5.1 and later with reasoning_effort "none".
    if params.thinking == "off" and _OPENAI_EFFORT_NONE.match(model):
        return frozenset()
    if _OPENAI_REASONING_MODEL.match(model):
        return frozenset({"temperature", "top_p"})
    return frozenset()


def _deepseek_model_rules(model: str, params: GenerationParams) -> frozenset[str]:
    # Current DeepSeek models think unless told not to; in thinking mode temperature and top_p
    # "will not trigger an error but will also have no effect" (api-docs.deepseek.com, reasoning guide).
    if params.thinking == "off":
        return frozenset()
    return frozenset({"temperature", "top_p"})


_OPENAI_PARAMS = {**STANDARD, "max_tokens": ("max_completion_tokens", "body")}
_DEEPSEEK_PARAMS = {k: v for k, v in STANDARD.items() if k != "seed"}
_DASHSCOPE_PARAMS = {**STANDARD, "top_k": ("top_k", "extra"), "repetition_penalty": ("repetition_penalty", "extra")}
_VLLM_PARAMS = {
    **STANDARD,
    "top_k": ("top_k", "extra"),
    "min_p": ("min_p", "extra"),
    "repetition_penalty": ("repetition_penalty", "extra"),
}
# llama.cpp's servers read `repeat_penalty`, not `repetition_penalty` (tools/server/README.md;
# llama_cpp/server/types.py in llama-cpp-python).
_LLAMACPP_PARAMS = {
    **STANDARD,
    "top_k": ("top_k", "extra"),
    "min_p": ("min_p", "extra"),
    "repetition_penalty": ("repeat_penalty", "extra"),
}
# Keys belong to one region; a key from another region's console is refused with 401
# (alibabacloud.com/help/en/model-studio/base-url lists Beijing, Singapore, Virginia and Hong Kong endpoints).
_DASHSCOPE_KEYS = "keys belong to one region: a key from the international (Singapore) console needs preset dashscope-intl"
_DASHSCOPE_INTL_KEYS = "keys belong to one region: a key from the China (Beijing) console needs preset dashscope"

PRESETS: dict[str, Preset] = {
    "openai": Preset(
        "https://api.openai.com/v1",
        "OPENAI_API_KEY",
        _OPENAI_PARAMS,
        thinking=_openai_thinking,
        model_rules=_openai_model_rules,
    ),
    "deepseek": Preset(
        "https://api.deepseek.com",
        "DEEPSEEK_API_KEY",
        _DEEPSEEK_PARAMS,
        thinking=_deepseek_thinking,
        model_rules=_deepseek_model_rules,
        # api-docs.deepseek.com/updates (2026-04-24): the old names stopped working on 2026-07-24.
        model_hint="current models are deepseek-flash and deepseek-v4-pro (deepseek-chat and deepseek-reasoner "
        "were retired on 2026-07-24)",
    ),
    "dashscope": Preset(
        "https://dashscope.aliyuncs.com/compatible-mode/v1",
        "DASHSCOPE_API_KEY",
        _DASHSCOPE_PARAMS,
        thinking=_dashscope_thinking,
        key_hint=_DASHSCOPE_KEYS,
    ),
    "dashscope-intl": Preset(
        "https://dashscope-intl.aliyuncs.com/compatible-mode/v1",
        "DASHSCOPE_API_KEY",
        _DASHSCOPE_PARAMS,
        thinking=_dashscope_thinking,
        key_hint=_DASHSCOPE_INTL_KEYS,
    ),
    "vllm": Preset("http://127.0.0.1:8000/v1", None, _VLLM_PARAMS, thinking=_template_thinking, metrics_path="/metrics"),
    "llamacpp": Preset("http://127.0.0.1:8080/v1", None, _LLAMACPP_PARAMS, tokenize=True),
    # transformers serve answers 422 to top-level top_k / repetition_penalty.
    "transformers-serve": Preset("http://127.0.0.1:8000/v1", None),
    # This playground's own `serve` (playground/api): it reads the extras and the thinking switch under vLLM's
    # names. It asks for no key unless started with --api-key-env; name that variable
    # with api_key_env then.
    "playground": Preset("http://127.0.0.1:8000/v1", None, _VLLM_PARAMS, thinking=_template_thinking),
    "custom": Preset("", None),
}


# Body fields the thinking rules send, named by the pane setting they come from.
_THINKING_FIELDS = ("thinking", "reasoning_effort", "enable_thinking", "chat_template_kwargs")


def pane_name_of(preset: Preset, wire_name: str) -> str:
    """The pane setting behind a field the server names (`repeat_penalty` → `repetition_penalty`)."""
    if wire_name in _THINKING_FIELDS:
        return "thinking"
    if wire_name == "max_completion_tokens":
        return "max_tokens"
    return next((name for name, (wire, _) in preset.params.items() if wire == wire_name), wire_name)


def wire_request(preset: Preset, model: str, request: ChatRequest) -> WireRequest:
    """The body and extra_body fields for `request` on this server, and what it leaves out."""
    params = request.params
    refused = preset.model_rules(model, params)
    body: dict[str, Any] = {}
    extra: dict[str, Any] = {}
    ignored: list[str] = []
    for name, value in params.set_values().items():
        if name == "thinking":
            continue
        target = preset.params.get(name)
        if target is None or name in refused:
            ignored.append(name)
            continue
        wire_name, place = target
        (body if place == "body" else extra)[wire_name] = value
    thinking = preset.thinking(params.thinking, request.stream, model) if preset.thinking is not None else None
    if thinking is not None:
        extra.update(thinking)
    elif params.thinking is not None:
        ignored.append("thinking")
    return WireRequest(body=body, extra_body=extra, ignored=tuple(ignored))
