"""Where the page's events show their progress: never on a component whose value is large.

Gradio 6's frontend keeps a loading status for every component that has been a progress target
of an event that ran (an event's `show_progress_on`, else its outputs). On every status message
(each value a streaming event yields is one) it rewrites all of them, and for each it snapshots
the component's props, value included, and hands the copy back to the component, which renders
it anew (gradio 6.31 frontend: `LoadingStatus.update`, `update_loading_stati_state`,
`update_state` → `get_data`). A history chat or the run table that was once an output was thus
copied and re-rendered many times a second while any pane streamed, so the page's cost grew with
what it already showed. Routing progress to an invisible component (which the frontend never
mounts, so it has no props to copy) or to small components keeps that work constant.
"""

from __future__ import annotations

import gradio as gr

# Components whose value can grow with the session: never a progress target.
LARGE_VALUED = (gr.Chatbot, gr.Dataframe, gr.Plot, gr.JSON)


def add_progress_sink() -> gr.HTML:
    """An invisible component that receives the progress of events that show none.

    Add it first: the frontend finds a component by a depth-first search of the page on each
    status message, so the first component is found at once.
    """
    return gr.HTML(visible=False, elem_id="progress-sink")


def route_progress(demo: gr.Blocks, sink: gr.Component) -> None:
    """Point every event of `demo` at small progress targets: its small outputs when it shows
    progress to someone waiting for it, else (page loads, hidden progress, only large outputs)
    the invisible `sink`."""
    for function in demo.fns.values():
        on_load = any(event == "load" for _, event in function.targets)
        if function.show_progress == "hidden" or on_load:
            function.show_progress_on = [sink]
            continue
        wanted = function.show_progress_on or function.outputs
        small = [block for block in wanted if not isinstance(block, LARGE_VALUED)]
        function.show_progress_on = small or [sink]
