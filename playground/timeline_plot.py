"""A picture of one or more runs' token timelines: tokens over time, the gap before each chunk, stalls.

Pure: it draws what the run log holds (chunk arrival offsets after send, TTFT, output tokens) and
never measures. The log times chunks, not tokens: a run's output tokens are spread evenly over its
chunks (one chunk, one step), so a non-streamed answer shows as one jump to its full count.
Several runs (the panes of one batch) share the axes, each labelled "pane · mode".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from playground.tables import counted
from playground.timeline import Stall, find_stalls, gaps

STALL_COLOUR = "#d62728"


@dataclass(frozen=True)
class TimelineSeries:
    """One run as the plot needs it."""

    label: str  # "pane · mode"
    offsets_s: tuple[float, ...]  # each content chunk's arrival, seconds after send
    ttft_s: float | None
    streaming: bool
    output_tokens: int | None = None  # None: count chunks

    def cumulative(self) -> list[float]:
        """Tokens received after each chunk (chunks when the token count is unknown), from 0."""
        per_chunk = self.output_tokens / len(self.offsets_s) if self.output_tokens and self.offsets_s else 1.0
        return [count * per_chunk for count in range(len(self.offsets_s) + 1)]

    @property
    def stalls(self) -> list[Stall]:
        # A non-streamed answer arrives at once: its single chunk has no rhythm to break.
        return find_stalls(self.offsets_s) if self.streaming else []


def timeline_title(series: Sequence[TimelineSeries]) -> str:
    stalls = sum(len(s.stalls) for s in series)
    what = series[0].label if len(series) == 1 else counted(len(series), "run")
    return f"Token timeline · {what} · {counted(stalls, 'stall')}"


def timeline_figure(series: Sequence[TimelineSeries]):
    """Top: tokens received against time since send, TTFT marked, stalls shaded.
    Bottom: the gap before each chunk (inter-chunk latency), stalls in red."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import MaxNLocator

    figure, (cumulative, spacing) = plt.subplots(2, 1, figsize=(9, 6), height_ratios=(3, 2))
    colours = plt.rcParams["axes.prop_cycle"].by_key()["color"]
    for number, run in enumerate(series):
        _draw_run(cumulative, spacing, run, colours[number % len(colours)], mark_ttft=len(series) == 1)
    if not any(run.offsets_s for run in series):
        cumulative.text(0.5, 0.5, "No content chunks were recorded for this run.", ha="center", va="center",
                        transform=cumulative.transAxes)  # fmt: skip
    cumulative.set_title(timeline_title(series))
    cumulative.set_xlabel("seconds since send")
    cumulative.set_ylabel("output tokens received")
    spacing.set_xlabel("chunk number")
    spacing.xaxis.set_major_locator(MaxNLocator(integer=True))
    spacing.set_ylabel("gap before chunk (ms)")
    for axes in (cumulative, spacing):
        axes.grid(alpha=0.3)
        axes.set_xlim(left=0)
        axes.set_ylim(bottom=0)
    if series:
        cumulative.legend(loc="lower right", fontsize="small")
    figure.tight_layout()
    plt.close(figure)
    return figure


def _legend_label(run: TimelineSeries) -> str:
    if not run.offsets_s:
        return f"{run.label} (no content chunks)"
    ttft = f"TTFT {run.ttft_s * 1000:.0f} ms" if run.ttft_s is not None else "no TTFT"
    ttft += f", {counted(len(run.offsets_s), 'chunk')}" if run.output_tokens != len(run.offsets_s) else ""
    stalls = f", {counted(len(run.stalls), 'stall')}" if run.streaming else ""
    return f"{run.label} ({ttft}{stalls})"


def _draw_run(cumulative, spacing, run: TimelineSeries, colour: str, mark_ttft: bool) -> None:
    offsets = list(run.offsets_s)
    cumulative.step([0.0, *offsets], run.cumulative(), where="post", color=colour, label=_legend_label(run))
    if run.ttft_s is not None:
        cumulative.axvline(run.ttft_s, color=colour, linestyle="--", linewidth=1)
    if run.ttft_s is not None and mark_ttft:  # several runs: their TTFTs are named in the legend
        cumulative.annotate("TTFT", (run.ttft_s, 0), xytext=(3, 3), textcoords="offset points", color=colour,
                            fontsize="small")  # fmt: skip
    between_ms = [gap * 1000 for gap in gaps(offsets)]
    chunk_numbers = list(range(2, len(offsets) + 1))  # the gap before chunk 2, 3, …
    if between_ms:
        spacing.plot(chunk_numbers, between_ms, color=colour, marker=".", markersize=3, linewidth=1)
    for stall in run.stalls:
        cumulative.axvspan(stall.start_s, stall.start_s + stall.gap_s, color=STALL_COLOUR, alpha=0.15)
        spacing.plot([stall.index + 1], [stall.gap_s * 1000], color=STALL_COLOUR, marker="o", markersize=7)
