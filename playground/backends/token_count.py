"""Counting an answer's tokens when the server reports no usage.

Streamed chunks are not tokens and characters / 4 undercounts (llama.cpp's server sends no
usage in streams: 33 estimated against 64 true). The model's own tokenizer is the better
estimate, from the best source at hand, in this order:
1. the server's tokenize endpoint: llama.cpp's `POST /tokenize {"content"}` → `{"tokens": [...]}`
   (tools/server/README.md) or llama-cpp-python's `POST /extras/tokenize {"input"}` →
   `{"tokens": [...]}` (llama_cpp/server/app.py);
2. the model's `tokenizer.json`, from a local model folder or the Hugging Face cache (never downloaded).
Re-tokenizing text can differ from the generated ids by a token here and there, so the
result is still marked an estimate, with its source named.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

# Server paths tried in order, with how each wants the text.
TOKENIZE_ENDPOINTS: tuple[tuple[str, str], ...] = (("/tokenize", "content"), ("/extras/tokenize", "input"))


@dataclass(frozen=True)
class Count:
    tokens: int
    source: str


class TokenCounter:
    """Counts tokens of a pane's answers with the model's own tokenizer, wherever one can be reached."""

    def __init__(self, model: str, server_root: str | None = None, timeout_s: float = 2.0) -> None:
        self.model = model
        self.server_root = server_root.rstrip("/") if server_root else None
        self.timeout_s = timeout_s
        self._lock = threading.Lock()
        self._endpoint: tuple[str, str] | None = None
        self._endpoint_missing = False
        self._tokenizer: Any = None
        self._tokenizer_missing = False

    def count(self, text: str) -> Count | None:
        """The count, or None when no tokenizer can be reached; never raises (it runs as a record is built)."""
        if not text:
            return None
        try:
            return self._by_server(text) or self._by_tokenizer_file(text)
        except Exception:  # noqa: BLE001 - a bad model name or tokenizer file means "no count", not a lost record
            self._tokenizer_missing = True
            return None

    def _by_server(self, text: str) -> Count | None:
        if self.server_root is None or self._endpoint_missing:
            return None
        candidates = [self._endpoint] if self._endpoint else list(TOKENIZE_ENDPOINTS)
        absent = 0
        for path, field in candidates:
            status, tokens = self._ask(path, {field: text, "model": self.model})
            if tokens is not None:
                self._endpoint = (path, field)
                return Count(tokens, f"re-tokenized by the server's {path}")
            absent += status in (404, 405)
        # Only a server that has none of the endpoints is not asked again: a busy one may answer next time.
        self._endpoint_missing = self._endpoint is None and absent == len(candidates)
        return None

    def _ask(self, path: str, body: dict[str, Any]) -> tuple[int | None, int | None]:
        """(HTTP status or None, token count or None)."""
        try:
            response = httpx.post(f"{self.server_root}{path}", json=body, timeout=self.timeout_s)
            tokens = response.json().get("tokens") if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError, AttributeError):
            return None, None
        return response.status_code, len(tokens) if isinstance(tokens, list) else None

    def _by_tokenizer_file(self, text: str) -> Count | None:
        tokenizer = self._load_tokenizer()
        if tokenizer is None:
            return None
        return Count(len(tokenizer.encode(text, add_special_tokens=False).ids), "re-tokenized with the model's tokenizer.json")

    def _load_tokenizer(self) -> Any:
        with self._lock:
            if self._tokenizer is None and not self._tokenizer_missing:
                path = _tokenizer_file(self.model)
                if path is None:
                    self._tokenizer_missing = True
                else:
                    from tokenizers import Tokenizer

                    self._tokenizer = Tokenizer.from_file(str(path))
            return self._tokenizer


def _tokenizer_file(model: str) -> Path | None:
    """The model's tokenizer.json in a local folder or already in the Hugging Face cache."""
    folder = Path(model).expanduser()
    if (folder / "tokenizer.json").is_file():
        return folder / "tokenizer.json"
    if model.count("/") != 1:
        return None
    try:
        from huggingface_hub import try_to_load_from_cache
    except ImportError:
        return None
    found = try_to_load_from_cache(model, "tokenizer.json")
    return Path(found) if isinstance(found, str) else None
