"""Token counts of a run: the backend's own usage when it gave any, else a marked estimate."""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass

from playground.backends.base import Usage


@dataclass(frozen=True)
class TokenCounts:
    input: int | None = None
    output: int | None = None
    reasoning: int | None = None
    source: str | None = None
    note: str | None = None


def token_counts(
    usage: Usage | None,
    text: str,
    reasoning: str,
    streamed_chunks: int,
    counter: Callable[[str], tuple[int, str] | None] | None = None,
) -> TokenCounts:
    """Counts from the backend's usage when it gave any, else a marked estimate.

    The best estimate is the model's own tokenizer (`counter`, after the run's clock stopped).
    Without it, a streamed content chunk carries at least one token, so the chunk count bounds
    the estimate from below; text alone (~4 characters a token) undercounts random or code-like
    output by half, as llama.cpp's server showed against its own counts.
    """
    reasoning_estimate = estimate_tokens(reasoning) if reasoning else None
    if usage is not None and usage.output_tokens is not None:
        reasoning_tokens = usage.reasoning_tokens if usage.reasoning_tokens is not None else reasoning_estimate
        return TokenCounts(usage.input_tokens, usage.output_tokens, reasoning_tokens, usage.source, usage.note or None)
    if not text and not reasoning:
        return TokenCounts()
    counted = counter(text + reasoning) if counter is not None else None
    if counted is not None:
        return TokenCounts(None, counted[0], reasoning_estimate, "estimate", f"no usage reported; {counted[1]}")
    by_text = estimate_tokens(text + reasoning)
    if streamed_chunks > by_text:
        note = f"no usage reported; estimated as one token per streamed chunk ({streamed_chunks} chunks)"
        return TokenCounts(None, streamed_chunks, reasoning_estimate, "estimate", note)
    note = "no usage reported; estimated at ~4 characters per token (1 per CJK character)"
    return TokenCounts(None, by_text, reasoning_estimate, "estimate", note)


_TOKENISH = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]|[^\s\u3040-\u30ff\u3400-\u9fff\uac00-\ud7af]+")


def estimate_tokens(text: str) -> int:
    """Rough count for servers that report no usage: 1 per CJK character, ~4 chars otherwise."""
    return sum(1 if len(piece) == 1 else math.ceil(len(piece) / 4) for piece in _TOKENISH.findall(text))
