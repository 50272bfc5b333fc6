"""Gradio imported by the page runs without its stub writer, and its components still work."""

from __future__ import annotations

import json
import subprocess
import sys

import gradio as gr

from playground.ui.gradio_import import skip_gradio_stub_writer

CHECK = """
import json, sys
import playground.ui.app
import gradio as gr
from playground.ui.gradio_import import stub_writer_skipped
print(json.dumps({
    "skipped": stub_writer_skipped(),
    "events": callable(gr.Textbox.submit) and callable(gr.Button.click),
    "finders_left": sum(type(f).__name__ == "_StubWriterSkipper" for f in sys.meta_path),
}))
"""


def test_page_imports_gradio_without_the_stub_writer() -> None:
    # A fresh interpreter: in this one gradio was imported before the page's modules.
    output = subprocess.run([sys.executable, "-c", CHECK], capture_output=True, text=True, check=True, timeout=120)
    found = json.loads(output.stdout.strip().splitlines()[-1])
    # Fails if gradio renames its stub writer: the page would then start at half speed unnoticed.
    assert found == {"skipped": True, "events": True, "finders_left": 0}


def test_nothing_is_hooked_once_gradio_is_imported() -> None:
    before = list(sys.meta_path)
    assert skip_gradio_stub_writer() is False
    assert sys.meta_path == before
    assert callable(gr.Chatbot.change)
