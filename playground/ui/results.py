"""The page's results area: run table, summary, median plot and CSV files, all read from the run log."""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import pandas as pd

from playground.store import RunStore
from playground.tables import runs_frame, summary_frame, summary_view, write_runs_csv

# The run table shows a few figures with their units; a click on a row shows the whole record,
# and the CSV keeps every column.
TABLE_HEADERS = ["pane", "mode", "status", "TTFT ms", "E2E s", "out tokens", "tok/s", "cost"]
TABLE_DATATYPES = ["str", "str", "str", "number", "number", "str", "number", "str"]
# The summary's headers as people read them; its values stay as tables.summary_view makes them.
SUMMARY_HEADERS = {
    "ttft_s_p50": "TTFT p50 s", "ttft_s_p90": "TTFT p90 s", "e2e_s_p50": "E2E p50 s",
    "e2e_s_p90": "E2E p90 s", "decode_tps_p50": "tok/s p50", "decode_tps_p90": "tok/s p90",
    "output_tokens_p50": "out tokens p50",
}  # fmt: skip
# Each median's 95 % confidence interval is shown in the median's own cell, in brackets (the table's
# label says so): one column less each.
_MEDIANS_WITH_INTERVALS = ("ttft_s_p50", "e2e_s_p50", "decode_tps_p50")
# Each column's share of the summary's width, in its column order: every header word fits its cell
# at a 1280 px window (a long header takes two lines, never a word cut in two).
SUMMARY_COLUMN_WIDTHS = ["9%", "7%", "4%", "6%", "8%", "11%", "6%", "11%", "6%", "10%", "6%", "10%", "6%"]


class Results:
    """Builds the results views of one session from the shared run store."""

    def __init__(self, store: RunStore, export_dir: Path | None = None) -> None:
        self.store = store
        if export_dir is None:
            # The page's CSV files (Gradio serves copies from its own cache): the folder goes with
            # this object, at the latest when the process exits, so no run of the page leaves one behind.
            export_dir = Path(tempfile.mkdtemp(prefix="playground-csv-"))
            weakref.finalize(self, shutil.rmtree, export_dir, ignore_errors=True)
        self.export_dir = export_dir

    def runs(self, session_id: str | None) -> pd.DataFrame:
        return runs_frame(self.store.rows(session_id))

    def table(self, runs: pd.DataFrame) -> pd.DataFrame:
        """Newest first, in units people read (ms, s, tok/s, $); the CSV keeps full precision."""
        newest = runs.iloc[::-1]
        # Token counts that rest on an estimate are marked "~", as in the summary.
        estimated = newest["token_source"] == "estimate"
        speed = newest["decode_tps"].fillna(newest["e2e_tps"])
        return pd.DataFrame(
            {
                "pane": newest["pane"],
                "mode": newest["mode"],
                "status": [_status(s, e) for s, e in zip(newest["status"], newest["error_type"], strict=True)],
                "TTFT ms": (newest["ttft_s"] * 1000).round(0),
                "E2E s": newest["e2e_s"].round(2),
                "out tokens": [_tokens(n, guess) for n, guess in zip(newest["output_tokens"], estimated, strict=True)],
                "tok/s": speed.round(1),
                "cost": newest["cost_usd"].map(_cost),
            },
            columns=TABLE_HEADERS,
        ).reset_index(drop=True)

    @staticmethod
    def table_run_ids(runs: pd.DataFrame) -> list[str]:
        """The run id of each row of `table(runs)`, in the same order."""
        return list(runs["run_id"].iloc[::-1])

    def summary(self, runs: pd.DataFrame) -> pd.DataFrame:
        view = summary_view(summary_frame(runs))
        for median in _MEDIANS_WITH_INTERVALS:
            interval = view.pop(f"{median}_ci95")
            view[median] = [f"{m} ({ci})" if ci else m for m, ci in zip(view[median], interval, strict=True)]
        return view.rename(columns=SUMMARY_HEADERS)

    def plot(self, runs: pd.DataFrame):
        """Grouped bars of median TTFT and E2E per pane × mode (None before the first successful run)."""
        ok = runs[runs["status"] == "ok"]
        if ok.empty:
            return None
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        medians = ok.groupby(["pane", "mode"], sort=False)[["ttft_s", "e2e_s"]].median()
        medians.index = [f"{pane}\n{mode}" for pane, mode in medians.index]
        medians.columns = ["median TTFT (s)", "median E2E (s)"]
        figure, axes = plt.subplots(figsize=(max(4, 1.6 * len(medians)), 3))
        medians.plot.bar(ax=axes, rot=0)
        axes.set_ylabel("seconds")
        figure.tight_layout()
        plt.close(figure)
        return figure

    def csv(self, session_id: str | None) -> str:
        """Write the session's runs (or the whole log for None) as CSV; return the file path."""
        name = f"runs-session-{session_id[:12]}.csv" if session_id else "runs-all.csv"
        return str(write_runs_csv(self.runs(session_id), self.export_dir / name))


def _status(status: str, error_type: object) -> str:
    return f"{status} · {error_type}" if status == "error" and isinstance(error_type, str) else status


def _tokens(count: object, estimated: object) -> str:
    if count is None or pd.isna(count):
        return ""
    return f"~{int(count)}" if estimated is True else str(int(count))


def _cost(value: object) -> str:
    if value is None or pd.isna(value):
        return ""
    return f"${float(value):.4g}"
