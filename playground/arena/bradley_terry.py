"""Bradley–Terry strengths from pairwise outcomes, on an Elo-like scale, with bootstrap intervals.

The fit follows Chatbot Arena's leaderboard: the Bradley–Terry likelihood maximised with scipy's
L-BFGS-B, a tie entering as an outcome of 0.5 ("half a win and half a loss" for each side), and
strengths shown as 400·log10 odds around 1000 (`bt_loss_and_grad`, `fit_bt`, `scale_and_offset` in
https://github.com/lm-sys/FastChat/blob/main/fastchat/serve/monitor/elo_analysis.py; the method:
https://lmsys.org/blog/2023-12-07-leaderboard/). Intervals are percentiles of fits on votes resampled
with replacement (the same file, `get_bootstrap_result`).

One difference: a weak Gaussian prior (`RIDGE`) keeps a model that never lost (or never won) at a
finite strength; with maximum likelihood alone its strength would run off to infinity.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

ELO_SCALE = 400.0
ELO_BASE = 10.0
# The mean strength of the models on a leaderboard is shown as this rating.
ELO_MEAN = 1000.0
# Prior precision on natural-scale strengths (log-odds): a standard deviation of 10, i.e. about
# ±1700 Elo. Negligible beside a few votes' information, but enough to stop a runaway.
RIDGE = 0.01
BOOTSTRAP_ROUNDS = 200
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Comparisons:
    """Pairwise outcomes: `first[i]` met `second[i]` with `outcome[i]` (1 first won, 0 lost, 0.5 tie).

    `vote[i]` is the vote (round) the comparison came from: a round with N panes gives N − 1 or more
    comparisons, and the bootstrap resamples whole votes, not comparisons.
    """

    first: np.ndarray
    second: np.ndarray
    outcome: np.ndarray
    vote: np.ndarray
    vote_count: int

    @classmethod
    def from_lists(cls, first: list[int], second: list[int], outcome: list[float], vote: list[int]) -> Comparisons:
        votes = np.asarray(vote, dtype=np.int64)
        return cls(
            np.asarray(first, dtype=np.int64),
            np.asarray(second, dtype=np.int64),
            np.asarray(outcome, dtype=np.float64),
            votes,
            int(votes.max()) + 1 if votes.size else 0,
        )

    def __len__(self) -> int:
        return int(self.first.size)


@dataclass(frozen=True)
class _Grouped:
    """Comparisons grouped by (first, second, outcome): the fit's cost grows with groups, not votes."""

    first: np.ndarray
    second: np.ndarray
    outcome: np.ndarray
    group: np.ndarray  # each comparison's group

    @classmethod
    def of(cls, comparisons: Comparisons) -> _Grouped:
        keys = np.stack([comparisons.first, comparisons.second, np.rint(comparisons.outcome * 2).astype(np.int64)], axis=1)
        unique, group = np.unique(keys, axis=0, return_inverse=True)
        return cls(unique[:, 0], unique[:, 1], unique[:, 2] / 2.0, group.reshape(-1))

    def weights(self, comparison_weights: np.ndarray) -> np.ndarray:
        return np.bincount(self.group, weights=comparison_weights, minlength=self.first.size)


def _incidence(grouped: _Grouped, model_count: int) -> np.ndarray:
    """groups × models: +1 for the first model of a group, −1 for the second (logits = strengths @ this.T)."""
    incidence = np.zeros((grouped.first.size, model_count))
    rows = np.arange(grouped.first.size)
    incidence[rows, grouped.first] += 1
    incidence[rows, grouped.second] -= 1
    return incidence


def _negative_log_likelihood(
    flat: np.ndarray, grouped: _Grouped, weights: np.ndarray, incidence: np.ndarray
) -> tuple[float, np.ndarray]:
    """Summed over independent fits: `weights` has one row of group weights per fit."""
    from scipy.special import expit, log_expit  # scipy loads when a leaderboard is first computed, not at startup

    strengths = flat.reshape(weights.shape[0], incidence.shape[1])
    logits = strengths @ incidence.T
    # log_expit keeps log(p) finite when a difference is large.
    loss = -np.sum(weights * (grouped.outcome * log_expit(logits) + (1 - grouped.outcome) * log_expit(-logits)))
    slope = -weights * (grouped.outcome - expit(logits))
    loss += 0.5 * RIDGE * float(np.sum(strengths * strengths))
    return float(loss), (slope @ incidence + RIDGE * strengths).ravel()


def _fit(grouped: _Grouped, weights: np.ndarray, model_count: int, start: np.ndarray | None = None) -> np.ndarray:
    """Strengths (mean zero) for each row of group weights, all rows fitted in one L-BFGS-B run:
    the rows do not interact, and one call costs far less than hundreds of small ones."""
    from scipy.optimize import minimize

    weights = np.atleast_2d(weights)
    initial = (
        np.zeros((weights.shape[0], model_count)) if start is None else np.broadcast_to(start, (weights.shape[0], model_count))
    )
    result = minimize(
        _negative_log_likelihood,
        np.array(initial, dtype=np.float64).ravel(),
        args=(grouped, weights, _incidence(grouped, model_count)),
        jac=True,
        method="L-BFGS-B",
        options={"maxiter": 2000, "gtol": 1e-7, "ftol": 1e-13},
    )
    strengths = result.x.reshape(weights.shape[0], model_count)
    return strengths - strengths.mean(axis=1, keepdims=True)


def fit_strengths(comparisons: Comparisons, model_count: int) -> np.ndarray:
    """Natural-scale strengths (log-odds), mean zero: P(i beats j) = sigmoid(s_i − s_j)."""
    if model_count == 0:
        return np.zeros(0)
    if len(comparisons) == 0:
        return np.zeros(model_count)
    grouped = _Grouped.of(comparisons)
    return _fit(grouped, grouped.weights(np.ones(len(comparisons))), model_count)[0]


def to_elo(strengths: np.ndarray) -> np.ndarray:
    """Natural-scale strengths → 400·log10 odds, their mean at ELO_MEAN."""
    centred = strengths - strengths.mean(axis=-1, keepdims=True) if strengths.size else strengths
    return centred * ELO_SCALE / math.log(ELO_BASE) + ELO_MEAN


def from_elo(ratings: np.ndarray) -> np.ndarray:
    return (np.asarray(ratings, dtype=np.float64) - ELO_MEAN) * math.log(ELO_BASE) / ELO_SCALE


@dataclass(frozen=True)
class Ratings:
    """Elo-scale ratings with bootstrap percentile intervals, per model index."""

    rating: np.ndarray
    low: np.ndarray
    high: np.ndarray


def rate(
    comparisons: Comparisons, model_count: int, rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0, confidence: float = CONFIDENCE
) -> Ratings:
    """Ratings from all votes, and intervals from `rounds` fits on votes resampled with replacement."""
    strengths = fit_strengths(comparisons, model_count)
    rating = to_elo(strengths)
    if len(comparisons) == 0 or model_count < 2 or rounds < 1:
        return Ratings(rating, rating.copy(), rating.copy())
    grouped = _Grouped.of(comparisons)
    rng = np.random.default_rng(seed)
    votes = comparisons.vote_count
    # How often each vote is drawn in each resample; a comparison counts as often as its vote.
    drawn = rng.multinomial(votes, np.full(votes, 1.0 / votes), size=rounds).astype(np.float64)
    weights = np.stack([grouped.weights(row[comparisons.vote]) for row in drawn])
    samples = _fit(grouped, weights, model_count, start=strengths)
    tail = (1 - confidence) / 2
    low, high = np.quantile(to_elo(samples), [tail, 1 - tail], axis=0)
    return Ratings(rating, low, high)
