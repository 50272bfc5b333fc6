"""Own cost: the playground's time per chunk without a server, from pre-parsed chunks.

Each backend's client is handed a list of chunks already parsed by the client library
(openai `ChatCompletionChunk`, ollama `ChatResponse`), so no socket or parsing is timed; the
backend inside the metrics wrapper is timed against a bare loop over the same list,
alternating per repeat. Live (benchmarks/overhead.py) the same code costs several times this, as it
shares the processor's caches with the client's parsing (benchmarks/RESULTS.md, row 3b).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from typing import Any

import ollama
from openai.types.chat import ChatCompletionChunk

from benchmarks.common import alternating, machine, pane, parser, result, seconds_each, table
from playground.metrics import MeteredRun, RunLabels
from playground.panes import Pane

CHUNKS = 20_000


class _Listed:
    """What the clients' streaming calls return, played from a list: an iterator, closable, a context."""

    def __init__(self, items: Sequence[Any]) -> None:
        self._items = iter(items)

    def __iter__(self) -> Iterator[Any]:
        return self._items

    def __next__(self) -> Any:
        return next(self._items)

    def __enter__(self) -> _Listed:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def close(self) -> None:
        return None


def _openai_chunk(content: str | None, finish: str | None = None, usage: dict | None = None) -> ChatCompletionChunk:
    choices = [] if usage else [{"index": 0, "delta": {"content": content}, "finish_reason": finish}]
    payload: dict[str, Any] = {"id": "c", "object": "chat.completion.chunk", "created": 0, "model": "m", "choices": choices}
    if usage:
        payload["usage"] = usage
    return ChatCompletionChunk.model_validate(payload)


def openai_pane() -> tuple[Pane, Callable[[], int]]:
    usage = {"prompt_tokens": 1, "completion_tokens": CHUNKS, "total_tokens": CHUNKS + 1}
    chunks = [_openai_chunk(""), *(_openai_chunk(f"w{i} ") for i in range(CHUNKS))]
    chunks += [_openai_chunk(None, "stop"), _openai_chunk(None, usage=usage)]
    bench = pane(backend="openai", model="m", base_url="http://127.0.0.1:9/v1")
    bench.backend.prepare()
    bench.backend._get_client().chat.completions.create = lambda **_: _Listed(chunks)

    def bare() -> int:
        return sum(1 for chunk in _Listed(chunks) if chunk.choices and chunk.choices[0].delta.content)

    return bench, bare


def ollama_pane() -> tuple[Pane, Callable[[], int]]:
    message = {"role": "assistant", "content": ""}
    chunks = [ollama.ChatResponse(model="m", message={**message, "content": f"w{i} "}, done=False) for i in range(CHUNKS)]
    chunks.append(
        ollama.ChatResponse(model="m", message=message, done=True, done_reason="stop", prompt_eval_count=1, eval_count=CHUNKS)
    )
    bench = pane(backend="ollama", model="m", host="http://127.0.0.1:9")
    bench.backend.prepare()
    bench.backend._get_client().chat = lambda **_: _Listed(chunks)

    def bare() -> int:
        return sum(1 for chunk in _Listed(chunks) if chunk.message.content)

    return bench, bare


def _per_chunk_us(run: Callable[[], int]) -> float:
    return seconds_each(run, CHUNKS) * 1e6


def main() -> None:
    args = parser(__doc__.splitlines()[0], repeats=11).parse_args()
    repeats = 3 if args.quick else args.repeats
    rows = []
    for kind, make in (("openai", openai_pane), ("ollama", ollama_pane)):
        bench, bare = make()

        def wrapped(bench: Pane = bench) -> int:
            return MeteredRun(bench.backend, bench.build_request("go"), RunLabels("b", "s", "p")).run().content_chunks

        per_chunk_us = alternating({"bare": bare, "wrapped": wrapped}, repeats, _per_chunk_us)
        bare_us, wrapped_us = per_chunk_us["bare"], per_chunk_us["wrapped"]
        rows.append([kind, bare_us, wrapped_us, wrapped_us - bare_us])
    print(f"machine: {machine()}; {CHUNKS} pre-parsed chunks per run, medians of {repeats} repeats; µs per chunk")
    table(["client", "bare_loop_us", "wrapped_us", "own_cost_us"], rows)
    result("own_cost_us_worst", max(row[3] for row in rows), "us")


if __name__ == "__main__":
    main()
