"""Loading local transformers models once per process, and decoding their tokens incrementally.

torch and transformers are imported inside functions, so that a playground without a
local pane never pays for importing them.
"""

from __future__ import annotations

import os
import socket
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from playground.errors import ModelLoadError, ModelNotFound

_MAX_CHAR_TOKENS = 4


@dataclass
class LoadedModel:
    model: Any
    tokenizer: Any
    device: str
    dtype: str
    # One generation at a time per model: concurrent panes queue here (recorded as queue_s).
    lock: threading.Lock = field(default_factory=threading.Lock)


def pick_device(requested: str) -> str:
    import torch

    if requested != "auto":
        return requested
    if torch.cuda.is_available():
        return "cuda"
    if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
        return "mps"
    return "cpu"


def pick_dtype(requested: str, device: str) -> str:
    if requested != "auto":
        return requested
    return "float32" if device == "cpu" else "float16"


def _looks_like_path(model: str) -> bool:
    return model.startswith(("/", "./", "../", "~")) or Path(model).expanduser().exists()


class LocalModelCache:
    """Loaded models keyed by (model, device, dtype); each is loaded once and shared."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._loading: dict[tuple[str, str, str], threading.Lock] = {}
        self._models: dict[tuple[str, str, str], LoadedModel] = {}

    def get(self, model: str, device: str, dtype: str, threads: int | None = None) -> tuple[LoadedModel, bool]:
        """Return the loaded model and whether this call loaded it."""
        resolved_device = pick_device(device)
        key = (model, resolved_device, pick_dtype(dtype, resolved_device))
        with self._lock:
            if key in self._models:
                return self._models[key], False
            key_lock = self._loading.setdefault(key, threading.Lock())
        with key_lock:
            with self._lock:
                if key in self._models:
                    return self._models[key], False
            loaded = load_model(*key, threads=threads)
            with self._lock:
                self._models[key] = loaded
            return loaded, True


def load_model(model: str, device: str, dtype: str, threads: int | None = None) -> LoadedModel:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if threads:
        torch.set_num_threads(threads)
    if _looks_like_path(model) and not Path(model).expanduser().is_dir():
        raise ModelNotFound(f"local model folder {model!r} does not exist — check the model path in the config.")
    local = _looks_like_path(model)
    source = str(Path(model).expanduser()) if local else model
    cached_only = local or _in_hub_cache(model) or not _hub_reachable()
    try:
        tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=cached_only)
        weights = AutoModelForCausalLM.from_pretrained(source, dtype=getattr(torch, dtype), local_files_only=cached_only)
        weights.to(device)
    except torch.OutOfMemoryError:
        raise ModelLoadError(f"out of memory loading {model!r} on {device} as {dtype} — pick a smaller model or dtype.") from None
    except (OSError, ValueError) as exc:
        if "out of memory" in str(exc).lower():
            raise ModelLoadError(f"out of memory loading {model!r} on {device} — pick a smaller model or dtype.") from None
        where = "the Hugging Face Hub is unreachable" if cached_only and not local else "the Hub has no such model"
        raise ModelNotFound(
            f"cannot load model {model!r}: not a local model folder, not in the Hugging Face cache, and {where}. "
            f"Download it first or point `model` at a folder. ({exc.__class__.__name__})"
        ) from None
    except (RuntimeError, TypeError) as exc:
        raise ModelLoadError(f"cannot load {model!r} on {device} as {dtype}: {str(exc)[:200]}") from None
    weights.eval()
    return LoadedModel(model=weights, tokenizer=tokenizer, device=device, dtype=dtype)


def local_model_problem(model: str) -> str | None:
    """Why `model` cannot be loaded here, found without loading it; None when it looks loadable."""
    if _looks_like_path(model):
        return None if Path(model).expanduser().is_dir() else f"local model folder {model!r} does not exist"
    if _in_hub_cache(model) or _hub_reachable():
        return None
    return f"{model!r} is not in the Hugging Face cache and the Hub is unreachable"


def _in_hub_cache(model: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(model, "config.json"), str)


def _hub_reachable(timeout_s: float = 3.0) -> bool:
    """A quick look before a download: huggingface_hub itself retries for minutes when offline."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return False
    endpoint = urlparse(os.environ.get("HF_ENDPOINT", "https://huggingface.co"))
    try:
        with socket.create_connection((endpoint.hostname or "huggingface.co", endpoint.port or 443), timeout=timeout_s):
            return True
    except OSError:
        return False


class IncrementalDetokenizer:
    """Turn token ids into text deltas without re-decoding the whole output on every token.

    Decodes only a short window (the previous token(s) as context plus the new ones), and
    holds back text that ends in an incomplete UTF-8 sequence until it completes.
    """

    def __init__(self, tokenizer: Any, hidden_ids: set[int]) -> None:
        self._tokenizer = tokenizer
        self._hidden = hidden_ids
        self._ids: list[int] = []
        self._prefix = 0
        self._read = 0

    def add(self, token_ids: list[int]) -> str:
        self._ids.extend(i for i in token_ids if i not in self._hidden)
        decode = self._tokenizer.decode
        before = decode(self._ids[self._prefix : self._read], skip_special_tokens=False)
        after = decode(self._ids[self._prefix :], skip_special_tokens=False)
        # A character is at most 4 bytes and every token holds at least one: text still ending in
        # U+FFFD after 4 held tokens is invalid for good, and holding it longer only grows the window.
        settled = not after.endswith("\ufffd") or len(self._ids) - self._read >= _MAX_CHAR_TOKENS
        if len(after) > len(before) and settled:
            self._prefix, self._read = self._read, len(self._ids)
            return after[len(before) :]
        return ""

    def flush(self) -> str:
        """Whatever is still held back (an incomplete sequence at the very end)."""
        before = self._tokenizer.decode(self._ids[self._prefix : self._read], skip_special_tokens=False)
        after = self._tokenizer.decode(self._ids[self._prefix :], skip_special_tokens=False)
        self._prefix = self._read = len(self._ids)
        return after[len(before) :]
