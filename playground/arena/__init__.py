"""The blind arena: rounds and votes (rounds.py, votes.py), Bradley–Terry ratings (bradley_terry.py),
the leaderboard with speed and cost (leaderboard.py, plot.py) and its synthetic check (synthetic.py)."""
