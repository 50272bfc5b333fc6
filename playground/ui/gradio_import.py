"""Import gradio without rewriting its type stubs, which is half of what `import gradio` costs.

Gradio 6 regenerates the `.pyi` stub of every component class as the class is defined: its
metaclass (`gradio/component_meta.py`, `ComponentMeta.__new__` → `create_or_modify_pyi`) reads the
component's source, parses it with `ast`, renders a jinja template and compares the result with the
stub shipped in the wheel — about 80 times per import. It is a tool for gradio's own developers
(the stubs give editors the event methods); nothing at run time reads them. Measured here: `import
gradio` 4.8–5.1 s with it, 2.5–2.7 s without (benchmarks/RESULTS.md, startup).

The stub writer is replaced by a no-op as `gradio.component_meta` finishes loading, before any
component class exists. If gradio renames it, nothing is replaced and gradio imports as before
(tests/ui/test_gradio_import.py notices).
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Sequence
from types import ModuleType

STUB_MODULE = "gradio.component_meta"
STUB_WRITER = "create_or_modify_pyi"


def _write_no_stub(*_args: object, **_kwargs: object) -> None:
    """Stands in for gradio's stub writer: the shipped stubs stay as they are."""


class _StubWriterSkipper(importlib.abc.MetaPathFinder):
    """Finds gradio.component_meta the usual way and swaps its stub writer once the module has run."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != STUB_MODULE:
            return None
        sys.meta_path.remove(self)  # one module, once
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None or not hasattr(spec.loader, "exec_module"):
            return spec
        run_module = spec.loader.exec_module

        def exec_module(module: ModuleType) -> None:
            run_module(module)
            if callable(getattr(module, STUB_WRITER, None)):
                setattr(module, STUB_WRITER, _write_no_stub)

        spec.loader.exec_module = exec_module  # type: ignore[method-assign]
        return spec


def skip_gradio_stub_writer() -> bool:
    """Make the coming `import gradio` skip the stub writer; False when gradio is already imported."""
    if STUB_MODULE in sys.modules:
        return False
    if not any(isinstance(finder, _StubWriterSkipper) for finder in sys.meta_path):
        sys.meta_path.insert(0, _StubWriterSkipper())
    return True


def stub_writer_skipped() -> bool:
    """Whether the imported gradio runs without its stub writer."""
    module = sys.modules.get(STUB_MODULE)
    return module is not None and getattr(module, STUB_WRITER, None) is _write_no_stub
