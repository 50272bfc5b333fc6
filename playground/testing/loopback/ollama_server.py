"""A loopback server for Ollama's native API: /api/chat (NDJSON), /api/tags, /api/ps, /api/show.

Formats follow Ollama's docs/api.md and server/routes.go:
- each streamed line is a chat object with `message.role` (the Python client's pydantic model
  requires it, even on the final line); the final line has `done: true`, `done_reason`, the
  token counts and the durations in nanoseconds;
- an error after the stream began (a runner crash, GPU out of memory) is one more line
  `{"error": "..."}` on the 200 response: routes.go `streamResponse` writes `gin.H{"error": ...}`;
- errors before it are a JSON `{"error": "..."}` with the status (404 "model 'x' not found",
  503 "server busy, please try again..." when OLLAMA_MAX_QUEUE is full, 401 with `signin_url`
  for cloud models when signed out);
- /api/ps lists loaded models with `expires_at`, `size_vram` and `context_length`; /api/show
  gives `model_info` with `<architecture>.context_length` and the Modelfile `parameters`.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable
from typing import Any

from playground.testing.loopback.base import Handler, LoopbackServer, Script, paced, sleep_until

CONTEXT_LENGTH = 32768
LOADED_CONTEXT = 4096


class OllamaServer(LoopbackServer):
    """POST /api/chat (NDJSON stream, or one object with "stream": false), GET /api/tags, /api/ps, POST /api/show."""

    def __init__(self, scripts: dict[str, Script], loaded: Iterable[str] = (), max_lifetime_s: float = 600.0) -> None:
        super().__init__(scripts, max_lifetime_s)
        self.loaded = set(loaded)

    def routes(self) -> dict[str, Any]:
        return {"/api/chat": self._chat, "/api/tags": self._tags, "/api/ps": self._ps, "/api/show": self._show}

    def _tags(self, handler: Handler, body: dict[str, Any]) -> None:
        models = [{"name": m, "model": m, "size": 1, "digest": "0" * 12} for m in self.scripts]
        handler._send_json(200, {"models": models})

    def _ps(self, handler: Handler, body: dict[str, Any]) -> None:
        models = [
            {
                "name": m,
                "model": m,
                "size": 1,
                "digest": "0" * 12,
                "expires_at": "2026-01-01T00:05:00Z",
                "size_vram": 1,
                "context_length": LOADED_CONTEXT,
            }
            for m in sorted(self.loaded)
        ]
        handler._send_json(200, {"models": models})

    def _show(self, handler: Handler, body: dict[str, Any]) -> None:
        model = body.get("model") or body.get("name") or ""
        if model not in self.scripts:
            handler._send_json(404, {"error": f"model '{model}' not found"})
            return
        info = {"general.architecture": "qwen2", "qwen2.context_length": CONTEXT_LENGTH}
        handler._send_json(200, {"model_info": info, "parameters": "stop \"<|im_end|>\"", "details": {"family": "qwen2"}})

    def _final(self, script: Script, model: str, content: str, thinking: str, started: float) -> dict[str, Any]:
        total = time.perf_counter() - started
        return {
            "model": model,
            "created_at": "2026-01-01T00:00:00Z",
            "message": {"role": "assistant", "content": content, **({"thinking": thinking} if thinking else {})},
            "done": True,
            "done_reason": script.finish_reason or "stop",
            "total_duration": int(total * 1e9),
            "load_duration": int(script.server_load_s * 1e9),
            "prompt_eval_count": 7,
            "prompt_eval_duration": 2_000_000,
            "eval_count": len(script.tokens) + len(script.reasoning),
            "eval_duration": int(max(total - 0.003, 0) * 1e9),
        }

    def _chat(self, handler: Handler, body: dict[str, Any]) -> None:
        started = handler.arrived
        model = body.get("model", "")
        script = self.script_for(model)
        if script is None:
            handler._send_json(404, {"error": f"model '{model}' not found"})
            return
        if script.status != 200:
            handler._send_json(script.status, script.error_body or {"error": f"scripted status {script.status}"}, script.headers)
            return
        self.loaded.add(model)
        if body.get("stream", True) is False:
            sleep_until(script.complete_at(handler.arrived))
            handler._send_json(200, self._final(script, model, "".join(script.tokens), "".join(script.reasoning), started))
            return
        handler._start_chunked("application/x-ndjson")
        outcome = self._stream_pieces(handler, script, model)
        if outcome == "closed":
            return  # the fault already ended (or cut) the response
        if outcome == "complete" and script.finish_reason is not None:
            handler._chunk(json.dumps(self._final(script, model, "", "", started)).encode() + b"\n")
        handler._end_chunked(script.tail_hold_s)

    def _stream_pieces(self, handler: Handler, script: Script, model: str) -> str:
        """Write the scripted lines: "complete", "error" (an error line ended the answer) or "closed" (a fault did)."""
        for index, kind, text in paced(script, handler):
            if handler._inject_fault(script, index, b"{not json\n"):
                return "closed"
            if script.stream_error_after is not None and index == script.stream_error_after:
                handler._chunk(json.dumps({"error": script.stream_error}).encode() + b"\n")
                return "error"
            message = {"role": "assistant", "content": text if kind == "content" else ""}
            if kind == "reasoning":
                message["thinking"] = text
            line = {"model": model, "created_at": "2026-01-01T00:00:00Z", "message": message, "done": False}
            handler._chunk(json.dumps(line).encode() + b"\n")
        return "complete"
