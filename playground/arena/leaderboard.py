"""The arena leaderboard: quality (Bradley–Terry ratings from votes) beside speed and cost of the same runs.

Speed and cost come from the runs that were voted on (each vote names its runs), so a model's
figures describe the answers people judged, not its other traffic. The Pareto columns mark the
models no other model beats on both quality and speed (median E2E), or quality and cost.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from playground.arena.bradley_terry import BOOTSTRAP_ROUNDS, rate
from playground.arena.votes import Contestant, JudgedRound, comparisons, judged_rounds, votes_frame, write_votes_csv
from playground.store import RunStore
from playground.tables import _escape_cell

LEADERBOARD_COLUMNS = [
    "rank", "pane", "model", "rating", "ci_low", "ci_high", "votes", "wins", "ties", "losses", "win_rate",
    "ttft_p50_s", "e2e_p50_s", "decode_tps_p50", "cost_per_answer_usd", "pareto_speed", "pareto_cost",
]  # fmt: skip


@dataclass(frozen=True)
class Record:
    """One model's wins, ties and losses over its pairwise comparisons, and the votes it took part in."""

    votes: int = 0
    wins: int = 0
    ties: int = 0
    losses: int = 0

    @property
    def win_rate(self) -> float:
        played = self.wins + self.ties + self.losses
        return (self.wins + 0.5 * self.ties) / played if played else math.nan


def _records(rounds: Sequence[JudgedRound]) -> dict[Contestant, Record]:
    tally: dict[Contestant, list[int]] = {}
    for judged in rounds:
        for place, contestant in enumerate(judged.contestants):
            votes, wins, ties, losses = tally.setdefault(contestant, [0, 0, 0, 0])
            others = len(judged.contestants) - 1
            if judged.winner is None:
                ties += others
            elif judged.winner == place:
                wins += others
            else:
                losses += 1  # it lost to the winner; against the other losers nothing was said
            tally[contestant] = [votes + 1, wins, ties, losses]
    return {contestant: Record(*counts) for contestant, counts in tally.items()}


def pareto_optimal(quality: Sequence[float], cost: Sequence[float]) -> list[bool]:
    """True where no other point has quality ≥ and cost ≤ with one of them strictly better.

    A point without a cost (NaN) is never on the front.
    """
    points = list(zip(quality, cost, strict=True))
    flags = []
    for q, c in points:
        if math.isnan(c) or math.isnan(q):
            flags.append(False)
            continue
        dominated = any(oq >= q and oc <= c and (oq > q or oc < c) for oq, oc in points if not (math.isnan(oq) or math.isnan(oc)))
        flags.append(not dominated)
    return flags


def _speed_and_cost(runs: pd.DataFrame) -> dict[str, float]:
    ok = runs[runs["status"] == "ok"]
    cost = pd.to_numeric(ok["cost_usd"], errors="coerce").dropna()

    def median(column: str) -> float:
        values = pd.to_numeric(ok[column], errors="coerce").dropna()
        return float(values.median()) if len(values) else math.nan

    return {
        "ttft_p50_s": median("ttft_s"),
        "e2e_p50_s": median("e2e_s"),
        "decode_tps_p50": median("decode_tps"),
        "cost_per_answer_usd": float(cost.mean()) if len(cost) else math.nan,
    }


def leaderboard_frame(
    votes: Sequence[Mapping[str, Any]],
    runs_by_id: Mapping[str, Mapping[str, Any]],
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per model, best rating first; empty (with the columns) before the first vote."""
    judged = judged_rounds(votes, runs_by_id)
    if not judged:
        return pd.DataFrame(columns=LEADERBOARD_COLUMNS)
    records = _records(judged)
    contestants = list(records)
    index = {contestant: number for number, contestant in enumerate(contestants)}
    ratings = rate(comparisons(judged, index), len(contestants), rounds=rounds, seed=seed)
    voted_runs: dict[Contestant, list[Mapping[str, Any]]] = {c: [] for c in contestants}
    for round_ in judged:
        for contestant, run_id in zip(round_.contestants, round_.run_ids, strict=False):
            if run_id in runs_by_id:
                voted_runs[contestant].append(runs_by_id[run_id])
    rows = []
    for contestant, number in index.items():
        record = records[contestant]
        runs = pd.DataFrame(voted_runs[contestant], columns=["status", "ttft_s", "e2e_s", "decode_tps", "cost_usd"])
        rows.append({
            "pane": contestant.pane, "model": contestant.model, "rating": ratings.rating[number],
            "ci_low": ratings.low[number], "ci_high": ratings.high[number], "votes": record.votes, "wins": record.wins,
            "ties": record.ties, "losses": record.losses, "win_rate": record.win_rate, **_speed_and_cost(runs),
        })  # fmt: skip
    frame = pd.DataFrame(rows).sort_values("rating", ascending=False, kind="stable").reset_index(drop=True)
    frame["pareto_speed"] = pareto_optimal(frame["rating"], frame["e2e_p50_s"])
    frame["pareto_cost"] = pareto_optimal(frame["rating"], frame["cost_per_answer_usd"])
    frame.insert(0, "rank", np.arange(1, len(frame) + 1))
    return frame[LEADERBOARD_COLUMNS]


def leaderboard_view(frame: pd.DataFrame) -> pd.DataFrame:
    """For reading: ratings as whole numbers with their interval, times in seconds, marks for the fronts."""
    if frame.empty:
        return pd.DataFrame(columns=["rank", "pane", "model", "rating", "95% CI", "votes", "win rate"])

    def number(value: float, pattern: str) -> str:
        return "" if value is None or pd.isna(value) else pattern.format(value)

    return pd.DataFrame({
        "rank": frame["rank"], "pane": frame["pane"], "model": frame["model"],
        "rating": [number(v, "{:.0f}") for v in frame["rating"]],
        "95% CI": [f"{low:.0f} – {high:.0f}" for low, high in zip(frame["ci_low"], frame["ci_high"], strict=True)],
        "votes": frame["votes"], "win rate": [number(v, "{:.0%}") for v in frame["win_rate"]],
        "TTFT p50 (s)": [number(v, "{:.3f}") for v in frame["ttft_p50_s"]],
        "E2E p50 (s)": [number(v, "{:.3f}") for v in frame["e2e_p50_s"]],
        "decode tok/s": [number(v, "{:.1f}") for v in frame["decode_tps_p50"]],
        "cost/answer ($)": [number(v, "{:.6f}") for v in frame["cost_per_answer_usd"]],
        "Pareto": [_front_marks(speed, cost) for speed, cost in zip(frame["pareto_speed"], frame["pareto_cost"], strict=True)],
    })  # fmt: skip


def _front_marks(speed: bool, cost: bool) -> str:
    return ", ".join(name for name, on in (("fast", speed), ("cheap", cost)) if on)


@dataclass
class Leaderboard:
    """The leaderboard and the votes of one run log, for the page and the command line."""

    store: RunStore
    rounds: int = BOOTSTRAP_ROUNDS

    def _sources(self) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
        votes = self.store.votes()
        wanted = {run_id for vote in votes for run_id in vote["run_ids"].split(",")}
        runs = {row["run_id"]: row for row in self.store.rows() if row["run_id"] in wanted} if wanted else {}
        return votes, runs

    def frame(self) -> pd.DataFrame:
        return leaderboard_frame(*self._sources(), rounds=self.rounds)

    def votes(self) -> pd.DataFrame:
        return votes_frame(*self._sources())

    def write_votes_csv(self, path: str | Path) -> Path:
        return write_votes_csv(self.votes(), path)

    def write_table_csv(self, path: str | Path, frame: pd.DataFrame | None = None) -> Path:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        table = (self.frame() if frame is None else frame).copy()
        for column in ("pane", "model"):  # spreadsheet-safe, as the runs CSV (see playground.tables)
            table[column] = table[column].map(_escape_cell)
        table.to_csv(path, index=False, encoding="utf-8")
        return path
