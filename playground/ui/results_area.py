"""The Compare tab's results area: its layout and its events.

Run table (a click opens the run's record and timeline), summary per pane × mode, median plot and
CSV downloads; every view is read from the run log through `Results` and `RunDetails`.
"""

from __future__ import annotations

from dataclasses import dataclass

import gradio as gr

from playground.ui.controller import Controller
from playground.ui.results import SUMMARY_COLUMN_WIDTHS, TABLE_DATATYPES
from playground.ui.run_details import DetailsView, RunDetails, build_details_view, wire_details

# In the browser: saves the whole-log CSV that the click has just written, like any download.
SAVE_FILE_JS = """
(file) => {
  if (!file?.url) return;
  const link = document.createElement("a");
  link.href = file.url;
  link.download = file.orig_name || "runs.csv";
  document.body.appendChild(link);
  link.click();
  link.remove();
}
"""


@dataclass
class ResultsArea:
    table: gr.Dataframe
    summary: gr.Dataframe
    plot: gr.Plot
    csv_session: gr.DownloadButton
    csv_all: gr.DownloadButton
    csv_all_file: gr.File
    shown_run_ids: gr.State  # the run id of each row of the table, newest first
    details: DetailsView

    def outputs(self) -> list:
        """What `results_update` fills, in its order (the state is not part of the page's API)."""
        return [self.table, self.summary, self.plot, self.csv_session, self.csv_all, self.shown_run_ids]


def build_results_area() -> ResultsArea:
    with gr.Accordion("Results (this session)", open=True):
        table = gr.Dataframe(
            label="Runs, newest first (click a run for its whole record and token timeline)",
            interactive=False, datatype=TABLE_DATATYPES, max_height=360, elem_id="runs-table",
        )  # fmt: skip
        details = build_details_view()
        # Thirteen columns: at laptop widths a long header takes a second line rather than the
        # table growing wider than the page.
        summary = gr.Dataframe(
            label="Summary per pane × mode: median (its 95 % confidence interval), p90", interactive=False, wrap=True,
            column_widths=SUMMARY_COLUMN_WIDTHS, elem_id="summary-table",
        )  # fmt: skip
        plot = gr.Plot(label="Median TTFT and E2E per pane × mode", elem_id="median-plot")
        with gr.Row():
            csv_session = gr.DownloadButton("Download CSV (this session)", elem_id="csv-session", interactive=False)
            # The whole log can be large: this button never holds a file. A click writes the CSV into
            # the hidden csv_all_file, and the browser then saves it.
            csv_all = gr.DownloadButton("Download CSV (whole log)", elem_id="csv-all", interactive=False)
            csv_all_file = gr.File(visible=False, elem_id="csv-all-file")
    return ResultsArea(table, summary, plot, csv_session, csv_all, csv_all_file, gr.State([]), details)


def wire_results_area(demo: gr.Blocks, controller: Controller, area: ResultsArea) -> None:
    """Fill the area as a page opens, write the whole log on demand, open a run on a click."""
    unlimited = {"concurrency_limit": None}

    def results(request: gr.Request):
        return results_update(controller, request)

    demo.load(results, None, area.outputs(), api_name="results", **unlimited)
    written = area.csv_all.click(lambda: controller.results.csv(None), None, area.csv_all_file, api_name="csv_all", **unlimited)
    written.success(None, area.csv_all_file, None, js=SAVE_FILE_JS, api_visibility="private")
    wire_details(area.details, area.table, area.shown_run_ids, RunDetails(controller.results.store))


def results_update(controller: Controller, request: gr.Request, turn_finished: bool = True) -> list:
    results = controller.results
    runs = results.runs(request.session_hash)
    shown = results.table_run_ids(runs)
    # Any session may download the whole log once it holds a run, whoever made it.
    whole_log = gr.update(interactive=results.store.count() > 0)
    if runs.empty:
        return [results.table(runs), results.summary(runs), None, gr.update(interactive=False), whole_log, shown]
    if not turn_finished:
        # Other panes are still streaming: keep the tables current, but leave the plot and the
        # CSV file (CPU-heavy, holding the GIL) for when the turn is over.
        return [results.table(runs), results.summary(runs), gr.skip(), gr.skip(), gr.skip(), shown]
    return [
        results.table(runs),
        results.summary(runs),
        results.plot(runs),
        gr.update(value=results.csv(request.session_hash), interactive=True),
        whole_log,
        shown,
    ]
