"""Split `<think>…</think>` blocks out of streamed text (DeepSeek-R1 distills, Qwen3).

Tags may be cut across chunks, so the splitter holds back a possible tag prefix until
the next chunk decides it.
"""

from __future__ import annotations

from collections.abc import Iterator

from playground.backends.base import AnswerWasReasoning, ReasoningDelta, TextDelta

OPEN_TAG = "<think>"
CLOSE_TAG = "</think>"
SplitEvent = TextDelta | ReasoningDelta | AnswerWasReasoning


class ThinkSplitter:
    """Feed text chunks; get answer and reasoning deltas back.

    `starts_in_reasoning` is for chat templates that open the `<think>` block in the
    prompt itself, so the output begins inside it. When the caller cannot know that (a
    remote server applies the template), a `</think>` before any `<think>` tells it
    afterwards: the text so far was reasoning (QwQ, R1 distills, Qwen3-Thinking templates),
    and an `AnswerWasReasoning` event says so. A caller that rendered the prompt itself knows
    and passes `prompt_known=True`: then a lone `</think>` is just text.
    """

    def __init__(self, starts_in_reasoning: bool = False, prompt_known: bool = False) -> None:
        self._in_reasoning = starts_in_reasoning
        # Until a tag is seen, a lone closing tag may still turn up.
        self._lone_close_possible = not starts_in_reasoning and not prompt_known
        self._pending = ""

    def feed(self, chunk: str) -> list[SplitEvent]:
        """The deltas `chunk` completes (a list: this runs once per streamed chunk)."""
        if not self._pending and "<" not in chunk:
            # No tag can start here: the common case, kept cheap.
            if not chunk:
                return []
            return [ReasoningDelta(chunk) if self._in_reasoning else TextDelta(chunk)]
        return list(self._feed_slow(chunk))

    def _feed_slow(self, chunk: str) -> Iterator[SplitEvent]:
        text = self._pending + chunk
        self._pending = ""
        while text:
            tags = self._tags_now()
            found = [(text.find(tag), tag) for tag in tags if tag in text]
            if found:
                index, tag = min(found)
                if tag == CLOSE_TAG and not self._in_reasoning:
                    yield AnswerWasReasoning()
                    yield from self._emit_as(text[:index], reasoning=True)
                else:
                    yield from self._emit(text[:index])
                    self._in_reasoning = not self._in_reasoning
                self._lone_close_possible = False
                text = text[index + len(tag) :]
                continue
            keep = max(_partial_tag_suffix(text, tag) for tag in tags)
            yield from self._emit(text[: len(text) - keep])
            self._pending = text[len(text) - keep :]
            return

    def _tags_now(self) -> tuple[str, ...]:
        if self._in_reasoning:
            return (CLOSE_TAG,)
        return (OPEN_TAG, CLOSE_TAG) if self._lone_close_possible else (OPEN_TAG,)

    def flush(self) -> Iterator[SplitEvent]:
        pending, self._pending = self._pending, ""
        yield from self._emit(pending)

    def _emit(self, text: str) -> Iterator[SplitEvent]:
        yield from self._emit_as(text, reasoning=self._in_reasoning)

    @staticmethod
    def _emit_as(text: str, reasoning: bool) -> Iterator[SplitEvent]:
        if text:
            yield ReasoningDelta(text) if reasoning else TextDelta(text)


def _partial_tag_suffix(text: str, tag: str) -> int:
    """Length of the longest end of `text` that is a beginning of `tag`."""
    for size in range(min(len(tag) - 1, len(text)), 0, -1):
        if tag.startswith(text[-size:]):
            return size
    return 0


def split_complete(text: str, starts_in_reasoning: bool = False, prompt_known: bool = False) -> tuple[str, str]:
    """Split a complete response into (answer, reasoning)."""
    splitter = ThinkSplitter(starts_in_reasoning, prompt_known)
    answer: list[str] = []
    reasoning: list[str] = []
    for event in [*splitter.feed(text), *splitter.flush()]:
        if isinstance(event, AnswerWasReasoning):
            reasoning[:0], answer[:] = answer, []
        else:
            (reasoning if isinstance(event, ReasoningDelta) else answer).append(event.text)
    return "".join(answer), "".join(reasoning)
