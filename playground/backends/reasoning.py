"""Split `<think>…</think>` blocks out of streamed text (DeepSeek-R1 distills, Qwen3).

Tags may be cut across chunks, so the splitter holds back a possible tag prefix until
the next chunk decides it.
"""

from __future__ import annotations

from collections.abc import Iterator

from playground.backends.base import ReasoningDelta, TextDelta

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"


class ThinkSplitter:
    """Feed text chunks; get answer and reasoning deltas back.

    `starts_in_reasoning` is for chat templates that open the `<think>` block in the
    prompt itself, so the output begins inside it.
    """

    def __init__(self, starts_in_reasoning: bool = False) -> None:
        self._in_reasoning = starts_in_reasoning
        self._pending = ""

    def feed(self, chunk: str) -> list[TextDelta | ReasoningDelta]:
        """The deltas `chunk` completes (a list: this runs once per streamed chunk)."""
        if not self._pending and "<" not in chunk:
            # No tag can start here: the common case, kept cheap.
            if not chunk:
                return []
            return [ReasoningDelta(chunk) if self._in_reasoning else TextDelta(chunk)]
        return list(self._feed_slow(chunk))

    def _feed_slow(self, chunk: str) -> Iterator[TextDelta | ReasoningDelta]:
        text = self._pending + chunk
        self._pending = ""
        while text:
            tag = CLOSE_TAG if self._in_reasoning else OPEN_TAG
            index = text.find(tag)
            if index >= 0:
                yield from self._emit(text[:index])
                self._in_reasoning = not self._in_reasoning
                text = text[index + len(tag) :]
                continue
            keep = _partial_tag_suffix(text, tag)
            yield from self._emit(text[: len(text) - keep])
            self._pending = text[len(text) - keep :]
            return

    def flush(self) -> Iterator[TextDelta | ReasoningDelta]:
        pending, self._pending = self._pending, ""
        yield from self._emit(pending)

    def _emit(self, text: str) -> Iterator[TextDelta | ReasoningDelta]:
        if text:
            yield ReasoningDelta(text) if self._in_reasoning else TextDelta(text)


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a beginning of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def split_complete(text: str, starts_in_reasoning: bool = False) -> tuple[str, str]:
    """Split a complete response into (answer, reasoning)."""
    splitter = ThinkSplitter(starts_in_reasoning)
    answer: list[str] = []
    reasoning: list[str] = []
    for event in [*splitter.feed(text), *splitter.flush()]:
        (reasoning if isinstance(event, ReasoningDelta) else answer).append(event.text)
    return "".join(answer), "".join(reasoning)
