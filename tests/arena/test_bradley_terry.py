"""Bradley–Terry ratings: recovery of known strengths, intervals, ties, degenerate leagues."""

import numpy as np
import pytest

from playground.arena.bradley_terry import ELO_MEAN, Comparisons, fit_strengths, rate, to_elo
from playground.arena.synthetic import simulate

KNOWN = np.array([850.0, 950.0, 1000.0, 1050.0, 1150.0])


def _pairs(outcomes: list[tuple[int, int, float]]) -> Comparisons:
    first, second, outcome = zip(*outcomes, strict=True) if outcomes else ((), (), ())
    return Comparisons.from_lists(list(first), list(second), list(outcome), list(range(len(outcomes))))


def test_ratings_from_simulated_votes_recover_the_known_order_and_values():
    votes = simulate(KNOWN, votes=2000, seed=7)
    ratings = rate(votes, len(KNOWN), rounds=50, seed=7)
    assert list(np.argsort(ratings.rating)) == list(np.argsort(KNOWN))
    assert ratings.rating.mean() == pytest.approx(ELO_MEAN)
    # 2000 votes over 10 pairs: a standard error of about 20 Elo per model.
    assert np.max(np.abs(ratings.rating - KNOWN)) < 80
    assert np.all(ratings.low <= ratings.rating) and np.all(ratings.rating <= ratings.high)


def test_intervals_widen_with_fewer_votes():
    many = simulate(KNOWN, votes=1600, seed=3)
    few = Comparisons(many.first[:100], many.second[:100], many.outcome[:100], many.vote[:100], 100)
    wide, narrow = rate(few, len(KNOWN), rounds=100, seed=1), rate(many, len(KNOWN), rounds=100, seed=1)
    assert np.all(wide.high - wide.low > narrow.high - narrow.low)
    # With 16× the votes, intervals shrink by about 4×.
    assert np.mean(wide.high - wide.low) > 2.5 * np.mean(narrow.high - narrow.low)


def test_a_tie_is_half_a_win_each_side():
    ties = fit_strengths(_pairs([(0, 1, 0.5)] * 4), 2)
    split = fit_strengths(_pairs([(0, 1, 1.0), (0, 1, 1.0), (1, 0, 1.0), (1, 0, 1.0)]), 2)
    assert np.allclose(ties, 0, atol=1e-6) and np.allclose(split, 0, atol=1e-6)
    # One win and one tie: ahead, but less than with two wins.
    win_and_tie = fit_strengths(_pairs([(0, 1, 1.0), (0, 1, 0.5)]), 2)
    two_wins = fit_strengths(_pairs([(0, 1, 1.0), (0, 1, 1.0)]), 2)
    assert 0 < win_and_tie[0] - win_and_tie[1] < two_wins[0] - two_wins[1]


def test_a_model_that_never_lost_stays_finite():
    ratings = rate(_pairs([(0, 1, 1.0)] * 5), 2, rounds=20)
    assert np.all(np.isfinite(ratings.rating)) and ratings.rating[0] > ratings.rating[1]
    assert np.all(np.isfinite(ratings.low)) and np.all(np.isfinite(ratings.high))


def test_one_model_and_no_votes_do_not_crash():
    one = rate(_pairs([]), 1)
    assert list(one.rating) == [ELO_MEAN] and list(one.low) == [ELO_MEAN] and list(one.high) == [ELO_MEAN]
    assert rate(_pairs([]), 0).rating.size == 0
    three = rate(_pairs([]), 3)
    assert list(three.rating) == [ELO_MEAN] * 3


def test_elo_scale_is_400_log10_odds_around_the_mean():
    ratings = to_elo(np.array([np.log(10) / 2, -np.log(10) / 2]))
    assert ratings[0] - ratings[1] == pytest.approx(400) and ratings.mean() == pytest.approx(ELO_MEAN)

