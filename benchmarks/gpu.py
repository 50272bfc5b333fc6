"""GPU decode speed vs the memory roofline (needs CUDA; reports "pending" without one).

A Qwen2.5-0.5B-shaped model (24 layers, hidden 896, 14 heads / 2 KV heads, MLP 4864) with
random fp16 weights, built from a config (nothing downloaded; the vocabulary is the test
tokenizer's 512 tokens, so the weights are ~0.36 B parameters), batch 1, 256 new tokens,
greedy: tokens/s of (a) plain `generate`, (b) the playground's local backend, (c) the
backend with `compile: true` (static KV cache + torch.compile). Each as % of the HBM
roofline: weight bytes × tok/s ÷ the device-to-device copy bandwidth measured on the same GPU.
Goal for (c): ≥ 25 % of the roofline.
"""

from __future__ import annotations

import tempfile
import time
from functools import partial

from benchmarks.common import machine, median, pane, parser, result, table
from playground.metrics import MeteredRun, RunLabels
from playground.panes import BackendContext
from playground.testing.tiny_model import TinyModelSpec, build_tiny_model

SPEC = TinyModelSpec(hidden_size=896, num_layers=24, num_heads=14, num_kv_heads=2, intermediate_size=4864, init_std=0.02)
NEW_TOKENS = 256


def copy_bandwidth_gbs(torch) -> float:
    source = torch.empty(512 * 1024 * 1024, dtype=torch.uint8, device="cuda")
    target = torch.empty_like(source)
    for _ in range(3):
        target.copy_(source)
    torch.cuda.synchronize()
    started = time.perf_counter()
    for _ in range(10):
        target.copy_(source)
    torch.cuda.synchronize()
    return 2 * source.numel() * 10 / (time.perf_counter() - started) / 1e9  # read + write


def plain_rate(torch, bench) -> float:
    loaded, _ = bench.backend._load()
    inputs = loaded.tokenizer("明月几时有", return_tensors="pt").to("cuda")
    torch.cuda.synchronize()
    started = time.perf_counter()
    loaded.model.generate(**inputs, max_new_tokens=NEW_TOKENS, min_new_tokens=NEW_TOKENS, do_sample=False)
    torch.cuda.synchronize()
    return NEW_TOKENS / (time.perf_counter() - started)


def backend_rate(bench) -> float:
    record = MeteredRun(bench.backend, bench.build_request("明月几时有", mode="non-stream"), RunLabels("b", "s", "p")).run()
    assert record.status == "ok" and record.output_tokens == NEW_TOKENS, record.error_message
    return record.output_tokens / record.e2e_s


def main() -> None:
    args = parser(__doc__.splitlines()[0]).parse_args()
    import torch

    if not torch.cuda.is_available():
        print(f"machine: {machine()}; no CUDA device here: GPU figures pending (run on a machine with a GPU).")
        print("RESULT gpu_compiled_roofline_pct nan %")
        return
    repeats = 2 if args.quick else args.repeats
    with tempfile.TemporaryDirectory() as folder:
        path = build_tiny_model(f"{folder}/qwen-shaped", SPEC)
        context = BackendContext()
        params = {"temperature": 0, "max_tokens": NEW_TOKENS}
        eager = pane(context, backend="transformers", model=str(path), dtype="float16", device="cuda", params=params)
        compiled = pane(
            context, backend="transformers", model=str(path), dtype="float16", device="cuda", params=params, compile=True
        )
        eager.backend.prepare()
        weight_bytes = sum(p.numel() * p.element_size() for p in eager.backend._load()[0].model.parameters())
        ways = {"(a) plain generate": partial(plain_rate, torch, eager), "(b) backend": partial(backend_rate, eager),
                "(c) backend, compile": partial(backend_rate, compiled)}  # fmt: skip
        for way in ways.values():
            way()
            way()  # compile and warm up
        rates: dict[str, list[float]] = {name: [] for name in ways}
        for repeat in range(repeats):
            for name in list(ways) if repeat % 2 == 0 else list(ways)[::-1]:
                rates[name].append(ways[name]())
        bandwidth = copy_bandwidth_gbs(torch)
    rows = []
    for name, values in rates.items():
        roofline = weight_bytes * median(values) / (bandwidth * 1e9) * 100
        rows.append([name, median(values), roofline])
    print(
        f"machine: {machine()}; {torch.cuda.get_device_name()}; "
        f"weights {weight_bytes / 1e9:.2f} GB fp16; copy {bandwidth:.0f} GB/s"
    )
    table(["path", "tok_per_s", "roofline_pct"], rows)
    result("gpu_compiled_roofline_pct", rows[2][2], "%")


if __name__ == "__main__":
    main()
