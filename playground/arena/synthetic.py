"""Synthetic leagues: votes simulated from known strengths, to check that the ratings recover them.

`python -m playground.arena.synthetic` prints the check: known against recovered ratings (Spearman
rho, largest error on the Elo scale) and how often the 95 % intervals hold the known rating over
many simulated leagues. Cheap enough for two cores (about 2–3 seconds on one).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from playground.arena.bradley_terry import ELO_MEAN, Comparisons, from_elo, rate


def simulate(true_elo: Sequence[float], votes: int, seed: int, tie_share: float = 0.0) -> Comparisons:
    """`votes` two-model rounds between random pairs, won with the Bradley–Terry probability.

    A share of rounds (`tie_share`) is a tie whatever the strengths, as people sometimes call it.
    """
    rng = np.random.default_rng(seed)
    strengths = from_elo(np.asarray(true_elo))
    first = np.empty(votes, dtype=np.int64)
    second = np.empty(votes, dtype=np.int64)
    for index in range(votes):
        first[index], second[index] = rng.choice(len(strengths), size=2, replace=False)
    beats = rng.random(votes) < 1 / (1 + np.exp(-(strengths[first] - strengths[second])))
    outcome = np.where(rng.random(votes) < tie_share, 0.5, beats.astype(np.float64))
    return Comparisons(first, second, outcome, np.arange(votes), votes)


@dataclass(frozen=True)
class Check:
    spearman_rho: float  # of the first league
    max_abs_error: float  # Elo points, first league
    mean_spearman_rho: float  # over all leagues
    mean_max_abs_error: float
    coverage: float  # share of (league, model) whose 95 % interval holds the known rating
    mean_ci_width: float
    leagues: int
    votes: int


def check(
    true_elo: Sequence[float] = (850, 950, 1000, 1050, 1150), votes: int = 500, leagues: int = 50, rounds: int = 200
) -> Check:
    """Simulate `leagues` leagues with the same known ratings (mean 1000) and different seeds."""
    from scipy.stats import spearmanr

    known = np.asarray(true_elo, dtype=np.float64)
    known = known - known.mean() + ELO_MEAN
    inside = widths = 0.0
    rhos, errors = [], []
    for seed in range(leagues):
        ratings = rate(simulate(known, votes, seed), len(known), rounds=rounds, seed=seed)
        inside += float(np.sum((ratings.low <= known) & (known <= ratings.high)))
        widths += float(np.sum(ratings.high - ratings.low))
        rhos.append(float(spearmanr(known, ratings.rating).statistic))
        errors.append(float(np.max(np.abs(ratings.rating - known))))
    return Check(
        spearman_rho=rhos[0],
        max_abs_error=errors[0],
        mean_spearman_rho=float(np.mean(rhos)),
        mean_max_abs_error=float(np.mean(errors)),
        coverage=inside / (leagues * len(known)),
        mean_ci_width=widths / (leagues * len(known)),
        leagues=leagues,
        votes=votes,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--leagues", type=int, default=50)
    parser.add_argument("--votes", type=int, default=500)
    parser.add_argument("--bootstrap", type=int, default=200)
    args = parser.parse_args(argv)
    result = check(votes=args.votes, leagues=args.leagues, rounds=args.bootstrap)
    print(f"known ratings 850 950 1000 1050 1150, {result.votes} votes a league, {result.leagues} leagues")
    print(f"spearman rho (league 0)        {result.spearman_rho:.3f}")
    print(f"max |error| Elo (league 0)     {result.max_abs_error:.1f}")
    print(f"spearman rho (mean of leagues) {result.mean_spearman_rho:.3f}")
    print(f"max |error| Elo (mean)         {result.mean_max_abs_error:.1f}")
    print(f"95% CI coverage (all leagues)  {result.coverage:.3f}")
    print(f"mean 95% CI width (Elo)        {result.mean_ci_width:.1f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
