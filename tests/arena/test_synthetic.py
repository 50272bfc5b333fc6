"""The synthetic check: simulated leagues, and how often the intervals hold the known ratings."""

import numpy as np

from playground.arena.synthetic import check, simulate


def test_intervals_cover_the_known_ratings_in_simulated_leagues():
    result = check(votes=300, leagues=8, rounds=100)
    assert result.spearman_rho >= 0.8  # 300 votes may swap the two closest (50 Elo apart)
    assert result.coverage >= 0.8, result


def test_simulated_votes_follow_the_bradley_terry_odds_and_ties_come_at_their_share():
    # 400 Elo apart: the stronger wins 10 of 11.
    votes = simulate([800, 1200], votes=4000, seed=2, tie_share=0.2)
    ties = votes.outcome == 0.5
    stronger_won = np.where(votes.first == 1, votes.outcome == 1, votes.outcome == 0)[~ties]
    assert abs(ties.mean() - 0.2) < 0.03 and abs(stronger_won.mean() - 10 / 11) < 0.03
