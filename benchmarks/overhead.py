"""Overhead: tokens/s of the raw client stream vs the playground's wrapped stream.

A loopback server (own process) sends 5,000 chunks as fast as it can. Per client (openai,
ollama) three ways are timed, alternating their order per repeat: the raw client iterated
by hand; the backend inside the metrics wrapper; and the full fan-out runner path the page
and CLI use. Goal: wrapped ÷ raw ≥ 0.98.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from functools import partial

import ollama
import openai

from benchmarks.common import machine, median, pane, parser, result, table
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


def _ways(kind: str, url: str) -> dict[str, Callable[[], int]]:
    """The raw client, the backend in the metrics wrapper, and the runner path, for one server."""
    if kind == "openai":
        bench = pane(backend="openai", model="m", base_url=url + "/v1")
        openai_client = openai.OpenAI(base_url=url + "/v1", api_key="none", max_retries=0)
        raw: Callable[[], int] = partial(raw_openai, openai_client)
    else:
        bench = pane(backend="ollama", model="m", host=url)
        raw = partial(raw_ollama, ollama.Client(host=url))
    bench.backend.prepare()
    runner = FanOutRunner(None)

    def wrapped() -> int:
        return MeteredRun(bench.backend, bench.build_request("go"), RunLabels("b", "s", "p")).run().content_chunks

    def through_runner() -> int:
        return runner.run([PaneJob(bench, bench.build_request("go"))])[0].content_chunks

    return {"raw": raw, "wrapped": wrapped, "runner": through_runner}


def rate(run) -> float:
    started = time.perf_counter()
    count = run()
    elapsed = time.perf_counter() - started
    assert count == CHUNKS, count
    return count / elapsed


def main() -> None:
    args = parser(__doc__.splitlines()[0], repeats=7).parse_args()
    repeats = 2 if args.quick else args.repeats
    script = {"m": Script(tokens=tuple(f"w{i} " for i in range(CHUNKS)))}
    rows, worst = [], float("inf")
    for kind in ("openai", "ollama"):
        with SubprocessServer(kind, script) as server:
            ways = _ways(kind, server.url)
            rates: dict[str, list[float]] = {name: [] for name in ways}
            for way in ways.values():
                way()  # warm the connection and imports
            for repeat in range(repeats):
                names = list(ways) if repeat % 2 == 0 else list(ways)[::-1]
                for name in names:
                    rates[name].append(rate(ways[name]))
            raw_rate = median(rates["raw"])
            for name in ("wrapped", "runner"):
                ratio = median(rates[name]) / raw_rate
                worst = min(worst, ratio)
                added_us = (1 / median(rates[name]) - 1 / raw_rate) * 1e6
                rows.append([kind, name, raw_rate, median(rates[name]), ratio, added_us, 1 - added_us * REALISTIC_RATE / 1e6])
    print(f"machine: {machine()}; {CHUNKS} chunks per run, medians of {repeats} repeats")
    print(f"added_us: extra time per chunk; ratio_at_{REALISTIC_RATE}: the ratio that cost gives at {REALISTIC_RATE} chunks/s")
    table(["client", "path", "raw_chunks_per_s", "path_chunks_per_s", "ratio", "added_us", f"ratio_at_{REALISTIC_RATE}"], rows)
    result("overhead_ratio_worst", worst, "x")


if __name__ == "__main__":
    main()
