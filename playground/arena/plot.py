"""Quality against speed and cost: one scatter per axis, the Pareto-optimal models marked."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

PANELS = (("e2e_p50_s", "pareto_speed", "median E2E (s) — lower is faster"),
          ("cost_per_answer_usd", "pareto_cost", "cost per answer (USD) — lower is cheaper"))  # fmt: skip


def quality_plot(frame: pd.DataFrame):
    """Rating (with its 95 % interval) against median E2E, and against cost per answer when any
    model has a price. None without any rated model that has a timing."""
    panels = [p for p in PANELS if pd.to_numeric(frame.get(p[0]), errors="coerce").notna().any()] if not frame.empty else []
    if not panels:
        return None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, len(panels), figsize=(5.5 * len(panels), 3.8), squeeze=False)
    for axis, (column, front, title) in zip(axes[0], panels, strict=True):
        _panel(axis, frame, column, front, title)
    figure.tight_layout()
    plt.close(figure)
    return figure


def _panel(axis, frame: pd.DataFrame, column: str, front: str, title: str) -> None:
    shown = frame[pd.to_numeric(frame[column], errors="coerce").notna()]
    errors = [shown["rating"] - shown["ci_low"], shown["ci_high"] - shown["rating"]]
    axis.errorbar(shown[column], shown["rating"], yerr=errors, fmt="none", ecolor="0.7", capsize=3, zorder=1)
    optimal = shown[shown[front].astype(bool)]
    others = shown[~shown[front].astype(bool)]
    if not others.empty:
        axis.scatter(others[column], others["rating"], color="tab:gray", zorder=2, label="dominated")
    axis.scatter(optimal[column], optimal["rating"], color="tab:red", marker="*", s=160, zorder=3, label="Pareto-optimal")
    front_line = optimal.sort_values(column)
    axis.plot(front_line[column], front_line["rating"], color="tab:red", linewidth=1, drawstyle="steps-post", zorder=2)
    for _, row in shown.iterrows():
        axis.annotate(f"{row['pane']}", (row[column], row["rating"]), textcoords="offset points", xytext=(6, 4), fontsize=8)
    axis.set_xlabel(title)
    axis.set_ylabel("rating (Bradley–Terry, Elo scale)")
    axis.legend(loc="best", fontsize=8)
    axis.grid(alpha=0.3)


def save_quality_plot(frame: pd.DataFrame, path: str | Path) -> Path | None:
    figure = quality_plot(frame)
    if figure is None:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=120)
    return path
