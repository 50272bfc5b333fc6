"""A server's own per-request timings from its Prometheus `/metrics` (vLLM).

vLLM publishes histograms, not per-request values (docs.vllm.ai, "Production Metrics";
vllm/v1/metrics/loggers.py): `vllm:time_to_first_token_seconds`, `vllm:request_queue_time_seconds`,
`vllm:request_prefill_time_seconds`, `vllm:request_decode_time_seconds`,
`vllm:e2e_request_latency_seconds`, each with `_sum` and `_count` per `model_name`. The change of
`_sum` between two scrapes is one request's value exactly when `_count` grew by one, that is
when no other request on that model finished in between. Otherwise nothing is claimed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import httpx

from playground.backends.base import ServerTimings

# ServerTimings field → vLLM histogram.
HISTOGRAMS: dict[str, str] = {
    "ttft_s": "vllm:time_to_first_token_seconds",
    "queue_s": "vllm:request_queue_time_seconds",
    "prompt_eval_s": "vllm:request_prefill_time_seconds",
    "eval_s": "vllm:request_decode_time_seconds",
    "total_s": "vllm:e2e_request_latency_seconds",
}
_SAMPLE = re.compile(r'^(?P<name>[a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(?P<labels>[^}]*)\})?\s+(?P<value>\S+)')
_LABEL = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')

# (histogram, "sum" | "count") → value, for one model.
Totals = dict[tuple[str, str], float]


def parse_totals(text: str, model: str) -> Totals:
    """The `_sum` and `_count` of each histogram above for `model`, from Prometheus text format."""
    wanted = set(HISTOGRAMS.values())
    totals: Totals = {}
    for line in text.splitlines():
        match = _SAMPLE.match(line)
        if match is None:
            continue
        name, part = match["name"].rsplit("_", 1) if "_" in match["name"] else (match["name"], "")
        if name not in wanted or part not in ("sum", "count"):
            continue
        labels = dict(_LABEL.findall(match["labels"] or ""))
        if labels.get("model_name", model) != model:
            continue
        try:
            totals[(name, part)] = totals.get((name, part), 0.0) + float(match["value"])
        except ValueError:
            continue
    return totals


def finished_since(before: Totals, after: Totals) -> int:
    """Requests for the model that finished between two scrapes."""
    key = (HISTOGRAMS["total_s"], "count")
    return round(after.get(key, 0.0) - before.get(key, 0.0))


def one_request(before: Totals, after: Totals) -> ServerTimings | None:
    """The timings of the one request that finished between two scrapes, or None if it was not exactly one."""
    values: dict[str, float] = {}
    for field_name, histogram in HISTOGRAMS.items():
        count = after.get((histogram, "count"), 0.0) - before.get((histogram, "count"), 0.0)
        if count != 1:
            continue
        values[field_name] = after.get((histogram, "sum"), 0.0) - before.get((histogram, "sum"), 0.0)
    return ServerTimings(**values) if values else None


@dataclass
class MetricsScraper:
    """Scrapes one server's /metrics before and after each run of one pane."""

    url: str
    model: str
    timeout_s: float = 2.0

    def totals(self) -> Totals | None:
        try:
            response = httpx.get(self.url, timeout=self.timeout_s)
        except httpx.HTTPError:
            return None
        if response.status_code != 200:
            return None
        return parse_totals(response.text, self.model)
