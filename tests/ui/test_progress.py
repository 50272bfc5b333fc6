"""Progress targets of the page's events: none large, so streaming does not re-render what the page shows."""

import gradio as gr

from playground.config import parse_config
from playground.store import RunStore
from playground.ui.app import build_app
from playground.ui.progress import LARGE_VALUED, add_progress_sink, route_progress


def large_progress_targets(demo: gr.Blocks) -> list[str]:
    """Events whose progress lands on a large-valued component, as `api_name: component`."""
    return [
        f"{function.api_name}: {type(block).__name__}"
        for function in demo.fns.values()
        for block in function.show_progress_on or function.outputs
        if isinstance(block, LARGE_VALUED)
    ]


def test_no_event_of_the_page_shows_progress_on_a_large_component(tmp_path):
    config = parse_config({"panes": [
        {"name": "a", "backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"},
        {"name": "b", "backend": "ollama", "model": "q", "host": "http://127.0.0.1:9"},
    ]})  # fmt: skip
    demo = build_app(config, RunStore(tmp_path / "runs.sqlite"))
    assert large_progress_targets(demo) == []
    dependencies = demo.get_config_file()["dependencies"]
    assert all(dependency["show_progress_on"] for dependency in dependencies)


def test_progress_goes_to_small_outputs_or_the_sink():
    with gr.Blocks() as demo:
        chat = gr.Chatbot()
        table = gr.Dataframe()
        status = gr.Markdown()
        button = gr.Button()
        button.click(lambda: ([], None, "done"), None, [chat, table, status], api_name="shown")
        button.click(lambda: [], None, chat, api_name="large_only")
        button.click(lambda: "x", None, status, show_progress="hidden", api_name="hidden")
        demo.load(lambda: "x", None, status, api_name="on_load")
        sink = add_progress_sink()
    assert len(large_progress_targets(demo)) == 3
    route_progress(demo, sink)
    targets = {fn.api_name: fn.show_progress_on for fn in demo.fns.values()}
    assert targets == {"shown": [status], "large_only": [sink], "hidden": [sink], "on_load": [sink]}
    assert large_progress_targets(demo) == []
