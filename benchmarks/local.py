"""Local backend speed ÷ raw `model.generate`, same model and settings, on CPU.

Two random-weight models built offline: the tiny test model and a Qwen2-shaped one with
4 layers and hidden size 512. Greedy decoding of a fixed number of new tokens (end tokens are
suppressed). Raw: tokens ÷ the wall time of `generate`. Backend: output_tokens ÷ e2e_s from
the metrics wrapper, streaming and not. Orders alternate per repeat. Goal: ≥ 0.95.
"""

from __future__ import annotations

import tempfile
import time
from functools import partial

from benchmarks.common import machine, median, pane, parser, result, table
from playground.backends.transformers_local import generation_kwargs
from playground.metrics import MeteredRun, RunLabels
from playground.panes import BackendContext
from playground.testing.tiny_model import TinyModelSpec, build_tiny_model

MODELS = {
    "tiny (2 layers, hidden 64)": (TinyModelSpec(), 256),
    "qwen2 4 layers, hidden 512": (
        TinyModelSpec(hidden_size=512, num_layers=4, num_heads=8, num_kv_heads=2, intermediate_size=1376),
        128,
    ),
}


def raw_rate(bench, new_tokens: int) -> float:
    import torch

    loaded, _ = bench.backend._load()
    request = bench.build_request("明月几时有")
    prompt = loaded.tokenizer.apply_chat_template(
        [m.as_dict() for m in request.messages], add_generation_prompt=True, tokenize=False
    )
    inputs = loaded.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    kwargs = generation_kwargs(request.params, loaded)
    started = time.perf_counter()
    with torch.inference_mode():
        output = loaded.model.generate(**inputs, **kwargs)
    elapsed = time.perf_counter() - started
    assert output.shape[1] - inputs["input_ids"].shape[1] == new_tokens
    return new_tokens / elapsed


def backend_rate(bench, mode: str, new_tokens: int) -> float:
    record = MeteredRun(bench.backend, bench.build_request("明月几时有", mode=mode), RunLabels("b", "s", "p")).run()
    assert record.status == "ok" and record.output_tokens == new_tokens, record.error_message
    return record.output_tokens / record.e2e_s


def main() -> None:
    cli = parser(__doc__.splitlines()[0])
    cli.add_argument("--verbose", action="store_true", help="print every sample")
    args = cli.parse_args()
    repeats = 2 if args.quick else args.repeats
    rows, worst, samples = [], float("inf"), {}
    with tempfile.TemporaryDirectory() as folder:
        for label, (spec, new_tokens) in MODELS.items():
            new_tokens = 32 if args.quick else new_tokens
            path = build_tiny_model(f"{folder}/{spec.hidden_size}", spec)
            bench = pane(BackendContext(), backend="transformers", model=str(path), torch_threads=1,
                         params={"temperature": 0, "max_tokens": new_tokens})  # fmt: skip
            bench.backend.prepare()
            ways = {
                "raw": partial(raw_rate, bench, new_tokens),
                "non-stream": partial(backend_rate, bench, "non-stream", new_tokens),
                "stream": partial(backend_rate, bench, "stream", new_tokens),
            }
            for way in ways.values():
                way()  # warm-up
            rates: dict[str, list[float]] = {name: [] for name in ways}
            for repeat in range(repeats):
                for name in list(ways) if repeat % 2 == 0 else list(ways)[::-1]:
                    rates[name].append(ways[name]())
            samples[label] = {name: [round(v) for v in values] for name, values in rates.items()}
            for name in ("non-stream", "stream"):
                ratio = median(rates[name]) / median(rates["raw"])
                worst = min(worst, ratio)
                rows.append([label, name, median(rates["raw"]), median(rates[name]), ratio])
    if args.verbose:
        print(samples)
    print(f"machine: {machine()}; torch threads 1; greedy; medians of {repeats} repeats")
    table(["model", "path", "raw_tok_per_s", "backend_tok_per_s", "ratio"], rows)
    result("local_ratio_worst", worst, "x")


if __name__ == "__main__":
    main()
