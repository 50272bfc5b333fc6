"""The browser page: a thin layer over the runner, the run store and the metrics."""

from playground.ui.gradio_import import skip_gradio_stub_writer

# Before any page module imports gradio: halves the page's start-up (see gradio_import).
skip_gradio_stub_writer()
