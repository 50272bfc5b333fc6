"""The backend registry: kind name → class path. Adding a backend means one module and one line here.

Classes are imported on first use so that, for example, torch is never imported unless a
pane uses the local transformers backend.
"""

from __future__ import annotations

import importlib
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playground.backends.base import Backend

BACKENDS: dict[str, str] = {
    "transformers": "playground.backends.transformers_local:TransformersBackend",
    "ollama": "playground.backends.ollama_native:OllamaBackend",
    "openai": "playground.backends.openai_compatible:OpenAIBackend",
}


@cache
def backend_class(kind: str) -> type[Backend]:
    module_name, _, class_name = BACKENDS[kind].partition(":")
    return getattr(importlib.import_module(module_name), class_name)
