"""Retrying a request the server turned away, in the open.

HTTP clients retry silently: openai's waits up to 120 s on a Retry-After while the pane shows
nothing. Here a backend retries itself, and before each wait yields a `Retrying` event that
the page shows live ("rate limited, retrying in 4 s"). The total wait is bounded, a Stop
ends the wait at once, and nothing is retried once the answer has begun.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from playground.backends.base import BackendEvent, ReasoningDelta, Retrying, StopSignal, TextDelta
from playground.errors import BackendError, BackendUnreachable, RateLimited, ServerError

# Backoff without a Retry-After: 0.5 s, 1 s, 2 s, ... capped (openai-python's own schedule, _base_client.py).
_FIRST_BACKOFF_S = 0.5
_MAX_BACKOFF_S = 8.0


@dataclass(frozen=True)
class RetryPolicy:
    max_retries: int
    max_wait_s: float


def _retryable(error: BackendError) -> bool:
    return isinstance(error, RateLimited | BackendUnreachable) or (
        isinstance(error, ServerError) and (error.http_status or 500) >= 500
    )


def _wait_for(error: BackendError, retry: int) -> float:
    if error.retry_after_s is not None:
        return error.retry_after_s
    return min(_FIRST_BACKOFF_S * 2**retry, _MAX_BACKOFF_S)


def retrying(
    attempt: Callable[[], Iterator[BackendEvent]], policy: RetryPolicy, stop: StopSignal
) -> Iterator[BackendEvent]:
    """The events of `attempt()`, run again after a retryable error that came before any answer text."""
    waited = 0.0
    retry = 0
    while True:
        answered = False
        try:
            events = attempt()
            for event in events:
                yield event
                kind = type(event)
                if (kind is TextDelta or kind is ReasoningDelta) and event.text:
                    answered = True
                    break
            # Past the first answer text nothing is retried: pass the rest through without a check.
            yield from events
            return
        except BackendError as error:
            if answered or not _retryable(error) or retry >= policy.max_retries:
                raise
            wait = _wait_for(error, retry)
            if waited + wait > policy.max_wait_s:
                raise type(error)(
                    f"{error.message} Not retried: waiting {wait:g} s more would pass this pane's limit of "
                    f"{policy.max_wait_s:g} s (max_retry_wait_s).",
                    http_status=error.http_status,
                    request_id=error.request_id,
                    retry_after_s=error.retry_after_s,
                ) from None
            retry += 1
            yield Retrying(attempt=retry, wait_s=wait, reason=error.message)
            if stop.wait(wait):
                return
            waited += wait
