"""Fan-out: wall time of N = 2…6 concurrent panes ÷ the slowest pane alone.

Loopback streaming backends (OpenAI SSE and Ollama NDJSON, alternately, each server in its
own process) with different known speeds: pane i sends 40 tokens 10 + 4·i ms apart. Each
repeat measures the slowest pane alone and the N-pane fan-out back to back, alternating
which goes first. Goal: ratio ≤ 1.05.
"""

from __future__ import annotations

import time

from benchmarks.common import machine, median, pane, parser, result, table
from playground.runner import FanOutRunner, PaneJob
from playground.testing.loopback import Script, SubprocessServer

TOKENS = 40


def scripts() -> dict[str, Script]:
    return {
        f"speed{i}": Script(first_token_delay_s=0.05, gap_s=0.010 + 0.004 * i, tokens=tuple(f"t{j} " for j in range(TOKENS)))
        for i in range(6)
    }


def timed(runner: FanOutRunner, panes) -> float:
    started = time.perf_counter()
    records = runner.run([PaneJob(p, p.build_request("hi")) for p in panes])
    wall = time.perf_counter() - started
    assert all(r.status == "ok" for r in records), [r.error_message for r in records]
    return wall


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    repeats = 2 if args.quick else args.repeats
    with SubprocessServer("openai", scripts()) as openai_server, SubprocessServer("ollama", scripts()) as ollama_server:
        panes = [
            pane(backend="openai", model=f"speed{i}", base_url=openai_server.url + "/v1")
            if i % 2 == 0
            else pane(backend="ollama", model=f"speed{i}", host=ollama_server.url)
            for i in range(6)
        ]
        runner = FanOutRunner(None)
        runner.prepare(panes)
        timed(runner, panes)  # open every connection once
        rows, worst = [], 0.0
        for count in range(2, 7):
            group, slowest = panes[:count], panes[count - 1]
            alone, together = [], []
            for repeat in range(repeats):
                order = [(alone, [slowest]), (together, group)]
                for bucket, members in order if repeat % 2 == 0 else order[::-1]:
                    bucket.append(timed(runner, members))
            ratio = median(together) / median(alone)
            worst = max(worst, ratio)
            rows.append([count, median(alone), median(together), ratio])
    print(f"machine: {machine()}; medians of {repeats} repeats")
    table(["panes", "slowest_alone_s", "fanout_s", "ratio"], rows)
    result("fanout_ratio_worst", worst, "x")


if __name__ == "__main__":
    main()
