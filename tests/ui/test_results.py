"""The page's results area, read from the run log."""

from playground.store import RunStore
from playground.tables import read_runs_csv
from playground.ui.results import Results
from tests.fakes import record_with


def test_table_is_newest_first_and_the_summary_marks_estimates(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record_with(run_id="a", started_at="2026-01-01T00:00:01.000000+00:00", token_source="estimate"))
    store.add(record_with(run_id="b", started_at="2026-01-01T00:00:02.000000+00:00", session_id="other"))
    results = Results(store, tmp_path / "csv")
    mine = results.runs("s")
    assert list(results.table(results.runs(None))["started_at"]) == ["00:00:02.000", "00:00:01.000"]
    assert results.summary(mine).iloc[0]["tokens"] == "~ estimated (1 of 1)"
    assert len(read_runs_csv(results.csv("s"))) == 1 and len(read_runs_csv(results.csv(None))) == 2


def test_no_plot_before_a_successful_run(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record_with(status="error", error_type="server", error_message="500"))
    results = Results(store, tmp_path / "csv")
    assert results.plot(results.runs(None)) is None
