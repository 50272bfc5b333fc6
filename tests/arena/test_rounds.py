"""Blind rounds through the real runner against loopback servers: one vote per round, the reveal, failures."""

import random

import pytest

from playground.arena.rounds import Arena
from playground.arena.votes import BOTH_BAD, TIE
from playground.errors import InputError
from playground.runner import FanOutRunner
from playground.store import RunStore
from playground.testing.loopback import OpenAIServer, Script


@pytest.fixture
def server():
    scripts = {name: Script(tokens=(f"{name} says hi",), gap_s=0.001) for name in ("alpha", "beta", "gamma")}
    with OpenAIServer(scripts) as running:
        yield running


@pytest.fixture
def arena(tmp_path, server, make_pane):
    url = server.url + "/v1"
    panes = [make_pane(name=name, backend="openai", model=name, base_url=url) for name in ("alpha", "beta", "gamma")]
    store = RunStore(tmp_path / "runs.sqlite")
    yield Arena(panes, FanOutRunner(store), store, rng=random.Random(5))
    store.close()


def _play(arena: Arena, session: str, prompt: str = "hello", **options):
    state = arena.start_round(session, prompt, **options)
    assert state.turn is not None and state.turn.wait_done(timeout=30)
    return state


def test_a_round_hides_names_and_badges_until_its_vote_then_reveals_and_stores_it(arena):
    state = _play(arena, "s1")
    assert len(state.panes) == 2 and not state.revealed
    hidden = [m["content"] for slot in range(2) for m in state.display(slot)]
    assert not any("TTFT" in text for text in hidden)
    assert state.vote_refusal() is None
    vote = arena.vote("s1", "B")
    assert state.revealed and any("TTFT" in m["content"] for m in state.display(0))
    stored = arena.store.votes()
    assert [v["vote_id"] for v in stored] == [vote.vote_id]
    assert stored[0]["winner"] == state.panes[1].name
    assert stored[0]["run_ids"].split(",") == [r.run_id for r in state.rounds[0].records]
    assert stored[0]["batch_id"] == state.rounds[0].records[0].batch_id
    # Logged apart from the page session's Compare runs, so its table never lists a blind round.
    assert stored[0]["session_id"] == "arena-s1" and {r["session_id"] for r in arena.store.rows()} == {"arena-s1"}
    with pytest.raises(InputError, match="already has a vote"):
        arena.vote("s1", TIE)


def test_a_follow_up_is_a_new_round_with_its_own_batch_and_vote(arena):
    state = _play(arena, "s2", picks=["gamma", "alpha"])
    assert {p.name for p in state.panes} == {"gamma", "alpha"}
    arena.vote("s2", TIE)
    _play(arena, "s2", "and then?")
    assert len(state.rounds) == 2 and state.rounds[0].batch_id != state.rounds[1].batch_id
    # The follow-up carries the conversation: each pane got its own earlier answer back.
    assert all(conversation.turns == 2 for conversation in state.conversations.values())
    arena.vote("s2", BOTH_BAD)
    assert [v["winner"] for v in arena.store.votes()] == [TIE, BOTH_BAD]


def test_three_models_a_round_and_a_new_round_draws_again(arena):
    state = _play(arena, "s3", count=3)
    assert sorted(p.name for p in state.panes) == ["alpha", "beta", "gamma"]
    arena.vote("s3", "C")
    arena.new_round("s3")
    assert state.panes == [] and state.rounds == [] and not state.revealed
    with pytest.raises(InputError, match="send a prompt first"):
        arena.vote("s3", "A")


def test_a_round_with_a_failed_run_cannot_be_voted(tmp_path, server, make_pane):
    panes = [make_pane(name="up", backend="openai", model="alpha", base_url=server.url + "/v1"),
             make_pane(name="down", backend="ollama", model="m", host="http://127.0.0.1:9")]  # fmt: skip
    store = RunStore(tmp_path / "failed.sqlite")
    arena = Arena(panes, FanOutRunner(store), store)
    state = _play(arena, "s4")
    failed = "Model A" if state.panes[0].name == "down" else "Model B"
    with pytest.raises(InputError, match=f"{failed} failed, so this round cannot be voted"):
        arena.vote("s4", "A")
    assert store.votes() == [] and state.revealed


def test_bad_picks_and_counts_are_refused_with_a_reason(arena):
    with pytest.raises(InputError, match="at least two panes"):
        arena.start_round("s5", "hi", picks=["alpha"])
    with pytest.raises(InputError, match="No pane named nope"):
        arena.start_round("s5", "hi", picks=["alpha", "nope"])
    with pytest.raises(InputError, match="between 2 and 3 models"):
        arena.start_round("s5", "hi", count=4)
    with pytest.raises(InputError, match="prompt is empty"):
        arena.start_round("s5", "  ")
    with pytest.raises(InputError, match="one of A, B"):
        _play(arena, "s5")
        arena.vote("s5", "Z")


def test_a_run_in_flight_does_not_tell_whether_it_streams():
    from playground.arena.rounds import ArenaSession
    from playground.runner import Snapshot

    waiting = Snapshot("", "")
    assert ArenaSession.live(waiting, streaming=False) == ArenaSession.live(waiting, streaming=True)
    assert "non-stream" not in str(ArenaSession.live(waiting, streaming=False))
    assert ArenaSession.live(Snapshot("partial answer", ""), streaming=True)[-1]["content"] == "partial answer"
