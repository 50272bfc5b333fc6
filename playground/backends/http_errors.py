"""One map from an HTTP error answer to the playground's error, shared by the HTTP backends.

Each backend reads its client's exception into an `HttpFailure` (status, the server's own
words, headers) and adds only what it knows better (Ollama's `ollama pull`, a key variable).
The status, request id and Retry-After travel with the error, as in openai's `APIStatusError`.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from playground.errors import (
    AuthenticationFailed,
    BackendError,
    EndpointNotFound,
    InvalidRequest,
    ModelNotFound,
    RateLimited,
    ServerError,
    UnsupportedParameter,
    parse_retry_after,
)

# Servers spell a rejected parameter in these ways:
# OpenAI: {"error": {"param": "max_tokens", "code": "unsupported_parameter", "message": "Unsupported parameter: ..."}}
#   (platform.openai.com/docs/guides/error-codes; reasoning-model guide);
# FastAPI/pydantic servers (transformers serve): 422 {"detail": [{"loc": ["body", "top_k"], "type": "extra_forbidden"}]};
# DashScope: "parameter.enable_thinking must be set to false for non-streaming calls".
_PARAMETER_WORDS = re.compile(
    r"(?i)unsupported (?:parameter|value)|not supported with this model|extra inputs are not permitted|"
    r"unrecognized request argument|must be set to false for non-streaming"
)
_QUOTED_NAME = re.compile(r"['`\"]([a-z_][a-z0-9_.]*)['`\"]")
_KNOWN_PARAMETERS = re.compile(
    r"\b(max_completion_tokens|max_tokens|temperature|top_p|top_k|min_p|seed|repetition_penalty|repeat_penalty|"
    r"enable_thinking|reasoning_effort|thinking|chat_template_kwargs|stream_options)\b"
)
# How servers say the prompt is over the context: OpenAI and llama-cpp-python, code context_length_exceeded
# ("maximum context length"); llama.cpp's llama-server, type exceed_context_size_error ("exceeds the available
# context size"); vLLM's wording.
_CONTEXT_WORDS = re.compile(
    r"(?i)context_length_exceeded|exceed_context_size|maximum context length|exceeds the available context|"
    r"context window|too many tokens"
)
# How servers say "no such model" in a 400 or 404 body (DeepSeek: 400 "Model Not Exist";
# OpenAI and vLLM: "The model `x` does not exist"; Ollama: "model 'x' not found").
_MODEL_WORDS = re.compile(r"(?i)model[^.]*(not exist|does not exist|not found|unknown)|model_not_found|no such model")


@dataclass(frozen=True)
class HttpFailure:
    """An HTTP error answer as a backend saw it."""

    status: int
    server: str
    model: str
    detail: str = ""
    body: Any = None
    headers: Mapping[str, str] = field(default_factory=dict)
    # What to do about a 401/403 on this backend ("check DEEPSEEK_API_KEY").
    auth_fix: str = "check the key"
    # What to do about an unknown model on this backend ("run `ollama pull m`").
    model_fix: str = ""
    # Said for a 404 that is about the path, not the model.
    path_fix: str = "check base_url: OpenAI-compatible servers usually want it to end in /v1"
    # The pane setting behind a field the server names (the fix names what the person can change).
    pane_name: Callable[[str], str] = lambda wire_name: wire_name

    def status_text(self) -> str:
        return f"{self.status} from {self.server}"


def error_for_status(failure: HttpFailure) -> BackendError:
    """The playground error for an HTTP error answer."""
    extra = {
        "http_status": failure.status,
        "request_id": _request_id(failure.headers),
        "retry_after_s": parse_retry_after(failure.headers),
    }
    status, where, detail = failure.status, failure.status_text(), failure.detail
    said = f" (server: {detail})" if detail else ""
    if status in (400, 404) and _names_the_model(failure):
        fix = f" — {failure.model_fix}" if failure.model_fix else ""
        return ModelNotFound(f"{where} — model {failure.model!r} not found there{fix}.{said}", **extra)
    if status == 404:
        return EndpointNotFound(f"{where} — nothing at that path: {failure.path_fix}.{said}", **extra)
    kind = f"{_error_field(failure.body, 'code')} {_error_field(failure.body, 'type')} {detail}"
    if status in (400, 413) and _CONTEXT_WORDS.search(kind):
        return InvalidRequest(
            f"{where} — the conversation is longer than model {failure.model!r} can take: shorten it, Clear, "
            f"or lower max_tokens.{said}",
            **extra,
        )
    if status in (400, 422) and (parameter := rejected_parameter(failure)):
        setting = failure.pane_name(parameter)
        return UnsupportedParameter(
            f"{where} — the server does not accept the parameter {parameter!r} for model {failure.model!r}. "
            f"Fix: clear {setting} in the pane's settings (or in the config's params).{said}",
            **extra,
        )
    if status in (401, 403):
        what = "the key was refused" if status == 401 else f"the key may not use model {failure.model!r}"
        return AuthenticationFailed(f"{where} — {what}: {failure.auth_fix}.{said}", **extra)
    if status == 429:
        wait = f"; retry after {extra['retry_after_s']:g} s" if extra["retry_after_s"] is not None else ""
        return RateLimited(f"{where} — rate limit or quota reached{wait}.{said}", **extra)
    if status == 503:
        return ServerError(f"{where} — the server is busy or unavailable; try again shortly.{said}", **extra)
    if status >= 500:
        return ServerError(f"{where} — server error.{said}", **extra)
    return InvalidRequest(f"{where} — the server refused the request.{said}", **extra)


def _names_the_model(failure: HttpFailure) -> bool:
    detail = failure.detail
    if failure.model and failure.model in detail and _MODEL_WORDS.search(detail):
        return True
    code = _error_field(failure.body, "code")
    return code == "model_not_found" or bool(re.search(r"(?i)model not exist", detail))


def rejected_parameter(failure: HttpFailure) -> str | None:
    """The parameter a 400/422 answer refuses, when the server names one.

    OpenAI-style bodies name a `param` for many errors (a too-long conversation names "messages"):
    only an "unsupported" code or wording makes it a refused parameter.
    """
    param = _error_field(failure.body, "param")
    code = str(_error_field(failure.body, "code") or "")
    if isinstance(param, str) and param and (code.startswith("unsupported") or _PARAMETER_WORDS.search(failure.detail)):
        return param
    for problem in _validation_problems(failure.body):
        location = problem.get("loc") or []
        if problem.get("type") == "extra_forbidden" and location:
            return str(location[-1])
    detail = failure.detail
    if not _PARAMETER_WORDS.search(detail):
        return None
    known = _KNOWN_PARAMETERS.search(detail)
    if known:
        return known.group(1)
    quoted = _QUOTED_NAME.search(detail)
    return quoted.group(1) if quoted else None


def _error_field(body: Any, name: str) -> Any:
    if isinstance(body, dict):
        inner = body.get("error") if isinstance(body.get("error"), dict) else body
        return inner.get(name)
    return None


def _validation_problems(body: Any) -> list[dict[str, Any]]:
    detail = body.get("detail") if isinstance(body, dict) else None
    return [p for p in detail if isinstance(p, dict)] if isinstance(detail, list) else []


def server_detail(body: Any, fallback: str = "") -> str:
    """The server's own words from an error body, shortened for a pane."""
    message: Any = None
    if isinstance(body, dict):
        message = body.get("message") or body.get("error") or body.get("detail")
        if isinstance(message, dict):
            message = message.get("message")
        elif isinstance(message, list):
            message = "; ".join(str(p.get("msg", p)) if isinstance(p, dict) else str(p) for p in message)
    elif isinstance(body, str):
        message = body
    return str(message or fallback or "")[:300]


def _request_id(headers: Mapping[str, str]) -> str | None:
    for name in ("x-request-id", "request-id", "x-ds-trace-id", "x-acs-request-id"):
        value = headers.get(name) if headers else None
        if value:
            return value
    return None
