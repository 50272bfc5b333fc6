"""TTFT and inter-token-latency fidelity of the metrics wrapper.

Scripted OpenAI-compatible (SSE) and Ollama (NDJSON) servers, each in its own process,
inject first-token delays of 50 / 200 / 1000 ms and gaps of 5 / 20 ms, counted from the
moment the request arrives. Two errors are reported per run:
  - vs injected: measured ttft_s minus the injected delay (includes the client building and
    sending its request and parsing the first chunk: all part of what a user waits for);
  - vs server:   the instant the wrapper saw the first token minus the instant the server
    wrote it (the measurement's own error; perf_counter is one clock across processes).
ITL error: measured itl_p50_s minus the injected gap.
The process first imports what the page's process holds (gradio, pandas), and each cell is run
twice, alternating: with the start-up heap frozen, as the playground runs (`freeze_startup_heap`),
and unfrozen, so the collector's pauses over that heap show side by side.
"""

from __future__ import annotations

import gc

from benchmarks.common import machine, median, p99, pane, parser, result, table
from playground.metrics import MeteredRun, RunLabels
from playground.testing.loopback import Script, SubprocessServer

DELAYS_S = (0.05, 0.2, 1.0)
GAPS_S = (0.005, 0.02)
TOKENS = 20


def measure(kind: str, delay: float, gap: float, repeats: int, frozen: bool) -> tuple[dict[str, list[float]], int]:
    """The cell's errors, and how many connections its runs opened."""
    if frozen:
        gc.collect()
        gc.freeze()
    else:
        gc.unfreeze()
    script = Script(first_token_delay_s=delay, gap_s=gap, tokens=tuple(f"t{i} " for i in range(TOKENS)))
    errors: dict[str, list[float]] = {"ttft_vs_injected": [], "ttft_vs_server": [], "itl_p50": []}
    with SubprocessServer(kind, {"m": script}) as server:
        where = {"base_url": server.url + "/v1"} if kind == "openai" else {"host": server.url}
        bench = pane(backend=kind, model="m", **where)
        bench.backend.prepare()
        for index in range(repeats + 1):
            run = MeteredRun(bench.backend, bench.build_request("hi"), RunLabels("bench", "bench", "bench"))
            record = run.run()
            assert record.status == "ok", record.error_message
            written = server.write_times()[-1]
            if index == 0:
                continue  # the first run opens the connection
            errors["ttft_vs_injected"].append(record.ttft_s - delay)
            errors["ttft_vs_server"].append(run.content_instants[0] - written[0])
            errors["itl_p50"].append(record.itl_p50_s - gap)
        opened = server.connections()
    return errors, opened


def main() -> None:
    args = parser(__doc__.splitlines()[0], repeats=20).parse_args()
    repeats = 5 if args.quick else args.repeats
    delays = DELAYS_S[:2] if args.quick else DELAYS_S
    import gradio  # noqa: F401 - the heap of the page's process
    import pandas  # noqa: F401

    from playground.interpreter import tune_interpreter

    tune_interpreter()
    rows, worst_server, worst_injected, worst_itl = [], [], [], []
    unfrozen_injected: list[float] = []
    connections: list[int] = []
    for kind in ("openai", "ollama"):
        for delay in delays:
            for gap in GAPS_S:
                for frozen in (True, False) if len(rows) % 2 == 0 else (False, True):
                    errors, opened = measure(kind, delay, gap, repeats, frozen)
                    connections.append(opened)
                    ms = {k: [v * 1000 for v in values] for k, values in errors.items()}
                    injected, served, itl = ms["ttft_vs_injected"], ms["ttft_vs_server"], ms["itl_p50"]
                    cell = [kind, int(delay * 1000), int(gap * 1000), "frozen" if frozen else "unfrozen"]
                    rows.append([*cell, median(injected), p99(injected), median(served), p99(served), median(itl),
                                 p99([abs(v) for v in itl])])  # fmt: skip
                    if not frozen:
                        unfrozen_injected += injected
                        continue
                    worst_server += served
                    worst_injected += injected
                    worst_itl += [abs(v) for v in itl]
    print(f"machine: {machine()}; {repeats} runs per cell after one connection warm-up; errors in ms; "
          f"connections opened per cell: {min(connections)}-{max(connections)}")
    table(
        ["client", "delay", "gap", "heap", "vs_inj_p50", "vs_inj_p99", "vs_srv_p50", "vs_srv_p99", "itl_err_p50",
         "|itl_err|_p99"],
        rows,
    )
    print(f"p99 over all cells: vs injected {p99(worst_injected):.2f} ms, vs server {p99(worst_server):.2f} ms, ", end="")
    print(f"ITL {p99(worst_itl):.2f} ms (frozen heap); vs injected with the heap unfrozen {p99(unfrozen_injected):.2f} ms")
    result("ttft_fidelity_p99", p99(worst_injected), "ms")


if __name__ == "__main__":
    main()
