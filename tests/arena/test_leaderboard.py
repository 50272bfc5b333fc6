"""The leaderboard over a real run log: votes joined to runs, tallies, speed, cost, Pareto fronts, CSV."""

import math

import pandas as pd
import pytest

from playground.arena.leaderboard import LEADERBOARD_COLUMNS, Leaderboard, leaderboard_frame, leaderboard_view, pareto_optimal
from playground.arena.plot import save_quality_plot
from playground.arena.votes import BOTH_BAD, TIE, new_vote
from playground.store import RunStore
from tests.fakes import record_with


def _round(store: RunStore, batch: str, contestants: list[tuple[str, str, float, float | None]], winner: str) -> None:
    """Log one run per (pane, model, e2e, cost) under `batch`, then the vote naming `winner`."""
    records = []
    for pane, model, e2e, cost in contestants:
        record = record_with(run_id=f"{batch}-{pane}-{model}", batch_id=batch, pane=pane, model=model, e2e_s=e2e,
                             ttft_s=e2e / 10, cost_usd=cost)  # fmt: skip
        store.add(record)
        records.append(record)
    store.add_vote(new_vote(batch, "s", records, winner))


@pytest.fixture
def store(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    yield store
    store.close()


def test_votes_become_ratings_tallies_and_the_voted_runs_figures(store):
    for number in range(6):
        _round(store, f"b{number}", [("good", "m1", 2.0, 0.002), ("fast", "m2", 0.5, 0.001)], "good")
    _round(store, "t", [("good", "m1", 4.0, 0.004), ("fast", "m2", 0.5, 0.001)], TIE)
    _round(store, "x", [("good", "m1", 2.0, 0.002), ("fast", "m2", 0.5, 0.001)], BOTH_BAD)
    frame = Leaderboard(store, rounds=50).frame()
    assert list(frame.columns) == LEADERBOARD_COLUMNS
    good, fast = frame.iloc[0], frame.iloc[1]
    assert (good["pane"], good["model"], fast["pane"]) == ("good", "m1", "fast")
    assert good["rating"] > 1000 > fast["rating"] and good["rating"] + fast["rating"] == pytest.approx(2000)
    assert good["ci_low"] <= good["rating"] <= good["ci_high"]
    assert (good["votes"], good["wins"], good["ties"], good["losses"]) == (8, 6, 2, 0)
    assert good["win_rate"] == pytest.approx(7 / 8) and fast["win_rate"] == pytest.approx(1 / 8)
    assert good["e2e_p50_s"] == pytest.approx(2.0) and good["ttft_p50_s"] == pytest.approx(0.2)
    assert good["cost_per_answer_usd"] == pytest.approx((7 * 0.002 + 0.004) / 8)
    # Better but slower and dearer: both are on both fronts.
    assert list(frame["pareto_speed"]) == [True, True] and list(frame["pareto_cost"]) == [True, True]


def test_a_model_is_a_pane_with_its_model_id_and_a_winner_beats_every_other_pane_shown(store):
    shown = [("p", "big", 3.0, None), ("p2", "small", 1.0, None), ("q", "mid", 2.0, None)]
    _round(store, "n3", shown, "p")
    _round(store, "n3b", [("p", "other", 1.0, None), ("q", "mid", 2.0, None)], "q")
    frame = Leaderboard(store, rounds=20).frame().set_index(["pane", "model"])
    assert len(frame) == 4
    assert (frame.loc[("p", "big"), "wins"], frame.loc[("p2", "small"), "losses"]) == (2, 1)
    assert frame.loc[("p", "big"), "rating"] == frame["rating"].max()
    assert frame.loc[("q", "mid"), "votes"] == 2
    # No prices: no cost front.
    assert not frame["pareto_cost"].any() and math.isnan(frame.loc[("p", "big"), "cost_per_answer_usd"])


def test_failed_runs_count_for_the_vote_but_not_for_the_timings(store):
    ok = record_with(run_id="ok", batch_id="b", pane="a", model="m", e2e_s=1.5)
    failed = record_with(run_id="bad", batch_id="b", pane="b", model="m", status="error", e2e_s=9.0)
    store.add(ok)
    store.add(failed)
    store.add_vote(new_vote("b", "s", [ok, failed], "a"))
    frame = Leaderboard(store, rounds=10).frame().set_index("pane")
    assert frame.loc["a", "e2e_p50_s"] == 1.5 and math.isnan(frame.loc["b", "e2e_p50_s"])


def test_no_votes_and_votes_without_their_runs(store):
    assert Leaderboard(store).frame().empty and leaderboard_view(Leaderboard(store).frame()).empty
    # Runs gone from the log: the vote still counts, under the pane names it stored.
    vote = {"vote_id": "v", "batch_id": "b", "session_id": "s", "run_ids": "r1,r2", "panes": "x,y", "winner": "y",
            "voted_at": "2026-11-23T10:00:00+00:00"}  # fmt: skip
    frame = leaderboard_frame([vote], {}, rounds=10)
    assert list(frame["pane"]) == ["y", "x"] and list(frame["model"]) == ["?", "?"]
    assert leaderboard_frame([{**vote, "winner": "z"}], {}, rounds=10).empty


def test_pareto_front_marks_the_undominated():
    quality = [1100, 1050, 1000, 990, 1200]
    cost = [2.0, 1.0, 0.5, 0.7, math.nan]
    assert pareto_optimal(quality, cost) == [True, True, True, False, False]


def test_votes_and_table_export_as_csv_and_the_plot_saves(store, tmp_path):
    _round(store, "b", [("=cmd", "m1", 1.0, 0.01), ("plain", "m2", 2.0, 0.02)], "=cmd")
    leaderboard = Leaderboard(store, rounds=10)
    votes = pd.read_csv(leaderboard.write_votes_csv(tmp_path / "votes.csv"), dtype=str, keep_default_na=False)
    assert list(votes["winner"]) == ["'=cmd"] and list(votes["models"]) == ["m1,m2"]
    assert list(votes["batch_id"]) == ["b"] and votes["run_ids"][0] == "b-=cmd-m1,b-plain-m2"
    table = pd.read_csv(leaderboard.write_table_csv(tmp_path / "table.csv"))
    assert list(table.columns) == LEADERBOARD_COLUMNS and set(table["pane"]) == {"'=cmd", "plain"}
    plot = save_quality_plot(leaderboard.frame(), tmp_path / "plot.png")
    assert plot is not None and plot.stat().st_size > 1000
