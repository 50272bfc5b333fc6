"""Tables: rows → typed DataFrame → summary and a spreadsheet-safe CSV that reads back exactly."""

import pandas as pd
import pytest

from playground.records import COLUMNS, SCHEMA
from playground.tables import SUMMARY_COLUMNS, counted, read_runs_csv, runs_frame, summary_frame, summary_view, write_runs_csv
from tests.fakes import record_with


def test_every_column_gets_the_dtype_its_type_hint_declares():
    frame = runs_frame([record_with().as_row()])
    assert {c: str(frame[c].dtype) for c in COLUMNS} == {c: SCHEMA[c].pandas_dtype for c in COLUMNS}
    assert SCHEMA["http_status"].kind == "int" and SCHEMA["http_status"].nullable
    assert SCHEMA["warmup"].kind == "bool" and not SCHEMA["warmup"].nullable
    assert SCHEMA["status"].kind == "text" and SCHEMA["error_type"].nullable


def test_a_csv_round_trips_every_type_including_empty_cells(tmp_path):
    rows = [record_with(run_id="a", http_status=429, retries=1, retry_wait_s=0.5, error_type="rate_limit").as_row(),
            record_with(run_id="b").as_row()]  # fmt: skip
    frame = runs_frame(rows)
    back = read_runs_csv(write_runs_csv(frame, tmp_path / "runs.csv"))
    pd.testing.assert_frame_equal(back, frame)

def test_csv_has_documented_columns_and_neutralises_formulas(tmp_path):
    dangerous = ["=1+1", "+cmd", "-2", "@SUM(A1)", "\tx", "\rx", "'quoted", "plain 明月 🌙 שלום"]
    records = [record_with(run_id=f"r{i}", prompt=text, response_text=text) for i, text in enumerate(dangerous)]
    frame = runs_frame(r.as_row() for r in records)
    path = write_runs_csv(frame, tmp_path / "runs.csv")
    raw = pd.read_csv(path, dtype=str, keep_default_na=False)
    assert list(raw.columns) == list(COLUMNS)
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in raw["prompt"])
    back = read_runs_csv(path)
    assert list(back["prompt"]) == dangerous
    assert list(back["response_text"]) == dangerous
    assert back["ttft_s"].tolist() == frame["ttft_s"].tolist()
    assert back["warmup"].tolist() == frame["warmup"].tolist()


def test_summary_gives_median_and_p90_per_pane_and_mode():
    records = [record_with(run_id=f"r{i}", pane="a", mode="stream", ttft_s=float(i), e2e_s=10.0 + i) for i in range(1, 11)]
    records.append(record_with(run_id="e", pane="a", mode="stream", status="error", ttft_s=None))
    records.append(record_with(run_id="n", pane="a", mode="non-stream", ttft_s=3.0, e2e_s=3.0))
    summary = summary_frame(runs_frame(r.as_row() for r in records)).set_index(["pane", "mode"])
    stream = summary.loc[("a", "stream")]
    assert stream["n"] == 10 and stream["errors"] == 1
    assert stream["ttft_s_p50"] == 5.5
    assert stream["ttft_s_p90"] == pytest.approx(9.1)
    assert summary.loc[("a", "non-stream")]["e2e_s_p50"] == 3.0


def test_summary_marks_token_figures_that_rest_on_estimates():
    runs = runs_frame(
        [
            record_with(run_id="a", pane="exact", decode_tps=100.0, output_tokens=50).as_row(),
            record_with(run_id="b", pane="guess", token_source="estimate", decode_tps=80.0, output_tokens=40).as_row(),
            record_with(run_id="c", pane="guess", decode_tps=90.0, output_tokens=45).as_row(),
        ]
    )
    view = summary_view(summary_frame(runs)).set_index("pane")
    assert view.at["exact", "tokens"] == "exact" and view.at["exact", "decode_tps_p50"] == "100.000"
    assert view.at["guess", "tokens"] == "~ estimated (1 of 2)"
    assert view.at["guess", "decode_tps_p50"] == "~85.000" and view.at["guess", "output_tokens_p50"] == "~42.500"
    assert view.at["guess", "ttft_s_p50"] == "0.100"  # not a token figure: shown plainly


def test_summary_gives_a_bootstrap_interval_of_each_median_once_there_are_three_ok_runs():
    records = [record_with(run_id=f"r{i}", pane="a", ttft_s=0.1 * i, e2e_s=1.0 + i, decode_tps=50.0 + i) for i in range(1, 8)]
    records += [record_with(run_id="s1", pane="few", ttft_s=0.2), record_with(run_id="s2", pane="few", ttft_s=0.3)]
    records.append(record_with(run_id="e", pane="failing", status="error", ttft_s=None))
    summary = summary_frame(runs_frame(r.as_row() for r in records)).set_index("pane")
    low, high = summary.at["a", "ttft_s_p50_ci_low"], summary.at["a", "ttft_s_p50_ci_high"]
    assert low <= summary.at["a", "ttft_s_p50"] <= high and low < high
    assert low >= 0.1 and high <= 0.7  # inside the range of the runs themselves
    assert pd.isna(summary.at["few", "ttft_s_p50_ci_low"]) and pd.isna(summary.at["failing", "e2e_s_p50_ci_low"])
    view = summary_view(summary.reset_index()).set_index("pane")
    assert list(view.reset_index().columns) == SUMMARY_COLUMNS
    assert view.at["a", "ttft_s_p50_ci95"] == f"{low:.3f}–{high:.3f}"
    assert view.at["few", "ttft_s_p50_ci95"] == "" and view.at["few", "e2e_s_p50_ci95"] == ""
    again = summary_view(summary_frame(runs_frame(r.as_row() for r in records))).set_index("pane")
    assert again.at["a", "decode_tps_p50_ci95"] == view.at["a", "decode_tps_p50_ci95"]  # fixed seed: stable tables


def test_an_interval_resting_on_estimated_tokens_is_marked():
    records = [record_with(run_id=f"r{i}", token_source="estimate", decode_tps=80.0 + i) for i in range(4)]
    view = summary_view(summary_frame(runs_frame(r.as_row() for r in records)))
    assert view.at[0, "decode_tps_p50_ci95"].startswith("~") and not view.at[0, "ttft_s_p50_ci95"].startswith("~")


def test_counts_read_as_people_write_them():
    assert [counted(n, "run") for n in (0, 1, 2)] == ["0 runs", "1 run", "2 runs"]
