"""A loopback server for POST /v1/chat/completions, streaming (SSE) and not.

Formats follow the servers they stand for:
- chunks, `finish_reason`, the usage chunk with empty `choices` sent when
  `stream_options.include_usage` is set, and `data: [DONE]`: OpenAI's API reference
  (platform.openai.com/docs/api-reference/chat-streaming);
- usage inside the last content chunk: `transformers serve` (seen here);
- `reasoning_content` (DeepSeek, DashScope) or `reasoning` (vLLM ≥ 0.10) in the delta;
- an error inside a stream as `data: {"error": {...}}` followed by `data: [DONE]`, as vLLM's
  `create_streaming_error_response` sends it and openai-python's `Stream` reads it
  (openai/_streaming.py raises `APIError` with the error's message);
- llama.cpp's `timings` object (prompt_n, prompt_ms, predicted_n, predicted_ms, ...) in the
  final chunk and in a complete response (llama.cpp tools/server/README.md);
- a 404 for an unknown path as FastAPI's `{"detail": "Not Found"}`;
- vLLM's Prometheus histograms at GET /metrics (`vllm:time_to_first_token_seconds_sum`,
  `_count`, ... labelled with `model_name`; vllm/v1/metrics/loggers.py), updated when a
  request finishes.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import defaultdict
from typing import Any

from playground.testing.loopback.base import Handler, LoopbackServer, Script, paced, sleep_until

_HISTOGRAMS = (
    "vllm:time_to_first_token_seconds",
    "vllm:request_queue_time_seconds",
    "vllm:request_prefill_time_seconds",
    "vllm:request_decode_time_seconds",
    "vllm:e2e_request_latency_seconds",
)
QUEUE_S = 0.002


class OpenAIServer(LoopbackServer):
    """POST /v1/chat/completions, GET /v1/models and /metrics; errors as OpenAI formats them."""

    def __init__(self, scripts: dict[str, Script], max_lifetime_s: float = 600.0, max_concurrent: int | None = None) -> None:
        super().__init__(scripts, max_lifetime_s)
        # Like a server with k batch slots: requests beyond `max_concurrent` wait for a slot, and
        # the scripted delays count from when the slot is taken.
        self._slots = threading.BoundedSemaphore(max_concurrent) if max_concurrent else None
        self._metrics_lock = threading.Lock()
        self._sums: dict[tuple[str, str], float] = defaultdict(float)
        self._counts: dict[tuple[str, str], int] = defaultdict(int)

    def routes(self) -> dict[str, Any]:
        return {
            "/v1/chat/completions": self._chat,
            "/v1/models": self._models,
            "/metrics": self._metrics,
            "/tokenize": self._tokenize,
        }

    def _tokenize(self, handler: Handler, body: dict[str, Any]) -> None:
        """llama.cpp's POST /tokenize {"content"} → {"tokens": [...]}; here one token per word and its spaces."""
        words = re.findall(r"\S+\s*|\s+", body.get("content", ""))
        handler._send_json(200, {"tokens": list(range(len(words)))})

    def _finished(self, model: str, script: Script, handler: Handler) -> None:
        pieces = len(script.tokens) + len(script.reasoning)
        values = (
            script.first_token_delay_s,
            QUEUE_S,
            script.first_token_delay_s,
            script.gap_s * max(pieces - 1, 0),
            time.perf_counter() - handler.arrived,
        )
        with self._metrics_lock:
            for name, value in zip(_HISTOGRAMS, values, strict=True):
                self._sums[(name, model)] += value
                self._counts[(name, model)] += 1

    def _metrics(self, handler: Handler, body: dict[str, Any]) -> None:
        lines = []
        with self._metrics_lock:
            for name in _HISTOGRAMS:
                lines += [f"# HELP {name} Histogram.", f"# TYPE {name} histogram"]
                for (metric, model), total in self._sums.items():
                    if metric == name:
                        label = f'{{engine="0",model_name="{model}"}}'
                        count = self._counts[(metric, model)]
                        lines += [f'{name}_bucket{{engine="0",le="+Inf",model_name="{model}"}} {count}.0']
                        lines += [f"{name}_count{label} {count}.0", f"{name}_sum{label} {total!r}"]
        data = ("\n".join(lines) + "\n").encode()
        handler.send_response(200)
        handler.send_header("content-type", "text/plain; version=0.0.4")
        handler.send_header("content-length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    def _models(self, handler: Handler, body: dict[str, Any]) -> None:
        handler._send_json(200, {"object": "list", "data": [{"id": m, "object": "model"} for m in self.scripts]})

    def _chat(self, handler: Handler, body: dict[str, Any]) -> None:
        if self._slots is None:
            self._answer(handler, body)
            return
        with self._slots:
            handler.arrived = time.perf_counter()
            self._answer(handler, body)

    def _answer(self, handler: Handler, body: dict[str, Any]) -> None:
        script = self.script_for(body.get("model", ""))
        if script is None:
            # OpenAI's answer for a model that does not exist (code model_not_found).
            error = {
                "message": f"The model `{body.get('model')}` does not exist or you do not have access to it.",
                "type": "invalid_request_error",
                "param": None,
                "code": "model_not_found",
            }
            handler._send_json(404, {"error": error})
            return
        if script.status != 200:
            error = script.error_body or {"error": {"message": f"scripted status {script.status}", "type": "error"}}
            handler._send_json(script.status, error, script.headers)
            return
        if body.get("stream"):
            self._stream(handler, script, body)
        else:
            self._complete(handler, script, body)

    @staticmethod
    def _usage(script: Script) -> dict[str, int]:
        output = len(script.tokens) + len(script.reasoning)
        return {"prompt_tokens": 7, "completion_tokens": output, "total_tokens": 7 + output}

    @staticmethod
    def _timings(script: Script, handler: Handler) -> dict[str, float]:
        predicted = len(script.tokens) + len(script.reasoning)
        elapsed_ms = (time.perf_counter() - handler.arrived) * 1000
        prompt_ms = min(script.first_token_delay_s * 1000, elapsed_ms)
        predicted_ms = max(elapsed_ms - prompt_ms, 0.0)
        return {
            "prompt_n": 7,
            "prompt_ms": prompt_ms,
            "prompt_per_token_ms": prompt_ms / 7,
            "prompt_per_second": 7000 / prompt_ms if prompt_ms else 0.0,
            "predicted_n": predicted,
            "predicted_ms": predicted_ms,
            "predicted_per_token_ms": predicted_ms / predicted if predicted else 0.0,
            "predicted_per_second": predicted * 1000 / predicted_ms if predicted_ms else 0.0,
        }

    def _complete(self, handler: Handler, script: Script, body: dict[str, Any]) -> None:
        sleep_until(script.complete_at(handler.arrived))
        message: dict[str, Any] = {"role": "assistant", "content": "".join(script.tokens)}
        if script.reasoning:
            message[script.reasoning_field] = "".join(script.reasoning)
        payload: dict[str, Any] = {
            "id": "cmpl-loopback",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": script.finish_reason}],
        }
        if script.usage != "none":
            payload["usage"] = self._usage(script)
        if script.timings:
            payload["timings"] = self._timings(script, handler)
        self._finished(body["model"], script, handler)
        handler._send_json(200, payload)

    def _stream(self, handler: Handler, script: Script, body: dict[str, Any]) -> None:
        def event(delta: dict[str, Any], finish: str | None = None, choices: bool = True, **extra: Any) -> bytes:
            chunk: dict[str, Any] = {
                "id": "cmpl-loopback",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body["model"],
            }
            chunk["choices"] = [{"index": 0, "delta": delta, "finish_reason": finish}] if choices else []
            chunk.update(extra)
            return b"data: " + json.dumps(chunk).encode() + b"\n\n"

        handler._start_chunked("text/event-stream")
        handler._chunk(event({"role": "assistant", "content": ""}))
        if not self._stream_pieces(handler, script, event):
            return
        self._finished(body["model"], script, handler)
        self._stream_end(handler, script, event)

    def _stream_pieces(self, handler: Handler, script: Script, event: Any) -> bool:
        """Write the scripted pieces; False when a fault ended the answer."""
        last_index = len(script.reasoning) + len(script.tokens) - 1
        for index, kind, text in paced(script, handler):
            if handler._inject_fault(script, index, b"data: {not json\n\n"):
                return False
            if script.stream_error_after is not None and index == script.stream_error_after:
                error = {"error": {"message": script.stream_error, "type": "InternalServerError", "code": 500}}
                handler._chunk(b"data: " + json.dumps(error).encode() + b"\n\n")
                handler._chunk(b"data: [DONE]\n\n")
                handler._end_chunked()
                return False
            if script.keepalive_comments:
                handler._chunk(b": keep-alive\n\n")
            field_name = script.reasoning_field if kind == "reasoning" else "content"
            if index == last_index and script.usage == "last-chunk":
                handler._chunk(event({field_name: text}, script.finish_reason, usage=self._usage(script)))
            else:
                handler._chunk(event({field_name: text}))
        return True

    def _stream_end(self, handler: Handler, script: Script, event: Any) -> None:
        extra = {"timings": self._timings(script, handler)} if script.timings else {}
        if script.usage != "last-chunk":
            handler._chunk(event({}, script.finish_reason, **extra))
        if script.usage == "separate":
            handler._chunk(event({}, choices=False, usage=self._usage(script)))
        if script.done_marker:
            handler._chunk(b"data: [DONE]\n\n")
        handler._end_chunked(script.tail_hold_s)
