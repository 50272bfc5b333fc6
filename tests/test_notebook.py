"""The analysis notebook runs headless on a CSV the tests produce."""

from pathlib import Path

import nbformat
from nbclient import NotebookClient

from playground.tables import runs_frame, write_runs_csv
from tests.fakes import record_with

NOTEBOOK = Path(__file__).parent.parent / "notebooks" / "compare_backends.ipynb"


def test_notebook_summarises_and_plots_an_exported_csv(tmp_path, monkeypatch):
    records = [
        record_with(
            run_id=f"{pane}{mode}{i}",
            pane=pane,
            mode=mode,
            ttft_s=0.1 * (i + 1),
            decode_tps=None if mode == "non-stream" else 50.0,
        )
        for pane in ("local", "cloud")
        for mode in ("stream", "non-stream")
        for i in range(3)
    ]
    csv_path = write_runs_csv(runs_frame(r.as_row() for r in records), tmp_path / "runs.csv")
    monkeypatch.setenv("PLAYGROUND_RUNS_CSV", str(csv_path))
    monkeypatch.setenv("PLAYGROUND_FIGURE", str(tmp_path / "figure.png"))
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}).execute()
    outputs = "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))
    assert "12 runs from" in outputs
    assert (tmp_path / "figure.png").stat().st_size > 5_000
    summary_html = notebook.cells[3].outputs[0]["data"]["text/plain"]
    assert "local" in summary_html and "non-stream" in summary_html
