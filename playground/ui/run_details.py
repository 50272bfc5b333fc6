"""A closer look at one run: a click on a row of the run table shows the run's whole record and its
token timeline; "Timeline of this batch" overlays every run of the fan-out it belonged to.

Everything shown is read from the run log (the record and its chunk timeline), for the clicking
session's own runs only.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import gradio as gr
import pandas as pd

from playground.records import COLUMNS
from playground.store import RunStore
from playground.tables import counted
from playground.timeline_plot import TimelineSeries, timeline_figure

HINT = "Click a run in the table to see its whole record and its token timeline."
RECORD_HEADERS = ["column", "value"]


class RunDetails:
    """Reads one run (or its batch) of a session from the run log, for the details view."""

    def __init__(self, store: RunStore) -> None:
        self.store = store

    def row(self, run_id: str, session_id: str | None) -> dict[str, Any] | None:
        return next((row for row in self.store.rows(session_id) if row["run_id"] == run_id), None)

    def batch_rows(self, run_id: str, session_id: str | None) -> list[dict[str, Any]]:
        """The runs of the batch `run_id` belongs to, in the order they started."""
        rows = self.store.rows(session_id)
        batch = next((row["batch_id"] for row in rows if row["run_id"] == run_id), None)
        return [row for row in rows if row["batch_id"] == batch]

    @staticmethod
    def record_frame(row: dict[str, Any]) -> pd.DataFrame:
        """Every column of the record, one per line, in the run log's order."""
        return pd.DataFrame([(column, _cell(row[column])) for column in COLUMNS], columns=RECORD_HEADERS)

    def figure(self, rows: list[dict[str, Any]]):
        offsets = self.store.timelines([row["run_id"] for row in rows])
        return timeline_figure([_series(row, offsets.get(row["run_id"], [])) for row in rows])

    @staticmethod
    def title(row: dict[str, Any]) -> str:
        when = (row["started_at"] or "")[:19].replace("T", " ")
        stalls = "" if row["stalls"] is None else f" · {counted(row['stalls'], 'stall')}"
        return (
            f"**{row['pane']} · {row['mode']}** · {row['status']}{stalls} · started {when} UTC · "
            f"run `{row['run_id'][:8]}` of batch `{row['batch_id'][:8]}`"
        )


def _cell(value: Any) -> str:
    return "" if value is None else str(value)


def _series(row: dict[str, Any], offsets_s: list[float]) -> TimelineSeries:
    return TimelineSeries(
        label=f"{row['pane']} · {row['mode']}",
        offsets_s=tuple(offsets_s),
        ttft_s=row["ttft_s"],
        streaming=row["mode"] == "stream",
        output_tokens=row["output_tokens"],
    )


@dataclass
class DetailsView:
    title: gr.Markdown
    body: gr.Row
    record: gr.Dataframe
    timeline: gr.Plot
    batch_button: gr.Button
    selected: gr.State  # the run id shown, for the batch button

    def outputs(self) -> list:
        return [self.title, self.body, self.record, self.timeline, self.selected]


def build_details_view() -> DetailsView:
    """The details area, empty until a run is clicked; build it inside the results area."""
    title = gr.Markdown(HINT, elem_id="run-details-title")
    with gr.Row(visible=False, elem_id="run-details") as body:
        record = gr.Dataframe(
            headers=RECORD_HEADERS, label="The whole record", interactive=False, wrap=True, max_height=560,
            column_widths=["34%", "66%"], scale=2, elem_id="run-record",
        )  # fmt: skip
        with gr.Column(scale=3):
            timeline = gr.Plot(label="Token timeline", elem_id="run-timeline")
            batch_button = gr.Button("Timeline of this batch", size="sm", elem_id="batch-timeline")
    return DetailsView(title, body, record, timeline, batch_button, gr.State(None))


def wire_details(view: DetailsView, table: gr.Dataframe, shown_run_ids: gr.State, details: RunDetails) -> None:
    """A row click shows that run; the batch button overlays the runs of its batch."""

    # Gradio passes the clicked cell as SelectData: `index` is [row, column] for a Dataframe.
    # https://gradio.app/docs/gradio/selectdata
    def show_run(shown: list[str] | None, event: gr.SelectData, request: gr.Request):
        row_index = event.index[0] if isinstance(event.index, list | tuple) else event.index
        run_id = (shown or [])[row_index] if shown and 0 <= row_index < len(shown) else None
        row = details.row(run_id, request.session_hash) if run_id else None
        if row is None:
            return [HINT, gr.update(visible=False), gr.skip(), gr.skip(), None]
        return [details.title(row), gr.update(visible=True), details.record_frame(row), details.figure([row]), run_id]

    def show_batch(run_id: str | None, request: gr.Request):
        rows = details.batch_rows(run_id, request.session_hash) if run_id else []
        if not rows:
            return gr.skip()
        return details.figure(rows)

    unlimited = {"concurrency_limit": None}
    table.select(show_run, shown_run_ids, view.outputs(), api_visibility="private", **unlimited)
    view.batch_button.click(show_batch, view.selected, view.timeline, api_visibility="private", **unlimited)
