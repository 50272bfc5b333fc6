"""The Gradio page, built by a factory from a config and a run store.

Layout first (panes in a loop, three per row), then all event wiring in `_wire_events`.
Send runs one cheap kick-off event that starts the turn in the runner; each pane's
renderer is attached with `.success`, so the browser runs them side by side.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from functools import partial

import gradio as gr

from playground.config import PlaygroundConfig
from playground.panes import BackendContext, build_panes
from playground.preparation import Preparation
from playground.runner import FanOutRunner
from playground.store import RunStore
from playground.ui.arena import build_arena_tab
from playground.ui.controller import Controller, PaneDirectory
from playground.ui.look_closer import build_look_closer_tab
from playground.ui.progress import add_progress_sink, route_progress
from playground.ui.results import Results
from playground.ui.results_area import ResultsArea, build_results_area, results_update, wire_results_area
from playground.ui.session import SessionRegistry
from playground.ui.settings import COPYABLE_FIELDS, PaneControls, build_controls, model_choices

PANES_PER_ROW = 3
# A further tab of the page: built inside its own gr.Tab, over the same controller (runner, store,
# panes). Each capability (arena, load sweep, …) lives in its own module and joins by being listed
# in PAGE_TABS; the Compare tab stays first and the default.
TabBuilder = Callable[[gr.Blocks, Controller], None]
PAGE_TABS: tuple[tuple[str, TabBuilder], ...] = (("Arena", build_arena_tab), ("Look closer", build_look_closer_tab))
# Each row of panes is a grid whose panes share its three rows (header, chat, settings) through a
# subgrid: a header that wraps onto one more line moves every chat of the row down alike.
PAGE_CSS = """
.pane-row { display: grid !important; grid-template-columns: repeat(auto-fit, minmax(min(320px, 100%), 1fr)); }
.pane-row > .pane { display: grid !important; grid-row: span 3; grid-template-rows: subgrid; }
.pane-row > .pane > * { align-self: start; }
"""


@dataclass
class PaneView:
    header: gr.Markdown
    chat: gr.Chatbot
    live: gr.Chatbot
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
    results: ResultsArea

    def settings_inputs(self) -> list:
        return [component for pane in self.panes for component in pane.controls.inputs()]

    def results_outputs(self) -> list:
        return self.results.outputs()

    def buttons(self) -> list:
        return [self.send, self.regenerate, self.stop]


def build_app(config: PlaygroundConfig, store: RunStore, context: BackendContext | None = None) -> gr.Blocks:
    """Build the page; its panes are prepared in the background (see `build_controller`), from its first run on."""
    return build_page(build_controller(config, store, context))


def build_controller(
    config: PlaygroundConfig,
    store: RunStore,
    context: BackendContext | None = None,
    when_prepared: Callable[[], None] | None = None,
) -> Controller:
    """Everything the page drives (panes, runner, sessions, results).

    Clients and local models are prepared in a background thread, started by
    `controller.start_preparing()` once the page serves (or by the first run), so the page answers
    while a model loads; runs wait until every pane is prepared, before their clocks start.
    `when_prepared` runs once all panes are ready.
    """
    context = context or BackendContext()
    panes = build_panes(config, context)
    preparation = Preparation(panes, after=when_prepared)
    return Controller(
        directory=PaneDirectory(config, panes, context),
        runner=FanOutRunner(store, preparation=preparation),
        sessions=SessionRegistry([p.name for p in panes]),
        results=Results(store),
    )


def build_page(controller: Controller, tabs: Sequence[tuple[str, TabBuilder]] = PAGE_TABS) -> gr.Blocks:
    """The Gradio page over a controller; it holds no state of its own."""
    # Gradio's queue (made with the Blocks) sums up every event it has recorded (up to 10,000) with
    # pandas after each event, for a monitoring page this app does not serve (gradio/queueing.py,
    # compute_analytics_summary): 5-15 ms of the server's CPU per event, about ten events a turn,
    # right as the answers end. Once per 1,000 events instead; a value set in the environment wins.
    os.environ.setdefault("GRADIO_ANALYTICS_CACHE_FREQUENCY", "1000")
    # Gradio keeps a copy of every file the page offers (a session's CSV, once per turn): copies older
    # than a day are deleted, checked daily, and all of them when the server stops.
    with gr.Blocks(
        title="LLM playground", fill_width=True, analytics_enabled=analytics_enabled(), delete_cache=(86_400, 86_400)
    ) as demo:
        sink = add_progress_sink()
        gr.Markdown("## LLM playground — one prompt, every pane, measured alike")
        with gr.Tabs(elem_id="page-tabs"):
            with gr.Tab("Compare", id="compare", elem_id="tab-compare"):
                view = _layout(controller)
                _wire_events(demo, controller, view)
            for title, build_tab in tabs:
                tab_id = title.lower().replace(" ", "-")
                with gr.Tab(title, id=tab_id, elem_id=f"tab-{tab_id}"):
                    build_tab(demo, controller)
        route_progress(demo, sink)
    return demo


def analytics_enabled() -> bool:
    """Gradio's usage analytics stay off unless the user turns them on (GRADIO_ANALYTICS_ENABLED=True)."""
    return os.environ.get("GRADIO_ANALYTICS_ENABLED", "False") == "True"


def _layout(controller: Controller) -> PageView:
    # Without asking the servers: the page serves first, each visit fills in the details (`_wire_page_events`).
    headers = controller.headers(ask_servers=False)
    pane_views = []
    for start in range(0, len(controller.panes), PANES_PER_ROW):
        with gr.Row(equal_height=False, elem_classes=["pane-row"]):
            for index in range(start, min(start + PANES_PER_ROW, len(controller.panes))):
                pane = controller.panes[index]
                with gr.Column(min_width=320, elem_id=f"pane-{index}", elem_classes=["pane"]):
                    pane_header = gr.Markdown(headers[index], elem_id=f"pane-{index}-header")
                    # The history, written once a turn; the current turn streams into the small chat
                    # under it, whose updates cost the browser the same whatever the history's length.
                    with gr.Column(elem_id=f"pane-{index}-chat", elem_classes=["pane-chat"]):
                        chat = gr.Chatbot(label=pane.name, height=420, elem_id=f"pane-{index}-history", buttons=["copy"])
                        # A fixed height: a chat that grew with the answer would lay out the row's
                        # history chats again on every update.
                        live = gr.Chatbot(
                            show_label=False, height=300, visible=False, elem_id=f"pane-{index}-live", buttons=["copy"]
                        )
                    pane_views.append(PaneView(pane_header, chat, live, build_controls(pane, index)))
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
    return PageView(pane_views, prompt, send, stop, regenerate, clear, both_modes, build_results_area())


def _wire_events(demo: gr.Blocks, controller: Controller, view: PageView) -> None:
    settings = view.settings_inputs()
    unlimited = {"concurrency_limit": None}

    def kick_off(regenerate: bool):
        # gr.Request comes first: Gradio injects it by position and cannot after *values.
        def start(request: gr.Request, prompt: str, both: bool, *values):
            controller.start_turn(prompt, both, values, request.session_hash, regenerate=regenerate)
            buttons = ["", gr.update(interactive=False), gr.update(interactive=False), gr.update(interactive=True)]
            if not regenerate:
                return buttons
            # The turn taken back leaves the history chats here, once; the renderers never touch them.
            histories = [controller.pane_history(i, request.session_hash)[0] for i in range(len(view.panes))]
            return [*buttons, *histories]

        return start

    turn = {"inputs": [view.prompt, view.both_modes, *settings], "outputs": [view.prompt, view.send, view.regenerate, view.stop],
            "show_progress": "hidden", **unlimited}  # fmt: skip
    send_event = gr.on([view.send.click, view.prompt.submit], kick_off(False), api_name="send", **turn)
    regenerate_outputs = {"outputs": [*turn["outputs"], *(p.chat for p in view.panes)]}
    regenerate_event = view.regenerate.click(kick_off(True), api_name="regenerate", **(turn | regenerate_outputs))
    _attach_renderers(send_event, controller, view, regenerate=False)
    _attach_renderers(regenerate_event, controller, view, regenerate=True)

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
    _wire_page_events(demo, controller, view)


def _wire_page_events(demo: gr.Blocks, controller: Controller, view: PageView) -> None:
    """What happens as a page opens and closes, and the results area's events."""
    unlimited = {"concurrency_limit": None}
    headers = [p.header for p in view.panes]

    async def current_headers() -> AsyncIterator[dict]:
        # Asking servers may take seconds: in a thread, so the page's event loop stays free. A dict,
        # so that one pane's single header is not taken for a list of outputs.
        yield dict(zip(headers, await asyncio.to_thread(controller.headers), strict=True))
        if controller.preparing():
            await controller.until_prepared()
            yield dict(zip(headers, await asyncio.to_thread(controller.headers), strict=True))

    demo.load(current_headers, None, headers, api_name="headers", **unlimited)
    models = [pane.controls.model for pane in view.panes]

    def offered() -> dict:
        return dict(zip(models, model_choices(controller.panes), strict=True))

    demo.load(offered, None, models, api_visibility="private", **unlimited)
    unset = [number for pane in view.panes for number in pane.controls.unset_numbers()]
    if unset:
        demo.load(lambda: dict.fromkeys(unset), None, unset, api_visibility="private", **unlimited)
    wire_results_area(demo, controller, view.results)

    def free(request: gr.Request) -> None:
        controller.sessions.free(request.session_hash)

    demo.unload(free)


def _attach_renderers(event, controller: Controller, view: PageView, regenerate: bool) -> None:
    api_prefix = "regenerate_" if regenerate else ""

    def after_pane(request: gr.Request, index: int) -> list:
        # Runs after the pane's history event, whether that succeeded or not. The last of these in a
        # turn writes the plot and CSV and frees the buttons: a turn sent earlier would race the
        # history chats still being written.
        turn_end = controller.show_pane_end(index, request.session_hash)
        buttons = [gr.update(interactive=True), gr.update(interactive=True), gr.update(interactive=False)]
        return [*results_update(controller, request, turn_finished=turn_end), *(buttons if turn_end else [gr.skip()] * 3)]

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

        def history(request: gr.Request, index: int = index):
            return controller.pane_history(index, request.session_hash)

        def pane_end(request: gr.Request, index: int = index):
            return after_pane(request, index)

        # Only the live chat is an output while the turn streams: an event's outputs cost the page on
        # every update, and the history chat may be long.
        rendered = event.success(render, None, pane.live, api_name=f"{api_prefix}pane_{index}", show_progress="hidden", **group)
        # The browser starts this once it has shown the render's last update: the final text is on the
        # screen before the history chat's one re-render of the turn.
        committed = rendered.then(
            history, None, [pane.chat, pane.live], api_name=f"{api_prefix}pane_{index}_history",
            show_progress="hidden", concurrency_limit=None,
        )  # fmt: skip
        committed.then(
            pane_end, None, [*view.results_outputs(), *view.buttons()], api_visibility="private",
            show_progress="hidden", concurrency_limit=None,
        )  # fmt: skip


def _copy_to_all(pane_count: int, *values):
    assert len(values) == len(COPYABLE_FIELDS)
    return list(values) * pane_count
