"""The page's results area, read from the run log."""

import gc
from pathlib import Path

from playground.store import RunStore
from playground.tables import read_runs_csv
from playground.ui.results import SUMMARY_COLUMN_WIDTHS, SUMMARY_HEADERS, TABLE_HEADERS, Results
from tests.fakes import record_with


def test_table_is_newest_first_and_the_summary_marks_estimates(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record_with(run_id="a", started_at="2026-01-01T00:00:01.000000+00:00", token_source="estimate"))
    store.add(record_with(run_id="b", started_at="2026-01-01T00:00:02.000000+00:00", session_id="other"))
    results = Results(store, tmp_path / "csv")
    mine = results.runs("s")
    everyone = results.runs(None)
    assert results.table_run_ids(everyone) == ["b", "a"]
    assert list(results.table(everyone)["out tokens"]) == ["91", "~91"]
    assert results.summary(mine).iloc[0]["tokens"] == "~ estimated (1 of 1)"
    assert len(read_runs_csv(results.csv("s"))) == 1 and len(read_runs_csv(results.csv(None))) == 2


def test_no_plot_before_a_successful_run(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record_with(status="error", error_type="server", error_message="500"))
    results = Results(store, tmp_path / "csv")
    assert results.plot(results.runs(None)) is None


def test_the_run_table_shows_a_few_figures_in_units_and_the_summary_short_headers(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record_with(run_id="a", ttft_s=0.1234, e2e_s=1.2345, decode_tps=None, e2e_tps=73.81, cost_usd=0.000123))
    store.add(record_with(run_id="b", started_at="2026-01-01T00:00:02.000000+00:00", status="error",
                          error_type="timeout", ttft_s=None, e2e_s=None, output_tokens=None, decode_tps=None,
                          e2e_tps=None))  # fmt: skip
    results = Results(store, tmp_path / "csv")
    runs = results.runs(None)
    table = results.table(runs)
    assert list(table.columns) == TABLE_HEADERS
    failed, done = table.to_dict("records")
    assert (failed["status"], failed["out tokens"], failed["cost"]) == ("error · timeout", "", "")
    figures = (done["TTFT ms"], done["E2E s"], done["out tokens"], done["tok/s"], done["cost"])
    assert figures == (123, 1.23, "91", 73.8, "$0.000123")
    summary = results.summary(runs)
    assert set(SUMMARY_HEADERS.values()) <= set(summary.columns) and len(SUMMARY_COLUMN_WIDTHS) == len(summary.columns)
    # The CSV keeps every column at full precision.
    assert read_runs_csv(results.csv(None))["ttft_s"].dropna().tolist() == [0.1234]


def test_the_page_leaves_no_csv_folder_behind(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record_with())
    results = Results(store)
    written = Path(results.csv("s"))
    assert written.is_file() and written.parent == results.export_dir
    del results
    gc.collect()
    assert not written.parent.exists()
