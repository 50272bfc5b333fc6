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
from playground.store import RunStore, resolve_store_location

NO_VOTES = "No votes yet: vote in the page's Arena tab (llm-playground, then the Arena tab)."


def add_leaderboard_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--csv", type=Path, metavar="FILE", help="also write every vote as CSV (one row per vote)")
    parser.add_argument("--table-csv", type=Path, metavar="FILE", help="also write the leaderboard table as CSV")
    parser.add_argument("--plot", type=Path, metavar="PNG", help="also save the rating against E2E and cost scatter plot")
    parser.add_argument(
        "--bootstrap", type=int, default=BOOTSTRAP_ROUNDS, help=f"resamples for the 95%% intervals (default {BOOTSTRAP_ROUNDS})"
    )


def store_location(args: argparse.Namespace) -> str | Path:
    """The run log as every command finds it; the config is read only when --store does not name one."""
    config_store = None if args.store is not None else load_config(args.config).store
    return resolve_store_location(args.store, config_store)


def command_leaderboard(args: argparse.Namespace) -> int:
    if args.bootstrap < 0:
        raise PlaygroundError("--bootstrap must be 0 or more.")
    with RunStore.existing(store_location(args)) as store:
        _print_leaderboard(Leaderboard(store, rounds=args.bootstrap), args)
    return 0


def _print_leaderboard(leaderboard: Leaderboard, args: argparse.Namespace) -> None:
    frame = leaderboard.frame()
    if frame.empty:
        print(NO_VOTES)
    else:
        votes = int(len(leaderboard.store.votes()))
        with pd.option_context("display.width", 250, "display.max_columns", None):
            print(leaderboard_view(frame).to_string(index=False))
        ratings = "Bradley–Terry on the Elo scale (mean 1000), 95% bootstrap intervals"
        print(f"{votes} votes in {leaderboard.store.location}; ratings: {ratings}.")
    if args.csv is not None:
        print(f"Votes CSV written to {leaderboard.write_votes_csv(args.csv)}")
    if args.table_csv is not None:
        print(f"Leaderboard CSV written to {leaderboard.write_table_csv(args.table_csv, frame)}")
    if args.plot is not None:
        saved = save_quality_plot(frame, args.plot)
        print(f"Plot saved to {saved}" if saved else "No plot: no voted model has a timing yet.")
