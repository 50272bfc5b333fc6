"""`leaderboard` on the command line: the table, the CSV files, the plot, and clear lines without votes."""

import pandas as pd

from playground.arena.votes import new_vote
from playground.cli import main
from playground.store import RunStore
from tests.fakes import record_with


def _log(path, rounds: int) -> None:
    store = RunStore(path)
    for number in range(rounds):
        winner = record_with(run_id=f"w{number}", batch_id=f"b{number}", pane="strong", model="big", e2e_s=2.0, cost_usd=0.01)
        loser = record_with(run_id=f"l{number}", batch_id=f"b{number}", pane="weak", model="tiny", e2e_s=0.5, cost_usd=0.001)
        store.add(winner)
        store.add(loser)
        store.add_vote(new_vote(f"b{number}", "cli-test", [loser, winner] if number % 2 else [winner, loser], "strong"))
    store.close()


def test_leaderboard_prints_the_table_and_writes_votes_table_and_plot(tmp_path, capsys):
    _log(tmp_path / "runs.sqlite", rounds=4)
    files = ["--csv", str(tmp_path / "votes.csv"), "--table-csv", str(tmp_path / "table.csv")]
    files += ["--plot", str(tmp_path / "plot.png")]
    code = main(["leaderboard", "--store", str(tmp_path / "runs.sqlite"), *files, "--bootstrap", "30"])
    out = capsys.readouterr().out
    assert code == 0
    lines = out.splitlines()
    assert lines[0].split()[:4] == ["rank", "pane", "model", "rating"]
    assert lines[1].split()[:3] == ["1", "strong", "big"] and lines[2].split()[:3] == ["2", "weak", "tiny"]
    assert "100%" in lines[1] and "fast, cheap" in lines[2]
    assert "4 votes in" in out
    votes = pd.read_csv(tmp_path / "votes.csv")
    assert len(votes) == 4 and set(votes["winner"]) == {"strong"} and set(votes["session_id"]) == {"cli-test"}
    table = pd.read_csv(tmp_path / "table.csv")
    assert list(table["pane"]) == ["strong", "weak"] and table["rating"].iloc[0] > 1000
    assert (tmp_path / "plot.png").stat().st_size > 1000


def test_leaderboard_without_votes_or_log_says_so(tmp_path, capsys):
    RunStore(tmp_path / "empty.sqlite").close()
    assert main(["leaderboard", "--store", str(tmp_path / "empty.sqlite"), "--csv", str(tmp_path / "v.csv")]) == 0
    out = capsys.readouterr().out
    assert out.startswith("No votes yet") and len(pd.read_csv(tmp_path / "v.csv")) == 0
    assert main(["leaderboard", "--store", str(tmp_path / "missing.sqlite")]) == 2
    assert "no run log at" in capsys.readouterr().err
    assert not (tmp_path / "missing.sqlite").exists()
