"""The Gradio page, built by a factory from a config and a run store.

Layout first (panes in a loop, three per row), then all event wiring in `_wire_events`.
Send runs one cheap kick-off event that starts the turn in the runner; each pane's
renderer is attached with `.success`, so the browser runs them side by side.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import partial

import gradio as gr

from playground.config import PlaygroundConfig
from playground.panes import BackendContext, build_panes
from playground.runner import FanOutRunner
from playground.store import RunStore
from playground.ui.controller import Controller, PaneDirectory
from playground.ui.results import Results
from playground.ui.session import SessionRegistry
from playground.ui.settings import COPYABLE_FIELDS, PaneControls, build_controls

PANES_PER_ROW = 3


@dataclass
class PaneView:
    header: gr.Markdown
    chat: gr.Chatbot
    controls: PaneControls


@dataclass
class PageView:
    panes: list[PaneView]
    prompt: gr.Textbox
    send: gr.Button
    stop: gr.Button
    regenerate: gr.Button
    clear: gr.Button
    both_modes: gr.Checkbox
    table: gr.Dataframe
    summary: gr.Dataframe
    plot: gr.Plot
    csv_session: gr.DownloadButton
    csv_all: gr.DownloadButton

    def settings_inputs(self) -> list:
        return [component for pane in self.panes for component in pane.controls.inputs()]

    def results_outputs(self) -> list:
        return [self.table, self.summary, self.plot, self.csv_session, self.csv_all]

    def buttons(self) -> list:
        return [self.send, self.regenerate, self.stop]


def build_app(config: PlaygroundConfig, store: RunStore, context: BackendContext | None = None) -> gr.Blocks:
    """Build the page. Slow per-pane preparation (loading local models) happens here, before serving."""
    context = context or BackendContext()
    panes = build_panes(config, context)
    FanOutRunner.prepare(panes)
    controller = Controller(
        directory=PaneDirectory(config, panes, context),
        runner=FanOutRunner(store),
        sessions=SessionRegistry([p.name for p in panes]),
        results=Results(store),
    )
    with gr.Blocks(title="LLM playground", fill_width=True) as demo:
        view = _layout(controller)
        _wire_events(demo, controller, view)
    demo.controller = controller  # for tests and embedding; the app itself holds no module state
    return demo


def _layout(controller: Controller) -> PageView:
    gr.Markdown("## LLM playground — one prompt, every pane, measured alike")
    headers = controller.headers()
    pane_views = []
    for start in range(0, len(controller.panes), PANES_PER_ROW):
        with gr.Row(equal_height=False):
            for index in range(start, min(start + PANES_PER_ROW, len(controller.panes))):
                pane = controller.panes[index]
                with gr.Column(min_width=320, elem_id=f"pane-{index}"):
                    pane_header = gr.Markdown(headers[index], elem_id=f"pane-{index}-header")
                    chat = gr.Chatbot(label=pane.name, height=420, elem_id=f"pane-{index}-chat", buttons=["copy"])
                    pane_views.append(PaneView(pane_header, chat, build_controls(pane, index)))
    with gr.Row():
        prompt = gr.Textbox(
            placeholder="Ask every pane… (Enter sends, Shift+Enter for a new line)",
            show_label=False,
            lines=1,
            max_lines=8,
            scale=6,
            elem_id="prompt",
        )
        with gr.Column(scale=1, min_width=160):
            send = gr.Button("Send", variant="primary", elem_id="send")
            stop = gr.Button("Stop", variant="stop", interactive=False, elem_id="stop")
    with gr.Row():
        both_modes = gr.Checkbox(
            label="Run both modes (stream and non-stream, alternating order)", value=False, elem_id="both-modes"
        )
        regenerate = gr.Button("Regenerate", size="sm", interactive=False, elem_id="regenerate")
        clear = gr.Button("Clear", size="sm", elem_id="clear")
    with gr.Accordion("Results (this session)", open=True):
        table = gr.Dataframe(label="Runs, newest first", interactive=False, elem_id="runs-table", wrap=True)
        summary = gr.Dataframe(label="Summary per pane × mode (median / p90)", interactive=False, elem_id="summary-table")
        plot = gr.Plot(label="Median TTFT and E2E per pane × mode", elem_id="median-plot")
        with gr.Row():
            csv_session = gr.DownloadButton("Download CSV (this session)", elem_id="csv-session", interactive=False)
            csv_all = gr.DownloadButton("Download CSV (whole log)", elem_id="csv-all", interactive=False)
    return PageView(pane_views, prompt, send, stop, regenerate, clear, both_modes, table, summary, plot, csv_session, csv_all)


def _wire_events(demo: gr.Blocks, controller: Controller, view: PageView) -> None:
    settings = view.settings_inputs()
    unlimited = {"concurrency_limit": None}

    def kick_off(regenerate: bool):
        # gr.Request comes first: Gradio injects it by position and cannot after *values.
        def start(request: gr.Request, prompt: str, both: bool, *values):
            controller.start_turn(prompt, both, values, request.session_hash, regenerate=regenerate)
            return "", gr.update(interactive=False), gr.update(interactive=False), gr.update(interactive=True)

        return start

    turn = {"inputs": [view.prompt, view.both_modes, *settings], "outputs": [view.prompt, view.send, view.regenerate, view.stop],
            "show_progress": "hidden", **unlimited}  # fmt: skip
    send_event = gr.on([view.send.click, view.prompt.submit], kick_off(False), api_name="send", **turn)
    regenerate_event = view.regenerate.click(kick_off(True), api_name="regenerate", **turn)
    _attach_renderers(send_event, controller, view, api_prefix="")
    _attach_renderers(regenerate_event, controller, view, api_prefix="regenerate_")

    def stop(request: gr.Request):
        controller.stop(request.session_hash)
        return gr.update(interactive=False)

    view.stop.click(stop, None, view.stop, api_name="stop", **unlimited)

    def clear(request: gr.Request):
        controller.clear(request.session_hash)
        return [[] for _ in view.panes] + [gr.update(interactive=False)]

    view.clear.click(clear, None, [p.chat for p in view.panes] + [view.regenerate], api_name="clear", **unlimited)
    for index, pane in enumerate(view.panes):
        others = [component for other in view.panes for component in other.controls.copyable()]
        pane.controls.copy_button.click(
            partial(_copy_to_all, len(view.panes)),
            pane.controls.copyable(),
            others,
            api_name=f"copy_settings_{index}",
            **unlimited,
        )
    demo.load(lambda: controller.headers(), None, [p.header for p in view.panes], api_name="headers", **unlimited)

    def results(request: gr.Request):
        return _results(controller, request)

    demo.load(results, None, view.results_outputs(), api_name="results", **unlimited)

    def free(request: gr.Request) -> None:
        controller.sessions.free(request.session_hash)

    demo.unload(free)


def _attach_renderers(event, controller: Controller, view: PageView, api_prefix: str) -> None:
    def after_pane(request: gr.Request):
        busy = controller.busy(request.session_hash)
        buttons = [gr.update(interactive=not busy), gr.update(interactive=not busy), gr.update(interactive=busy)]
        return [*_results(controller, request, turn_finished=not busy), *buttons]

    for index, pane in enumerate(view.panes):
        limit = controller.panes[index].backend.max_concurrency
        # A local model serves one run at a time: its panes share a limited group.
        group = (
            {"concurrency_id": f"{controller.panes[index].backend.kind}-device", "concurrency_limit": limit}
            if limit
            else {"concurrency_limit": None}
        )

        def render(request: gr.Request, index: int = index):
            yield from controller.render_pane(index, request.session_hash)

        rendered = event.success(render, None, pane.chat, api_name=f"{api_prefix}pane_{index}", show_progress="hidden", **group)
        rendered.then(
            after_pane, None, [*view.results_outputs(), *view.buttons()], api_visibility="private", concurrency_limit=None
        )


def _results(controller: Controller, request: gr.Request, turn_finished: bool = True):
    results = controller.results
    runs = results.runs(request.session_hash)
    if runs.empty:
        return [results.table(runs), results.summary(runs), None, gr.update(interactive=False), gr.update(interactive=False)]
    if not turn_finished:
        # Other panes are still streaming: keep the tables current, but leave the plot and the
        # CSV files (CPU-heavy, holding the GIL) for when the turn is over.
        return [results.table(runs), results.summary(runs), gr.skip(), gr.skip(), gr.skip()]
    return [
        results.table(runs),
        results.summary(runs),
        results.plot(runs),
        gr.update(value=results.csv(request.session_hash), interactive=True),
        gr.update(value=results.csv(None), interactive=True),
    ]


def _copy_to_all(pane_count: int, *values):
    assert len(values) == len(COPYABLE_FIELDS)
    return list(values) * pane_count
