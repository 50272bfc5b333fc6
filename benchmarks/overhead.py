"""Overhead: tokens/s of the raw client stream vs the playground's wrapped stream.

A loopback server (own process) sends 5,000 chunks as fast as it can. Per client (openai,
ollama) four ways are timed, alternating their order per repeat: the raw client iterated
by hand; the "floor", that same loop reading the clock and keeping the text of each content
chunk (the least any per-chunk measurement must do); the backend inside the metrics wrapper;
and the full fan-out runner path the page and CLI use. Goal: wrapped ÷ raw ≥ 0.98.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import ollama
import openai

from benchmarks.common import alternating, machine, pane, parser, result, seconds_each, table
from playground.metrics import MeteredRun, RunLabels
from playground.runner import FanOutRunner, PaneJob
from playground.testing.loopback import Script, SubprocessServer

CHUNKS = 5000
# A fast real deployment streams on the order of a few thousand tokens per second.
REALISTIC_RATE = 2000
MESSAGES = [{"role": "user", "content": "go"}]


def raw_openai(client: openai.OpenAI) -> int:
    count = 0
    for chunk in client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            count += 1
    return count


def raw_ollama(client: ollama.Client) -> int:
    return sum(1 for chunk in client.chat(model="m", messages=MESSAGES, stream=True) if chunk.message.content)


def floor_openai(client: openai.OpenAI) -> int:
    clock, instants, texts = time.perf_counter, [], []
    for chunk in client.chat.completions.create(
        model="m", messages=MESSAGES, stream=True, stream_options={"include_usage": True}
    ):
        if chunk.choices and chunk.choices[0].delta.content:
            instants.append(clock())
            texts.append(chunk.choices[0].delta.content)
    return len(texts)


def floor_ollama(client: ollama.Client) -> int:
    clock, instants, texts = time.perf_counter, [], []
    for chunk in client.chat(model="m", messages=MESSAGES, stream=True):
        if chunk.message.content:
            instants.append(clock())
            texts.append(chunk.message.content)
    return len(texts)


def _ways(kind: str, url: str) -> dict[str, Callable[[], int]]:
    """The raw client, the floor, the backend in the metrics wrapper, and the runner path, for one server."""
    if kind == "openai":
        bench = pane(backend="openai", model="m", base_url=url + "/v1")
        openai_client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0)
        raw: Callable[[], int] = partial(raw_openai, openai_client)
        floor: Callable[[], int] = partial(floor_openai, openai_client)
    else:
        bench = pane(backend="ollama", model="m", host=url)
        ollama_client = ollama.Client(host=url)
        raw, floor = partial(raw_ollama, ollama_client), partial(floor_ollama, ollama_client)
    bench.backend.prepare()
    runner = FanOutRunner(None)

    def wrapped() -> int:
        return MeteredRun(bench.backend, bench.build_request("go"), RunLabels("b", "s", "p")).run().content_chunks

    def through_runner() -> int:
        return runner.run([PaneJob(bench, bench.build_request("go"))])[0].content_chunks

    return {"raw": raw, "floor": floor, "wrapped": wrapped, "runner": through_runner}


def rate(run: Callable[[], int]) -> float:
    return 1 / seconds_each(run, CHUNKS)


def _timed(kind: str, url: str, repeats: int) -> dict[str, float]:
    """Median chunks per second of each way against one server (warmed: the connection and imports)."""
    return alternating(_ways(kind, url), repeats, rate)


def _rows(kind: str, rates: dict[str, float]) -> list[list[object]]:
    rows: list[list[object]] = []
    for name in ("floor", "wrapped", "runner"):
        added_us = (1 / rates[name] - 1 / rates["raw"]) * 1e6
        at_realistic_rate = 1 - added_us * REALISTIC_RATE / 1e6
        ratios = [rates[name] / rates["raw"], rates[name] / rates["floor"]]
        rows.append([kind, name, rates["raw"], rates[name], *ratios, added_us, at_realistic_rate])
    return rows


def main() -> None:
    args = parser(__doc__.splitlines()[0], repeats=7).parse_args()
    repeats = 2 if args.quick else args.repeats
    script = {"m": Script(tokens=tuple(f"w{i} " for i in range(CHUNKS)))}
    rows = []
    for kind in ("openai", "ollama"):
        with SubprocessServer(kind, script) as server:
            rows += _rows(kind, _timed(kind, server.url, repeats))
    print(f"machine: {machine()}; {CHUNKS} chunks per run, medians of {repeats} repeats")
    print(
        f"ratio: ÷ raw; of_floor: ÷ floor; added_us: extra time per chunk over raw; ratio_at_{REALISTIC_RATE}: "
        f"the ratio that cost gives at {REALISTIC_RATE} chunks/s"
    )
    headers = ["client", "path", "raw_chunks_per_s", "path_chunks_per_s", "ratio", "of_floor", "added_us"]
    table([*headers, f"ratio_at_{REALISTIC_RATE}"], rows)
    result("overhead_ratio_worst", min(row[4] for row in rows if row[1] != "floor"), "x")


if __name__ == "__main__":
    main()
