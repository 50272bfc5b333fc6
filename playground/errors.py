"""One exception family. Backends convert their client's errors into these at their edge.

Every message is written for the person at the keyboard: what failed, where, and what to
do about it. `error_type` is the short stable name stored in the run log.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable


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
    """A backend could not produce an answer."""

    error_type = "backend"


class BackendUnreachable(BackendError):
    error_type = "unreachable"


class MissingApiKey(BackendError):
    error_type = "missing_key"


class AuthenticationFailed(BackendError):
    error_type = "auth"


class RateLimited(BackendError):
    error_type = "rate_limit"

    def __init__(self, message: str, retry_after_s: float | None = None) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class BackendTimeout(BackendError):
    error_type = "timeout"


class MalformedResponse(BackendError):
    error_type = "malformed"


class ModelNotFound(BackendError):
    error_type = "model_not_found"


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
