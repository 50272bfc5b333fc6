"""Per-session state kept on the server, keyed by Gradio's session hash.

A `Turn` is one prompt sent to every pane: one fan-out per mode (two with "run both
modes", in alternating order), driven by a background thread through the shared runner.
Pane renderers wait on the turn for their run handles; they never measure anything.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from playground.backends.base import MODES, Message, Mode, alternated
from playground.records import RunRecord
from playground.runner import Batch, FanOutRunner, PaneJob, RunHandle


@dataclass
class Conversation:
    """One pane's conversation: what is sent to the model, and what the chat shows."""

    history: list[Message] = field(default_factory=list)
    display: list[dict] = field(default_factory=list)
    # Where each turn starts in (history, display), so a turn can be taken back exactly.
    _turn_starts: list[tuple[int, int]] = field(default_factory=list)

    @property
    def turns(self) -> int:
        return len(self._turn_starts)

    def commit(self, prompt: str, answer: str | None, shown: list[dict]) -> None:
        self._turn_starts.append((len(self.history), len(self.display)))
        self.display += shown
        if answer:
            # A turn without an answer is shown, but not sent back to the model.
            self.history += [Message("user", prompt), Message("assistant", answer)]

    def recent_display(self, max_turns: int, max_characters: int | None = None) -> list[dict]:
        """What the chat shows: the last turns, after a note on how many are left out.

        The browser re-renders every message of a chat each time the chat is written (once per
        turn), so its cost is bounded here: at most `max_turns` turns holding at most
        `max_characters` of text, the last turn always shown. The model is still sent the whole history.
        """
        starts = [display_start for _, display_start in self._turn_starts]
        shown, characters = 0, 0
        for start, end in reversed(list(zip(starts, [*starts[1:], len(self.display)], strict=True))):
            characters += sum(len(str(message.get("content", ""))) for message in self.display[start:end])
            over_budget = max_characters is not None and characters > max_characters
            if shown == max_turns or (shown and over_budget):
                break
            shown += 1
        hidden = len(starts) - shown
        if hidden == 0:
            return [dict(message) for message in self.display]
        note = {
            "role": "assistant",
            "content": f"⋯ {hidden} earlier turn{'s' if hidden > 1 else ''} not shown here: the model still "
            "receives them, and every run is in the run log (CSV).",
        }
        return [note, *(dict(message) for message in self.display[starts[hidden] :])]

    def drop_last_turn(self) -> None:
        """Forget the last turn (for Regenerate)."""
        if self._turn_starts:
            history_start, display_start = self._turn_starts.pop()
            del self.history[history_start:]
            del self.display[display_start:]

    def clear(self) -> None:
        self.history.clear()
        self.display.clear()
        self._turn_starts.clear()


class Turn:
    """One prompt to every pane, in one or two modes, run step by step by a driver thread."""

    def __init__(
        self,
        prompt: str,
        steps: Sequence[Sequence[PaneJob]],
        runner: FanOutRunner,
        on_done: Callable[[dict[str, list[RunRecord]]], None],
    ) -> None:
        self.prompt = prompt
        self.turn_id = uuid.uuid4().hex
        self._steps = [list(jobs) for jobs in steps]
        self._runner = runner
        self._on_done = on_done
        self._batches: list[Batch | None] = [None] * len(self._steps)
        self._changed = threading.Condition()
        self._cancelled = False
        self._done = False
        self._ends_shown: set[str] = set()
        self._end_claimed = False

    @property
    def step_count(self) -> int:
        return len(self._steps)

    @property
    def pane_count(self) -> int:
        """Panes that stream side by side in each step (they share the page's updates)."""
        return len(self._steps[0]) if self._steps else 0

    def start(self) -> None:
        threading.Thread(target=self._drive, name=f"turn-{self.turn_id[:8]}", daemon=True).start()

    def _drive(self) -> None:
        records: dict[str, list[RunRecord]] = {job.pane.name: [] for job in self._steps[0]}
        try:
            for index, jobs in enumerate(self._steps):
                with self._changed:
                    if self._cancelled:
                        break
                    batch = self._runner.start(jobs, batch_id=uuid.uuid4().hex)
                    self._batches[index] = batch
                    self._changed.notify_all()
                for record in batch.wait():
                    records[record.pane].append(record)
        finally:
            # Conversations are committed here, not by the page, so nothing depends on a browser tab.
            self._on_done(records)
            with self._changed:
                self._done = True
                self._changed.notify_all()

    def handle(self, step: int, pane_name: str) -> RunHandle | None:
        """The pane's run in this step, once started; None if the turn was stopped before it."""
        with self._changed:
            self._changed.wait_for(lambda: self._batches[step] is not None or self._cancelled or self._done)
            batch = self._batches[step]
        return batch.by_pane().get(pane_name) if batch is not None else None

    def cancel(self) -> None:
        with self._changed:
            self._cancelled = True
            batches = [b for b in self._batches if b is not None]
            self._changed.notify_all()
        for batch in batches:
            batch.cancel()

    def wait_done(self, timeout: float | None = None) -> bool:
        with self._changed:
            return self._changed.wait_for(lambda: self._done, timeout)

    @property
    def finished(self) -> bool:
        with self._changed:
            return self._done

    def show_end(self, pane_name: str) -> bool:
        """Note that the page has written this pane's end of the turn (its history chat).

        True for the one call that completes the turn's end: that caller finishes the turn on the page.
        """
        with self._changed:
            self._ends_shown.add(pane_name)
            complete = self._done and len(self._ends_shown) >= self.pane_count
            claimed = complete and not self._end_claimed
            self._end_claimed |= claimed
            return claimed


@dataclass
class SessionState:
    session_id: str
    conversations: dict[str, Conversation]
    turn: Turn | None = None
    last_prompt: str | None = None
    turns_started: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def busy(self) -> bool:
        return self.turn is not None and not self.turn.finished


class SessionRegistry:
    """All live sessions; lock-protected; a session is freed when its page unloads."""

    def __init__(self, pane_names: Sequence[str]) -> None:
        self._pane_names = list(pane_names)
        self._lock = threading.Lock()
        self._sessions: dict[str, SessionState] = {}

    def get(self, session_id: str) -> SessionState:
        with self._lock:
            if session_id not in self._sessions:
                conversations = {name: Conversation() for name in self._pane_names}
                self._sessions[session_id] = SessionState(session_id, conversations)
            return self._sessions[session_id]

    def free(self, session_id: str) -> None:
        with self._lock:
            state = self._sessions.pop(session_id, None)
        if state is not None and state.turn is not None:
            state.turn.cancel()

    def __len__(self) -> int:
        with self._lock:
            return len(self._sessions)


def step_modes(pane_modes: Sequence[Mode], both: bool, turn_number: int) -> list[list[Mode]]:
    """Per step, each pane's mode. Both modes: two steps whose order alternates per turn."""
    if not both:
        return [list(pane_modes)]
    first, second = alternated(MODES, turn_number)
    return [[first] * len(pane_modes), [second] * len(pane_modes)]


def answer_for_history(records: Sequence[RunRecord]) -> str | None:
    """The answer that goes into the conversation: the streamed one when both modes ran."""
    ordered = sorted(records, key=lambda r: r.mode != "stream")
    return next((r.response_text for r in ordered if r.response_text), None)
