"""The analysis notebook runs headless on a CSV the tests produce."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from playground.tables import runs_frame, write_runs_csv
from tests.fakes import record_with

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
NOTEBOOK = REPO / "notebooks" / "compare_backends.ipynb"


def _write_runs(path: Path) -> Path:
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
    return write_runs_csv(runs_frame(r.as_row() for r in records), path)


def _execute(folder: Path) -> nbformat.NotebookNode:
    """Run the notebook as Jupyter would when opened from `folder`."""
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}}).execute()
    return notebook


def _printed(notebook: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for cell in notebook.cells for o in cell.get("outputs", []))


def test_notebook_summarises_and_plots_an_exported_csv(tmp_path, monkeypatch):
    csv_path = _write_runs(tmp_path / "runs.csv")
    monkeypatch.setenv("PLAYGROUND_RUNS_CSV", str(csv_path))
    monkeypatch.setenv("PLAYGROUND_FIGURE", str(tmp_path / "figure.png"))
    notebook = _execute(NOTEBOOK.parent)
    assert "12 runs from" in _printed(notebook)
    assert (tmp_path / "figure.png").stat().st_size > 5_000
    summary_html = notebook.cells[3].outputs[0]["data"]["text/plain"]
    assert "local" in summary_html and "non-stream" in summary_html


def test_a_csv_without_a_successful_run_is_summarised_and_not_plotted(tmp_path, monkeypatch):
    # What `compare --csv` writes on a machine where no backend answers.
    failed = [
        record_with(run_id=f"{mode}{i}", pane="local", mode=mode, status="error", error_type="unreachable",
                    error_message="cannot reach 127.0.0.1:8000", ttft_s=None, e2e_s=None, decode_tps=None)
        for mode in ("stream", "non-stream")
        for i in range(2)
    ]  # fmt: skip
    csv_path = write_runs_csv(runs_frame(r.as_row() for r in failed), tmp_path / "runs.csv")
    monkeypatch.setenv("PLAYGROUND_RUNS_CSV", str(csv_path))
    monkeypatch.setenv("PLAYGROUND_FIGURE", str(tmp_path / "figure.png"))
    printed = _printed(_execute(NOTEBOOK.parent))
    assert "4 runs from" in printed and f"no successful run in {csv_path}: nothing to plot" in printed
    assert not (tmp_path / "figure.png").exists()


def test_without_the_variable_it_finds_runs_csv_one_folder_up_where_compare_wrote_it(tmp_path, monkeypatch):
    # A checkout-like layout outside the repository: runs.csv at the root, the notebook opened from notebooks/.
    csv_path = _write_runs(tmp_path / "runs.csv")
    opened_from = tmp_path / "notebooks"
    opened_from.mkdir()
    monkeypatch.delenv("PLAYGROUND_RUNS_CSV", raising=False)
    monkeypatch.setenv("PLAYGROUND_FIGURE", str(tmp_path / "figure.png"))
    monkeypatch.setenv("PYTHONPATH", str(REPO))  # the kernel imports playground from this checkout
    assert f"12 runs from {csv_path}:" in _printed(_execute(opened_from))
