"""Served API: TTFT of the tiny model through `serve` (an `openai` pane, preset playground) vs a direct local pane.

One process: the tiny random-weight model loaded once and shared by both paths (one model cache and
lock, as in `serve`), the API under uvicorn in a thread on 127.0.0.1, both panes run through the fan-out
runner and measured by the metrics wrapper, streaming, greedy, a fixed number of new tokens. The two
paths alternate order per repeat. Reported: median TTFT and E2E of each, and the TTFT the API adds
(HTTP, SSE framing, the server's follow-up of the run, the client's parsing; the server shares this
process's GIL with the client).
"""

from __future__ import annotations

import tempfile

from benchmarks.common import machine, median, pane, parser, result, table
from playground.api.launch import ApiServer
from playground.panes import BackendContext
from playground.runner import FanOutRunner, PaneJob
from playground.testing.tiny_model import build_tiny_model

PROMPT = "明月几时有"


def measured(runner: FanOutRunner, bench) -> tuple[float, float]:
    [record] = runner.run([PaneJob(bench, bench.build_request(PROMPT, mode="stream"))])
    assert record.status == "ok", record.error_message
    return record.ttft_s, record.e2e_s


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    repeats = 2 if args.quick else args.repeats
    new_tokens = 16 if args.quick else 64
    params = {"temperature": 0, "max_tokens": new_tokens}
    with tempfile.TemporaryDirectory() as folder:
        model = str(build_tiny_model(folder))
        context = BackendContext()
        local = {"backend": "transformers", "model": model, "torch_threads": 1, "params": params}
        direct, served = pane(context, **local), pane(context, **local)
        runner = FanOutRunner(None)
        runner.prepare([direct, served])
        with ApiServer(served, FanOutRunner(None), max_lifetime_s=600) as server:
            via_api = pane(context, backend="openai", preset="playground", model="bench", base_url=server.base_url, params=params)
            paths = {"direct local pane": direct, "served API (openai pane)": via_api}
            runner.prepare(list(paths.values()))
            for bench in paths.values():
                measured(runner, bench)  # warm-up: first decode, the client's connection
            samples: dict[str, list[tuple[float, float]]] = {name: [] for name in paths}
            for repeat in range(repeats):
                for name in list(paths) if repeat % 2 == 0 else list(paths)[::-1]:
                    samples[name].append(measured(runner, paths[name]))
    rows = []
    ttft = {name: median([s[0] for s in values]) for name, values in samples.items()}
    for name, values in samples.items():
        rows.append([name, ttft[name] * 1000, median([s[1] for s in values]) * 1000])
    served_ttft, direct_ttft = ttft["served API (openai pane)"], ttft["direct local pane"]
    added_ms = (served_ttft - direct_ttft) * 1000
    print(f"machine: {machine()}; tiny model, torch threads 1, greedy, {new_tokens} new tokens; medians of {repeats} repeats")
    table(["path", "ttft_ms", "e2e_ms"], rows)
    print(f"TTFT added by the API: {added_ms:.2f} ms (served ÷ direct: {served_ttft / direct_ttft:.2f}×)")
    result("served_ttft_added_ms", added_ms, "ms")


if __name__ == "__main__":
    main()
