"""Blind rounds: panes shown as "Model A", "Model B", …, one vote per round, then the reveal.

A round is one prompt sent to the session's panes through the shared fan-out runner (one batch);
its vote is stored in the run log under the batch id. A session keeps its panes and their
conversations until "New round": a follow-up prompt is a new round of the same conversation, and
votes again. The names, backends, models and badges stay hidden until the session has voted (or a
round failed and cannot be voted). No gradio here: the page's arena tab drives this.
"""

from __future__ import annotations

import random
import string
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field

from playground.arena.votes import BOTH_BAD, NO_WINNER, TIE, new_vote
from playground.errors import InputError
from playground.panes import Pane, check_prompt
from playground.records import RunRecord, VoteRecord
from playground.runner import FanOutRunner, PaneJob, Snapshot
from playground.store import RunStore
from playground.ui.render import badge, final_messages, live_messages, user_message
from playground.ui.session import Conversation, Turn, answer_for_history

MIN_PANES = 2
# Arena runs and votes are logged under "arena-<page session>": the Compare tab's table of "this
# session's runs" must not list a blind round's runs, with their pane names, beside it.
LOG_SESSION_PREFIX = "arena-"
WAITING_TITLE = "Waiting for the answer…"


def slot_name(slot: int) -> str:
    return f"Model {string.ascii_uppercase[slot]}"


@dataclass
class ArenaRound:
    prompt: str
    records: list[RunRecord]  # in the order shown
    verdict: str | None = None

    @property
    def batch_id(self) -> str:
        return self.records[0].batch_id

    def failure(self) -> str | None:
        """Why this round cannot be voted, or None."""
        failed = [(slot, r) for slot, r in enumerate(self.records) if r.status != "ok"]
        if not failed:
            return None
        slot, record = failed[0]
        why = "was stopped" if record.status == "cancelled" else "failed"
        return f"{slot_name(slot)} {why}, so this round cannot be voted: send the prompt again or start a new round."


@dataclass
class ArenaSession:
    session_id: str
    panes: list[Pane] = field(default_factory=list)  # in the order shown: slot 0 is "Model A"
    conversations: dict[str, Conversation] = field(default_factory=dict)
    rounds: list[ArenaRound] = field(default_factory=list)
    turn: Turn | None = None
    rounds_before_turn: int = 0  # the rounds shown above the running turn
    revealed: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)

    def busy(self) -> bool:
        return self.turn is not None and not self.turn.finished

    @property
    def log_session_id(self) -> str:
        return LOG_SESSION_PREFIX + self.session_id

    @property
    def last_round(self) -> ArenaRound | None:
        return self.rounds[-1] if self.rounds else None

    def vote_refusal(self) -> str | None:
        """Why the session cannot vote now, or None when it can."""
        last = self.last_round
        if self.busy():
            return "Wait for every answer before voting."
        if last is None:
            return "Nothing to vote on yet: send a prompt first."
        if last.verdict is not None:
            return "This round already has a vote: send a follow-up or start a new round to vote again."
        return last.failure()

    def finished(self, record: RunRecord, label_mode: bool = False) -> list[dict]:
        """A finished run's messages: the badge (with cost) only once the names are revealed."""
        messages = final_messages(record, label_mode, with_badge=False)
        if self.revealed:
            cost = f" · ${record.cost_usd:.6f}" if record.cost_usd is not None else ""
            messages.append({"role": "assistant", "content": f"<sub>{badge(record, label_mode)}{cost}</sub>"})
        return messages

    @staticmethod
    def live(snapshot: Snapshot, streaming: bool) -> list[dict]:
        """A run in flight, without saying whether it streams: a neutral wait until text comes."""
        messages = live_messages(snapshot, streaming=True)
        if not snapshot.text:
            messages.append({"role": "assistant", "content": "", "metadata": {"title": WAITING_TITLE, "status": "pending"}})
        return messages

    def display(self, slot: int, rounds: int | None = None) -> list[dict]:
        """The chat of one slot: every round (or the first `rounds`), prompt and answer."""
        shown: list[dict] = []
        for arena_round in self.rounds[:rounds]:
            shown += [user_message(arena_round.prompt), *self.finished(arena_round.records[slot])]
        return shown


class Arena:
    """Every session's blind rounds over the configured panes; safe to share between sessions."""

    def __init__(self, panes: Sequence[Pane], runner: FanOutRunner, store: RunStore, rng: random.Random | None = None):
        self.panes = list(panes)
        self.runner = runner
        self.store = store
        self._rng = rng or random.SystemRandom()
        self._lock = threading.Lock()
        self._sessions: dict[str, ArenaSession] = {}

    @property
    def max_slots(self) -> int:
        return len(self.panes)

    def session(self, session_id: str) -> ArenaSession:
        with self._lock:
            return self._sessions.setdefault(session_id, ArenaSession(session_id))

    def free(self, session_id: str) -> None:
        with self._lock:
            state = self._sessions.pop(session_id, None)
        if state is not None and state.turn is not None:
            state.turn.cancel()

    def choose(self, picks: Sequence[str], count: int) -> list[Pane]:
        """The user's picked panes (two or more), else `count` panes at random; in a random order either way."""
        if len(self.panes) < MIN_PANES:
            raise InputError("The arena needs at least two panes: add another pane to the config.")
        by_name = {pane.name: pane for pane in self.panes}
        if picks:
            unknown = [name for name in picks if name not in by_name]
            if unknown:
                raise InputError(f"No pane named {', '.join(unknown)}.")
            if len(set(picks)) < MIN_PANES:
                raise InputError("Pick at least two panes, or none to have them chosen at random.")
            chosen = [by_name[name] for name in dict.fromkeys(picks)]
        else:
            if not MIN_PANES <= count <= len(self.panes):
                raise InputError(f"A round shows between {MIN_PANES} and {len(self.panes)} models, not {count}.")
            chosen = self._rng.sample(self.panes, count)
        self._rng.shuffle(chosen)
        return chosen

    def start_round(self, session_id: str, prompt: str, picks: Sequence[str] = (), count: int = MIN_PANES) -> ArenaSession:
        """Send `prompt` to the session's panes (chosen now on a fresh session); raises InputError."""
        state = self.session(session_id)
        with state.lock:
            if state.busy():
                raise InputError("A round is still running: wait for it or press Stop.")
            check_prompt(prompt)
            if not state.panes:
                state.panes = self.choose(picks, int(count))
                state.conversations = {pane.name: Conversation() for pane in state.panes}
            jobs = [self._job(state, pane, prompt) for pane in state.panes]

            def commit(records: dict[str, list[RunRecord]]) -> None:
                self._commit(state, prompt, records)

            state.turn = Turn(prompt, [jobs], self.runner, on_done=commit)
            state.rounds_before_turn = len(state.rounds)
        state.turn.start()
        return state

    @staticmethod
    def _job(state: ArenaSession, pane: Pane, prompt: str) -> PaneJob:
        conversation = state.conversations[pane.name]
        request = pane.build_request(prompt, conversation.history)
        return PaneJob(pane, request, session_id=state.log_session_id, turn=conversation.turns + 1)

    @staticmethod
    def _commit(state: ArenaSession, prompt: str, records: dict[str, list[RunRecord]]) -> None:
        ran = [records[pane.name][0] for pane in state.panes if records.get(pane.name)]
        for pane in state.panes:
            state.conversations[pane.name].commit(prompt, answer_for_history(records.get(pane.name, [])), [])
        if len(ran) < len(state.panes):
            return  # stopped before the runs started: nothing to show or vote on
        arena_round = ArenaRound(prompt, ran)
        state.rounds.append(arena_round)
        if arena_round.failure():
            # An error message names its backend anyway, and the round cannot be voted.
            state.revealed = True

    def vote(self, session_id: str, choice: str) -> VoteRecord:
        """Store the session's vote on its last round: a slot letter ("A", "B", …), TIE or BOTH_BAD."""
        state = self.session(session_id)
        with state.lock:
            refusal = state.vote_refusal()
            if refusal:
                raise InputError(refusal)
            last = state.last_round
            assert last is not None
            winner = self._winner(last, choice)
            vote = new_vote(last.batch_id, state.log_session_id, last.records, winner)
            self.store.add_vote(vote)
            last.verdict = winner
            state.revealed = True
        return vote

    @staticmethod
    def _winner(arena_round: ArenaRound, choice: str) -> str:
        if choice in NO_WINNER:
            return choice
        letters = string.ascii_uppercase[: len(arena_round.records)]
        if len(choice) != 1 or choice not in letters:
            raise InputError(f"Vote for one of {', '.join(letters)}, {TIE} or {BOTH_BAD}.")
        return arena_round.records[letters.index(choice)].pane

    def stop(self, session_id: str) -> None:
        state = self.session(session_id)
        if state.turn is not None:
            state.turn.cancel()

    def new_round(self, session_id: str) -> None:
        """Forget the session's panes and conversation: the next prompt draws new panes, blind again."""
        state = self.session(session_id)
        with state.lock:
            if state.busy():
                raise InputError("Stop the round in flight before starting a new one.")
            state.panes, state.conversations, state.rounds = [], {}, []
            state.turn, state.revealed = None, False
