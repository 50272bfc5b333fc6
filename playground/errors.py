"""One exception family. Backends convert their client's errors into these at their edge.

Every message is written for the person at the keyboard: what failed, where, and what to
do about it. `error_type` is the short stable name stored in the run log.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import re
from collections.abc import Callable, Iterable, Mapping


class PlaygroundError(Exception):
    """Base of every error the playground shows to a user."""

    error_type = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def __str__(self) -> str:
        return self.message


class ConfigError(PlaygroundError):
    error_type = "config"


class InputError(PlaygroundError):
    """Bad user input, such as an empty prompt."""

    error_type = "input"


class BackendError(PlaygroundError):
    """A backend could not produce an answer.

    Like openai's `APIStatusError`, an error that came with an HTTP answer carries its status,
    the server's request id and how long the server asked the client to wait.
    """

    error_type = "backend"

    def __init__(
        self,
        message: str,
        http_status: int | None = None,
        request_id: str | None = None,
        retry_after_s: float | None = None,
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.request_id = request_id
        self.retry_after_s = retry_after_s


class BackendUnreachable(BackendError):
    error_type = "unreachable"


class MissingApiKey(BackendError):
    error_type = "missing_key"


class AuthenticationFailed(BackendError):
    error_type = "auth"


class RateLimited(BackendError):
    error_type = "rate_limit"


class BackendTimeout(BackendError):
    error_type = "timeout"


class MalformedResponse(BackendError):
    error_type = "malformed"


class ModelNotFound(BackendError):
    error_type = "model_not_found"


class EndpointNotFound(BackendError):
    """A 404 for the path itself (a base_url without /v1, say), not for the model."""

    error_type = "bad_url"


class UnsupportedParameter(BackendError):
    """The server refused a generation parameter by name."""

    error_type = "unsupported_param"


class StreamTruncated(BackendError):
    """The server ended a stream without saying why (no finish reason, no final object)."""

    error_type = "truncated"


class ConnectionLost(BackendError):
    """The connection broke after the answer had begun: the server was reachable."""

    error_type = "connection_lost"


class GenerationFailed(BackendError):
    """The server accepted the request, then reported a failure inside the stream (OOM, crashed runner)."""

    error_type = "generation_failed"


class ReasoningExhausted(BackendError):
    """The whole token budget went to reasoning: the answer is empty."""

    error_type = "reasoning_only"


class InvalidRequest(BackendError):
    error_type = "bad_request"


class ServerError(BackendError):
    error_type = "server"


class EmptyAnswer(BackendError):
    """The backend answered, but with no text at all."""

    error_type = "empty_answer"


class ModelLoadError(BackendError):
    """A local model exists but could not be loaded (bad dtype, out of memory, ...)."""

    error_type = "model_load"


# Failures that more requests, or more at once, cannot fix: the same one would end every run that follows.
LASTING_ERROR_TYPES = frozenset(
    error.error_type
    for error in (BackendUnreachable, MissingApiKey, AuthenticationFailed, ModelNotFound, EndpointNotFound, ModelLoadError)
)


def parse_retry_after(headers: Mapping[str, str] | None, now: dt.datetime | None = None) -> float | None:
    """Seconds the server asks to wait, from `retry-after-ms`, or `retry-after` in seconds or as an HTTP date.

    The same three forms, in the same order, as openai-python's `_parse_retry_after_header`
    (openai/_base_client.py): the non-standard millisecond header first, then RFC 9110's two forms.
    """
    if not headers:
        return None
    milliseconds = headers.get("retry-after-ms")
    if milliseconds is not None:
        try:
            return max(float(milliseconds) / 1000, 0.0)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.UTC)
    return max((when - (now or dt.datetime.now(dt.UTC))).total_seconds(), 0.0)


_SECRET_PATTERNS = (
    re.compile(r"\bsk-[A-Za-z0-9_\-]{8,}"),
    re.compile(r"(?i)\bbearer\s+[A-Za-z0-9._\-]{8,}"),
)
REDACTED = "[redacted]"


def redact(text: str, secrets: Iterable[str] = ()) -> str:
    """Remove known secret values and anything shaped like an API key from `text`."""
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    for pattern in _SECRET_PATTERNS:
        text = pattern.sub(REDACTED, text)
    return text


class converted_errors:
    """Context manager for a backend's edge: re-raise a client's exception as the playground's.

    `convert` returns the playground error for an exception, or None for one it does not know
    (which then propagates unchanged and is logged as an internal error by the metrics wrapper).
    """

    def __init__(self, convert: Callable[[BaseException], BackendError | None]) -> None:
        self._convert = convert

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: object, exc: BaseException | None, tb: object) -> bool:
        if exc is None or isinstance(exc, BackendError | GeneratorExit):
            return False
        converted = self._convert(exc)
        if converted is None:
            return False
        raise converted from None
