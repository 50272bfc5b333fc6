"""The page's event handlers. They start turns through the shared fan-out runner and render
snapshots; they never time anything and never name a backend."""

from __future__ import annotations

import asyncio
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import gradio as gr

from playground.backends import backend_class
from playground.backends.base import Mode
from playground.config import PlaygroundConfig
from playground.errors import InputError, PlaygroundError
from playground.panes import BackendContext, Pane, build_pane, check_prompt
from playground.records import RunRecord
from playground.runner import FanOutRunner, PaneJob, Snapshot
from playground.ui.render import final_messages, header, live_messages, turn_messages, user_message
from playground.ui.results import Results
from playground.ui.session import SessionRegistry, SessionState, Turn, answer_for_history, step_modes
from playground.ui.settings import SETTING_FIELDS, PaneSettings, parse_settings

# Chat updates per second for the whole page, shared by the panes of a turn. Each update costs the
# browser's main thread a fixed amount besides the text (Gradio rewrites every loading status on
# each streamed value), ≈ 17 ms on a 2-core VM without GPU: 60 updates a second (3 panes at 20)
# kept it 90–100 % busy and a click waited seconds; 20 a second in all keeps it about a third busy.
# The answer streams into a small "live" chat that holds only the current turn, so an update's
# cost does not grow with the history; it grows with the answer itself, so a very long answer is
# updated less often.
PAGE_UPDATES_PER_SECOND = 20
SECONDS_PER_SHOWN_CHARACTER = 2e-6
# Turns a pane's history chat shows, and the characters of text they may hold (its last turn is
# always shown); earlier turns are summed up in one note (the model gets them all). Writing the
# chat re-renders all it shows: with three panes of 20 turns of 16,000-character answers the
# browser was busy for seconds at the end of each turn, and a turn sent right after waited for it.
HISTORY_TURNS_SHOWN = 20
HISTORY_CHARACTERS_SHOWN = 40_000


# How long an opening page waits to show its panes ready (a model loading); a reload asks again.
HEADER_WAIT_S = 600.0
PREPARED_POLL_S = 0.25


def refusal(message: str) -> gr.Error:
    """A message for the user, who did something the page cannot do now; not a fault, so no traceback."""
    return gr.Error(message, print_exception=False)


def update_interval(shown_characters: int, panes_streaming: int = 1) -> float:
    """Seconds between two updates of one pane's chat."""
    return max(panes_streaming, 1) / PAGE_UPDATES_PER_SECOND + SECONDS_PER_SHOWN_CHARACTER * shown_characters


def _interval_for(panes_streaming: int) -> Callable[[Snapshot], float]:
    def interval(snapshot: Snapshot) -> float:
        return update_interval(len(snapshot.text) + len(snapshot.reasoning), panes_streaming)

    return interval


def live_chat(messages: list[dict]) -> dict:
    return gr.update(value=messages, visible=True)


def hidden_live_chat() -> dict:
    return gr.update(value=[], visible=False)


class PaneDirectory:
    """The configured panes, plus panes built on demand when a session picks another model.

    Shared by every session: a lock guards it, and it keeps at most `max_variants` built panes
    (least recently used go first). A model that would load weights into this process is
    never loaded from the page: any visitor could otherwise fill its memory. It must be in the config.
    """

    def __init__(
        self, config: PlaygroundConfig, panes: Sequence[Pane], context: BackendContext, max_variants: int = 32
    ) -> None:
        self.config = config
        self.panes = list(panes)
        self._context = context
        self._max_variants = max_variants
        self._lock = threading.Lock()
        self._variants: OrderedDict[tuple[int, str], Pane] = OrderedDict()

    def get(self, index: int, model: str) -> Pane:
        configured = self.panes[index]
        if model == configured.config.model:
            return configured
        key = (index, model)
        with self._lock:
            if key in self._variants:
                self._variants.move_to_end(key)
                return self._variants[key]
            if backend_class(configured.config.backend).loads_weights and not self._configured(configured, model):
                raise InputError(self._not_loadable(configured, model))
            # Same pane name, so its runs are logged under the pane the user sees.
            variant = configured.config.model_copy(update={"model": model})
            self._variants[key] = build_pane(variant, self.config, self._context)
            while len(self._variants) > self._max_variants:
                self._variants.popitem(last=False)
            return self._variants[key]

    def _configured(self, pane: Pane, model: str) -> bool:
        """True when another pane of the same backend is configured with `model` (so it is loaded anyway)."""
        return any(p.config.backend == pane.config.backend and p.config.model == model for p in self.panes)

    def _not_loadable(self, configured: Pane, model: str) -> str:
        return (
            f"{configured.name}: the page does not load new local models ({model!r} would be loaded into this "
            f"server's memory). Fix: add a pane with `model: {model}` to {self.config.source} and restart."
        )


@dataclass
class Controller:
    directory: PaneDirectory
    runner: FanOutRunner
    sessions: SessionRegistry
    results: Results

    @property
    def panes(self) -> list[Pane]:
        return self.directory.panes

    def start_preparing(self) -> None:
        """Open clients and load models in the background (the first run starts it too, should it come first)."""
        if self.runner.preparation is not None:
            self.runner.preparation.start()

    # ---- starting, stopping, clearing ---------------------------------------------------

    def start_turn(
        self, prompt: str, both_modes: bool, settings_values: Sequence[Any], session_id: str, regenerate: bool = False
    ) -> None:
        """Validate and start one turn; raises a `refusal` with a message for the user."""
        state = self.sessions.get(session_id)
        with state.lock:
            if state.busy():
                raise refusal("A run is still in flight: wait for it or press Stop.")
            if regenerate:
                if not state.last_prompt:
                    raise refusal("Nothing to regenerate yet: send a prompt first.")
                prompt = state.last_prompt
                for conversation in state.conversations.values():
                    conversation.drop_last_turn()
            try:
                check_prompt(prompt)
                settings = self._settings(settings_values)
                turn = self._new_turn(state, prompt, settings, both_modes)
            except PlaygroundError as exc:
                raise refusal(exc.message) from None
            state.turn, state.last_prompt = turn, prompt
            state.turns_started += 1
        turn.start()

    def _settings(self, values: Sequence[Any]) -> list[PaneSettings]:
        width = len(SETTING_FIELDS)
        return [parse_settings(pane.name, values[i * width : (i + 1) * width]) for i, pane in enumerate(self.panes)]

    def _new_turn(self, state: SessionState, prompt: str, settings: list[PaneSettings], both_modes: bool) -> Turn:
        steps = []
        for modes in step_modes([s.mode for s in settings], both_modes, state.turns_started):
            steps.append(
                [self._job(state, index, prompt, s, mode) for index, (s, mode) in enumerate(zip(settings, modes, strict=True))]
            )

        def commit(records: dict[str, list[RunRecord]]) -> None:
            self._commit(state, prompt, records, both_modes)

        return Turn(prompt, steps, self.runner, on_done=commit)

    def _job(self, state: SessionState, index: int, prompt: str, settings: PaneSettings, mode: Mode) -> PaneJob:
        configured = self.panes[index]
        pane = self.directory.get(index, settings.model)
        conversation = state.conversations[configured.name]
        # An empty system box means no system prompt; the box starts with the configured one.
        request = pane.build_request(
            prompt, conversation.history, mode=mode, params=settings.params, system=settings.system or ""
        )
        return PaneJob(pane, request, session_id=state.session_id, turn=conversation.turns + 1)

    def _commit(self, state: SessionState, prompt: str, records: dict[str, list[RunRecord]], both_modes: bool) -> None:
        for name, pane_records in records.items():
            shown = turn_messages(prompt, pane_records, label_mode=both_modes)
            state.conversations[name].commit(prompt, answer_for_history(pane_records), shown)

    def stop(self, session_id: str) -> None:
        state = self.sessions.get(session_id)
        if state.turn is not None:
            state.turn.cancel()

    def clear(self, session_id: str) -> None:
        state = self.sessions.get(session_id)
        with state.lock:
            if state.busy():
                raise refusal("Stop the run in flight before clearing.")
            for conversation in state.conversations.values():
                conversation.clear()
            state.last_prompt = None

    # ---- rendering ----------------------------------------------------------------------

    def render_pane(self, index: int, session_id: str) -> Iterator[Any]:
        """Follow this pane's runs in the current turn, as updates of its live chat.

        The history chat is written once the turn is over, by `pane_history`.
        """
        state = self.sessions.get(session_id)
        name = self.panes[index].name
        turn = state.turn
        if turn is None:
            yield hidden_live_chat()
            return
        yield live_chat([user_message(turn.prompt)])
        # Plain values: an update that sets visibility again makes the browser lay the chat out anew.
        yield from follow_turn(turn, name, earlier=[])
        turn.wait_done()

    def pane_history(self, index: int, session_id: str) -> tuple[list[dict], dict]:
        """The pane's history chat once its turn is over (the turn included), and the live chat hidden."""
        state = self.sessions.get(session_id)
        # A turn sent meanwhile (Enter in the prompt box) owns the live chat.
        live = gr.skip() if state.busy() else hidden_live_chat()
        conversation = state.conversations[self.panes[index].name]
        return conversation.recent_display(HISTORY_TURNS_SHOWN, HISTORY_CHARACTERS_SHOWN), live

    def show_pane_end(self, index: int, session_id: str) -> bool:
        """Note that the page has written this pane's end of the turn; True for the call that completes the turn's end."""
        turn = self.sessions.get(session_id).turn
        return turn is None or turn.show_end(self.panes[index].name)

    def headers(self, ask_servers: bool = True) -> list[str]:
        """Each pane's header. Checking a pane and its details may ask its server (up to seconds): the page
        does that as it opens, not while it starts (`ask_servers=False`: the state of preparation only)."""
        return [self._header(pane, ask_servers) for pane in self.panes]

    def preparing(self) -> bool:
        """True while the panes' clients and models are being prepared."""
        return self.runner.preparation is not None and not self.runner.preparation.done

    async def until_prepared(self, timeout_s: float = HEADER_WAIT_S) -> None:
        """Wait, without holding a worker thread (an open page waits here), until the panes are prepared."""
        for _ in range(round(timeout_s / PREPARED_POLL_S)):
            if not self.preparing():
                return
            await asyncio.sleep(PREPARED_POLL_S)

    def _header(self, pane: Pane, ask_servers: bool) -> str:
        problem = pane.backend.check() if ask_servers else None
        preparing = self.runner.preparation.doing(pane) if self.runner.preparation is not None else ""
        state = pane.backend.details() if ask_servers and problem is None and not preparing else ""
        return header(pane.name, pane.backend.kind, pane.config.model, pane.config.mode, problem, state, preparing)


FinishedMessages = Callable[[RunRecord, bool], list[dict]]
LiveMessages = Callable[[Snapshot, bool], list[dict]]


def follow_turn(
    turn: Turn,
    pane_name: str,
    earlier: list[dict],
    finished: FinishedMessages = final_messages,
    live: LiveMessages = live_messages,
) -> Iterator[list[dict]]:
    """The chat of one pane while `turn` runs: `earlier` messages, the prompt, then each run as
    `live(snapshot, streaming)` (throttled snapshots) and, once it ends, `finished(record, label_mode)`."""
    shown = [user_message(turn.prompt)]
    for step in range(turn.step_count):
        handle = turn.handle(step, pane_name)
        if handle is None:
            break
        streaming = handle.job.request.stream
        for snapshot in handle.snapshots(_interval_for(turn.pane_count)):
            if snapshot.done:
                shown += finished(snapshot.record, turn.step_count > 1)
                yield earlier + shown
            else:
                yield earlier + shown + live(snapshot, streaming)
