"""Votes as the leaderboard reads them: each stored vote joined to the runs it judged.

A "model" on the leaderboard is a pane name with the model id its run used: the same pane
pointed at another model is another contestant, and two panes serving one model (different
settings or system prompts) stay apart.

Outcomes, as Chatbot Arena counts them
(https://github.com/lm-sys/FastChat/blob/main/fastchat/serve/monitor/elo_analysis.py, `compute_elo`:
"tie" and "tie (bothbad)" both score 0.5): a winner beats every other pane shown in its round;
"tie" and "both bad" are ties between every pair of the round.
"""

from __future__ import annotations

import csv
import datetime as dt
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import combinations
from pathlib import Path
from typing import Any

import pandas as pd

from playground.arena.bradley_terry import Comparisons
from playground.records import VOTE_COLUMNS, RunRecord, VoteRecord
from playground.tables import _escape_cell

TIE = "tie"
BOTH_BAD = "both_bad"
NO_WINNER = (TIE, BOTH_BAD)
# The votes CSV: the stored columns, then each shown run's model id in the same order.
VOTE_CSV_COLUMNS = [*VOTE_COLUMNS, "models"]


@dataclass(frozen=True)
class Contestant:
    pane: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.pane} · {self.model}"


@dataclass(frozen=True)
class JudgedRound:
    """One vote with what it judged: the contestants in the order shown, their runs, the winner's place."""

    vote_id: str
    contestants: tuple[Contestant, ...]
    run_ids: tuple[str, ...]
    winner: int | None  # index into contestants; None for a tie or "both bad"
    verdict: str


def new_vote(batch_id: str, session_id: str, records: Sequence[RunRecord], winner: str) -> VoteRecord:
    """The vote for a round whose runs are `records` in the order shown; `winner` a pane name, TIE or BOTH_BAD."""
    panes = [r.pane for r in records]
    if winner not in panes and winner not in NO_WINNER:
        raise ValueError(f"winner {winner!r} is neither a pane of the round nor {NO_WINNER}")
    return VoteRecord(
        vote_id=uuid.uuid4().hex,
        batch_id=batch_id,
        session_id=session_id,
        run_ids=",".join(r.run_id for r in records),
        panes=",".join(panes),
        winner=winner,
        voted_at=dt.datetime.now(dt.UTC).isoformat(),
    )


def judged_rounds(votes: Iterable[Mapping[str, Any]], runs_by_id: Mapping[str, Mapping[str, Any]]) -> list[JudgedRound]:
    """Join votes to their runs. A vote whose runs are no longer in the log keeps its pane names,
    with the model unknown ("?"), so it still counts; one whose winner is none of its panes is skipped."""
    judged = []
    for vote in votes:
        run_ids = tuple(vote["run_ids"].split(","))
        fallback = vote["panes"].split(",")
        contestants = []
        for index, run_id in enumerate(run_ids):
            run = runs_by_id.get(run_id)
            if run is not None:
                contestants.append(Contestant(run["pane"], run["model"]))
            else:
                contestants.append(Contestant(fallback[index] if index < len(fallback) else run_id, "?"))
        verdict = vote["winner"]
        panes = [c.pane for c in contestants]
        if verdict not in NO_WINNER and verdict not in panes:
            continue  # a winner that names none of the shown panes says nothing usable
        winner = None if verdict in NO_WINNER else panes.index(verdict)
        judged.append(JudgedRound(vote["vote_id"], tuple(contestants), run_ids, winner, verdict))
    return judged


def comparisons(rounds: Sequence[JudgedRound], index: Mapping[Contestant, int]) -> Comparisons:
    """Pairwise outcomes for the Bradley–Terry fit (see the module's note on ties and N > 2)."""
    first: list[int] = []
    second: list[int] = []
    outcome: list[float] = []
    vote: list[int] = []
    for number, judged in enumerate(rounds):
        shown = [index[c] for c in judged.contestants]
        if judged.winner is None:
            pairs = [(a, b, 0.5) for a, b in combinations(shown, 2)]
        else:
            best = shown[judged.winner]
            pairs = [(best, other, 1.0) for place, other in enumerate(shown) if place != judged.winner]
        for a, b, result in pairs:
            if a != b:  # one model shown twice in a round tells nothing about it
                first.append(a)
                second.append(b)
                outcome.append(result)
                vote.append(number)
    return Comparisons.from_lists(first, second, outcome, vote)


def votes_frame(votes: Iterable[Mapping[str, Any]], runs_by_id: Mapping[str, Mapping[str, Any]]) -> pd.DataFrame:
    """The votes as stored, plus the model id of each shown run (comma-separated, same order)."""
    rows = []
    for vote in votes:
        models = [runs_by_id.get(run_id, {}).get("model") or "?" for run_id in vote["run_ids"].split(",")]
        rows.append({**{c: vote[c] for c in VOTE_COLUMNS}, "models": ",".join(models)})
    return pd.DataFrame(rows, columns=VOTE_CSV_COLUMNS)


def write_votes_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Every cell is text: quoted, and spreadsheet-safe as the runs CSV is (see playground.tables)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    frame.map(_escape_cell).to_csv(path, index=False, encoding="utf-8", quoting=csv.QUOTE_ALL)
    return path
