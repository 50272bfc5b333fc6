"""The page's results area: run table, summary, median plot and CSV files, all read from the run log."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from playground.store import RunStore
from playground.tables import runs_frame, summary_frame, summary_view, write_runs_csv

TABLE_COLUMNS = [
    "started_at", "pane", "mode", "status", "ttft_s", "e2e_s", "output_tokens", "token_source",
    "decode_tps", "e2e_tps", "queue_s", "error_message",
]  # fmt: skip


class Results:
    """Builds the results views of one session from the shared run store."""

    def __init__(self, store: RunStore, export_dir: Path | None = None) -> None:
        self.store = store
        self.export_dir = export_dir or Path(tempfile.mkdtemp(prefix="playground-csv-"))

    def runs(self, session_id: str | None) -> pd.DataFrame:
        return runs_frame(self.store.rows(session_id))

    def table(self, runs: pd.DataFrame) -> pd.DataFrame:
        """Newest first, times rounded for reading; the CSV keeps full precision."""
        view = runs.reindex(columns=TABLE_COLUMNS).iloc[::-1].reset_index(drop=True)
        view["started_at"] = view["started_at"].str.slice(11, 23)
        return view.round({"ttft_s": 3, "e2e_s": 3, "decode_tps": 1, "e2e_tps": 1, "queue_s": 3})

    def summary(self, runs: pd.DataFrame) -> pd.DataFrame:
        return summary_view(summary_frame(runs))

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
