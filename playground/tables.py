"""Tables built with pandas: run rows → DataFrame → summary and spreadsheet-safe CSV."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from playground.records import COLUMNS, SCHEMA, TEXT_COLUMNS
from playground.stats import median_ci

GROUP_COLUMNS = ["pane", "backend", "model", "mode"]
SUMMARY_METRICS = ("ttft_s", "e2e_s", "decode_tps")
# The summary as people read it (page and command line), in this order.
# `*_p50_ci95`: the 95 % bootstrap interval of the median (playground.stats.median_ci).
SUMMARY_COLUMNS = [
    "pane", "mode", "n", "errors", "cancelled", "ttft_s_p50", "ttft_s_p50_ci95", "ttft_s_p90",
    "e2e_s_p50", "e2e_s_p50_ci95", "e2e_s_p90", "decode_tps_p50", "decode_tps_p50_ci95", "decode_tps_p90",
    "output_tokens_p50", "tokens",
]  # fmt: skip
# Figures computed from token counts: marked "~" when any run behind them was estimated.
_TOKEN_FIGURES = ("decode_tps_p50", "decode_tps_p50_ci95", "decode_tps_p90", "output_tokens_p50")
_INTERVALS = [c for c in SUMMARY_COLUMNS if c.endswith("_ci95")]
# The summary's measured figures, shown with three decimals.
_FIGURES = [c for c in SUMMARY_COLUMNS if c.endswith(("_p50", "_p90"))]
# A spreadsheet treats a cell beginning with one of these as a formula.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_ESCAPE = "'"


def runs_frame(rows: Iterable[dict[str, Any]]) -> pd.DataFrame:
    """Rows (from the store or from records) as a DataFrame in the documented column order."""
    frame = pd.DataFrame(list(rows), columns=list(COLUMNS))
    for column in SCHEMA.values():
        if column.kind in ("int", "float"):
            frame[column.name] = pd.to_numeric(frame[column.name]).astype(column.pandas_dtype)
        else:
            frame[column.name] = frame[column.name].astype(column.pandas_dtype)
    return frame


def summary_frame(runs: pd.DataFrame) -> pd.DataFrame:
    """Per pane × backend × model × mode: n, errors, median (with its 95 % interval) and p90 of the key metrics."""
    if runs.empty:
        return pd.DataFrame(columns=[*GROUP_COLUMNS, "n", "errors", "cancelled"])
    grouped = runs.groupby(GROUP_COLUMNS, sort=False, dropna=False)
    ok = runs[runs["status"] == "ok"].groupby(GROUP_COLUMNS, sort=False, dropna=False)
    summary = pd.DataFrame(
        {
            "n": ok.size(),
            "errors": grouped["status"].apply(lambda s: int((s == "error").sum())),
            "cancelled": grouped["status"].apply(lambda s: int((s == "cancelled").sum())),
        }
    )
    for metric in SUMMARY_METRICS:
        values = ok[metric]
        summary[f"{metric}_p50"] = values.median()
        summary[f"{metric}_p90"] = values.quantile(0.9)
        summary[f"{metric}_std"] = values.std()
        intervals = values.apply(lambda v: median_ci(v.dropna().to_numpy(float)))
        summary[f"{metric}_p50_ci_low"] = intervals.map(lambda ci: ci[0] if ci else None).astype("float64")
        summary[f"{metric}_p50_ci_high"] = intervals.map(lambda ci: ci[1] if ci else None).astype("float64")
    summary["output_tokens_p50"] = ok["output_tokens"].median().astype("float64")
    summary["estimated"] = ok["token_source"].apply(lambda s: int((s == "estimate").sum()))
    summary["n"] = summary["n"].fillna(0).astype(int)
    summary["estimated"] = summary["estimated"].fillna(0).astype(int)
    return summary.reset_index()


def summary_view(summary: pd.DataFrame) -> pd.DataFrame:
    """The summary for reading: rounded, and every token figure that rests on an estimate marked "~".

    The `tokens` column says how many runs behind a row had estimated counts.
    """
    view = summary.reindex(columns=SUMMARY_COLUMNS).astype(object)
    for index in view.index:
        runs, guessed = int(summary.at[index, "n"]), int(summary.at[index, "estimated"])
        view.at[index, "tokens"] = "" if runs == 0 else "exact" if guessed == 0 else f"~ estimated ({guessed} of {runs})"
        for column in _FIGURES:
            value = view.at[index, column]
            if value is None or pd.isna(value):
                view.at[index, column] = ""
                continue
            text = f"{float(value):.3f}"
            view.at[index, column] = f"~{text}" if guessed and column in _TOKEN_FIGURES else text
        for column in _INTERVALS:
            low, high = (summary.at[index, column.replace("_ci95", f"_ci_{end}")] for end in ("low", "high"))
            text = "" if pd.isna(low) else f"{float(low):.3f}–{float(high):.3f}"
            view.at[index, column] = f"~{text}" if text and guessed and column in _TOKEN_FIGURES else text
    return view


def _escape_cell(value: Any) -> Any:
    if isinstance(value, str) and value and (value.startswith(_FORMULA_STARTS) or value.startswith(_ESCAPE)):
        return _ESCAPE + value
    return value


def _unescape_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(_ESCAPE):
        return value[1:]
    return value


def write_runs_csv(runs: pd.DataFrame, path: str | Path) -> Path:
    """Write runs as CSV in the documented order; formula-like text cells are neutralised.

    A text cell that begins with = + - @, tab, CR or an apostrophe gets one leading
    apostrophe; `read_runs_csv` removes it again, so text round-trips exactly.
    """
    safe = runs.reindex(columns=list(COLUMNS)).copy()
    for column in (c for c in COLUMNS if c in TEXT_COLUMNS):
        safe[column] = safe[column].map(_escape_cell)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Quote every text cell: pandas leaves a lone CR unquoted, which breaks the row on reading.
    safe.to_csv(path, index=False, encoding="utf-8", quoting=csv.QUOTE_NONNUMERIC)
    return path


def read_runs_csv(path: str | Path) -> pd.DataFrame:
    """Read a CSV written by `write_runs_csv` back into the same values and types."""
    text_columns = [c for c in COLUMNS if c in TEXT_COLUMNS]
    frame = pd.read_csv(
        path,
        dtype={c: "string" for c in text_columns},
        keep_default_na=False,
        na_values={c: [""] for c in COLUMNS if c not in text_columns},
    )
    for column in text_columns:
        frame[column] = frame[column].map(_unescape_cell).astype(object)
        if SCHEMA[column].nullable:
            frame[column] = frame[column].map(lambda value: value or None)
    return runs_frame(frame.to_dict("records"))


def counted(count: int, noun: str) -> str:
    """"1 run", "3 runs": a count as people write it."""
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"
