"""`llm-playground leaderboard`: the arena leaderboard of a run log, printed; votes and table as CSV."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from playground.arena.bradley_terry import BOOTSTRAP_ROUNDS
from playground.arena.leaderboard import Leaderboard, leaderboard_view
from playground.arena.plot import save_quality_plot
from playground.config import load_config
from playground.errors import PlaygroundError
from playground.store import RunStore, default_store_path

NO_VOTES = "No votes yet: vote in the page's Arena tab (llm-playground, then the Arena tab)."


def add_leaderboard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write every vote as CSV (one row per vote)")
    parser.add_argument("--table-csv", type=Path, metavar="FILE", help="also write the leaderboard table as CSV")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="also save the rating against E2E and cost scatter plot")
    parser.add_argument(
        "--bootstrap", type=int, default=BOOTSTRAP_ROUNDS, help=f"resamples for the 95%% intervals (default {BOOTSTRAP_ROUNDS})"
    )


def store_path(args: argparse.Namespace) -> Path:
    if args.store is not None:
        return Path(args.store)
    config = load_config(args.config)
    return Path(config.store) if config.store else default_store_path()


def command_leaderboard(args: argparse.Namespace) -> int:
    if args.bootstrap < 0:
        raise PlaygroundError("--bootstrap must be 0 or more.")
    path = store_path(args)
    if not path.exists():
        raise PlaygroundError(f"no run log at {path}: name one with --store FILE.")
    leaderboard = Leaderboard(RunStore(path), rounds=args.bootstrap)
    frame = leaderboard.frame()
    if frame.empty:
        print(NO_VOTES)
    else:
        votes = int(len(leaderboard.store.votes()))
        with pd.option_context("display.width", 250, "display.max_columns", None):
            print(leaderboard_view(frame).to_string(index=False))
        print(f"{votes} votes in {path}; ratings: Bradley–Terry on the Elo scale (mean 1000), 95% bootstrap intervals.")
    if args.csv is not None:
        print(f"Votes CSV written to {leaderboard.write_votes_csv(args.csv)}")
    if args.table_csv is not None:
        print(f"Leaderboard CSV written to {leaderboard.write_table_csv(args.table_csv, frame)}")
    if args.plot is not None:
        saved = save_quality_plot(frame, args.plot)
        print(f"Plot saved to {saved}" if saved else "No plot: no voted model has a timing yet.")
    return 0
