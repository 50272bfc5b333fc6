"""The Arena tab: blind rounds over the configured panes, votes, and the leaderboard.

Layout first, then the wiring. Rounds run through the same fan-out runner as the Compare tab and
render the same way (`follow_turn`: throttled snapshots); what stays hidden until the vote (names,
backends, models, badges) is decided by `playground.arena.rounds`, the statistics by
`playground.arena.leaderboard`.
"""

from __future__ import annotations

import copy
import string
from dataclasses import dataclass
from pathlib import Path

import gradio as gr

from playground.arena.leaderboard import Leaderboard, leaderboard_view
from playground.arena.plot import quality_plot
from playground.arena.rounds import MIN_PANES, Arena, ArenaSession, slot_name
from playground.arena.votes import BOTH_BAD, TIE
from playground.errors import PlaygroundError
from playground.ui.controller import Controller, follow_turn, refusal
from playground.ui.render import header

UNLIMITED = {"concurrency_limit": None}
WAITING = "Send a prompt: the answers come from models drawn at random, shown as Model A, Model B, …"
VOTE_NOW = "Which answer is better? Vote to reveal the models and their timings."


@dataclass
class Slot:
    column: gr.Column
    header: gr.Markdown
    chat: gr.Chatbot
    vote: gr.Button


@dataclass
class ArenaView:
    slots: list[Slot]
    picks: gr.CheckboxGroup
    count: gr.Dropdown
    prompt: gr.Textbox
    send: gr.Button
    stop: gr.Button
    new_round: gr.Button
    tie: gr.Button
    both_bad: gr.Button
    status: gr.Markdown
    table: gr.Dataframe
    plot: gr.Plot
    refresh: gr.Button
    votes_csv: gr.DownloadButton
    table_csv: gr.DownloadButton

    def round_outputs(self) -> list:
        """What a change of round state updates: headers, columns, vote buttons, status, buttons."""
        return [*(s.header for s in self.slots), *(s.column for s in self.slots), *self.vote_buttons(), self.status,
                self.send, self.new_round, self.stop]  # fmt: skip

    def vote_buttons(self) -> list:
        return [*(s.vote for s in self.slots), self.tie, self.both_bad]

    def leaderboard_outputs(self) -> list:
        return [self.table, self.plot, self.votes_csv, self.table_csv]


def build_arena_tab(demo: gr.Blocks, controller: Controller) -> None:
    arena = Arena(controller.panes, controller.runner, controller.results.store)
    leaderboard = Leaderboard(controller.results.store)
    view = _layout(arena)
    _wire(demo, arena, leaderboard, view, controller.results.export_dir)


def _layout(arena: Arena) -> ArenaView:
    names = [pane.name for pane in arena.panes]
    with gr.Row():
        picks = gr.CheckboxGroup(names, label="Panes to compare (none: drawn at random; the order is shuffled either way)",
                                 elem_id="arena-picks", scale=3)  # fmt: skip
        counts = list(range(MIN_PANES, max(MIN_PANES, len(names)) + 1))
        count = gr.Dropdown(counts, value=MIN_PANES, label="Models per round (random draw)", elem_id="arena-count", scale=1)
    slots = []
    with gr.Row(equal_height=False):
        for index in range(arena.max_slots):
            with gr.Column(min_width=320, visible=index < MIN_PANES, elem_id=f"arena-slot-{index}") as column:
                slot_header = gr.Markdown(f"**{slot_name(index)}**", elem_id=f"arena-slot-{index}-header")
                chat = gr.Chatbot(label=slot_name(index), height=380, elem_id=f"arena-slot-{index}-chat", buttons=["copy"])
                vote = gr.Button(_vote_label(index, MIN_PANES), interactive=False, elem_id=f"arena-vote-{index}")
            slots.append(Slot(column, slot_header, chat, vote))
    with gr.Row():
        tie = gr.Button("Tie", interactive=False, elem_id="arena-vote-tie")
        both_bad = gr.Button("Both bad", interactive=False, elem_id="arena-vote-both-bad")
    status = gr.Markdown(WAITING, elem_id="arena-status")
    with gr.Row():
        prompt = gr.Textbox(placeholder="Ask the hidden models… (Enter sends)", show_label=False, lines=1, max_lines=8,
                            scale=6, elem_id="arena-prompt")  # fmt: skip
        with gr.Column(scale=1, min_width=160):
            send = gr.Button("Send", variant="primary", elem_id="arena-send")
            stop = gr.Button("Stop", variant="stop", interactive=False, elem_id="arena-stop")
            new_round = gr.Button("New round", elem_id="arena-new-round")
    with gr.Accordion("Leaderboard (every vote in the run log)", open=True):
        table = gr.Dataframe(label="Bradley–Terry rating (Elo scale, mean 1000) with 95% bootstrap interval, speed and cost "
                             "of the voted runs", interactive=False, elem_id="arena-leaderboard", wrap=True)  # fmt: skip
        plot = gr.Plot(label="Rating against median E2E and cost per answer (★ Pareto-optimal)", elem_id="arena-plot")
        with gr.Row():
            refresh = gr.Button("Refresh", size="sm", elem_id="arena-refresh")
            votes_csv = gr.DownloadButton("Download votes (CSV)", elem_id="arena-votes-csv", interactive=False)
            table_csv = gr.DownloadButton("Download leaderboard (CSV)", elem_id="arena-table-csv", interactive=False)
    return ArenaView(slots, picks, count, prompt, send, stop, new_round, tie, both_bad, status, table, plot, refresh,
                     votes_csv, table_csv)  # fmt: skip


def _vote_label(slot: int, shown: int) -> str:
    letter = string.ascii_uppercase[slot]
    return f"{letter} is better" if shown == MIN_PANES else f"{letter} is best"


def _none_good(shown: int) -> str:
    return "both bad" if shown == MIN_PANES else "all bad"


def _slot_header(state: ArenaSession, slot: int) -> str:
    if not state.revealed or slot >= len(state.panes):
        return f"**{slot_name(slot)}**"
    pane = state.panes[slot]
    return f"**{slot_name(slot)}** — " + header(pane.name, pane.backend.kind, pane.config.model, pane.config.mode, None)


def _round_updates(view: ArenaView, state: ArenaSession, status: str | None = None) -> list:
    """Headers, columns, vote buttons and status for the session as it stands."""
    shown = len(state.panes) or MIN_PANES
    busy = state.busy()
    votable = not busy and state.vote_refusal() is None
    slots = range(len(view.slots))
    headers = [_slot_header(state, slot) for slot in slots]
    columns = [gr.update(visible=slot < shown) for slot in slots]
    votes = [gr.update(value=_vote_label(slot, shown), visible=slot < shown, interactive=votable) for slot in slots]
    votes += [gr.update(interactive=votable), gr.update(value=_none_good(shown).capitalize(), interactive=votable)]
    buttons = [gr.update(interactive=not busy), gr.update(interactive=not busy), gr.update(interactive=busy)]
    return [*headers, *columns, *votes, status or _status(state), *buttons]


def _status(state: ArenaSession) -> str:
    if state.busy():
        return "The models are answering…"
    last = state.last_round
    if last is None:
        return WAITING
    if last.verdict is not None:
        return _revealed_status(state, last.verdict)
    return last.failure() or VOTE_NOW


def _revealed_status(state: ArenaSession, verdict: str) -> str:
    names = ", ".join(f"{slot_name(i)} was **{p.name}** (`{p.config.model}`)" for i, p in enumerate(state.panes))
    said = {TIE: "a tie", BOTH_BAD: _none_good(len(state.panes))}.get(verdict, f"**{verdict}** best")
    return f"Vote stored ({said}). {names}. Send a follow-up (a new round) or start a new round."


def _wire(demo: gr.Blocks, arena: Arena, leaderboard: Leaderboard, view: ArenaView, export_dir: Path) -> None:
    def start(request: gr.Request, prompt: str, picks: list[str], count: float):
        try:
            state = arena.start_round(request.session_hash, prompt, picks or (), int(count))
        except PlaygroundError as exc:
            raise refusal(exc.message) from None
        return ["", *_round_updates(view, state)]

    started = gr.on([view.send.click, view.prompt.submit], start, [view.prompt, view.picks, view.count],
                    [view.prompt, *view.round_outputs()], api_name="arena_send", show_progress="hidden", **UNLIMITED)  # fmt: skip

    def after(request: gr.Request):
        state = arena.session(request.session_hash)
        return [gr.skip()] * len(view.round_outputs()) if state.busy() else _round_updates(view, state)

    for index, slot in enumerate(view.slots):

        def render(request: gr.Request, index: int = index):
            yield from _render_slot(arena.session(request.session_hash), index)

        rendered = started.success(render, None, slot.chat, api_name=f"arena_slot_{index}", show_progress="hidden", **UNLIMITED)
        rendered.then(after, None, view.round_outputs(), api_visibility="private", **UNLIMITED)

    def voter(choice: str):
        def vote(request: gr.Request):
            try:
                arena.vote(request.session_hash, choice)
            except PlaygroundError as exc:
                raise refusal(exc.message) from None
            state = arena.session(request.session_hash)
            chats = [state.display(slot) if slot < len(state.panes) else [] for slot in range(len(view.slots))]
            return [*chats, *_round_updates(view, state), *_leaderboard(leaderboard, export_dir)]

        return vote

    vote_outputs = [*(s.chat for s in view.slots), *view.round_outputs(), *view.leaderboard_outputs()]
    choices = [(slot.vote, string.ascii_uppercase[index]) for index, slot in enumerate(view.slots)]
    for button, choice in [*choices, (view.tie, TIE), (view.both_bad, BOTH_BAD)]:
        button.click(voter(choice), None, vote_outputs, api_name=f"arena_vote_{choice.lower()}", **UNLIMITED)
    _wire_session_buttons(demo, arena, leaderboard, view, export_dir)


def _render_slot(state: ArenaSession, slot: int):
    turn = state.turn
    if turn is None or slot >= len(state.panes):
        yield []
        return
    earlier = copy.deepcopy(state.display(slot, rounds=state.rounds_before_turn))
    name = state.panes[slot].name
    yield from follow_turn(turn, name, earlier, finished=state.finished, live=state.live)
    turn.wait_done()
    yield state.display(slot)


def _wire_session_buttons(demo: gr.Blocks, arena: Arena, leaderboard: Leaderboard, view: ArenaView, export_dir: Path) -> None:
    def stop(request: gr.Request):
        arena.stop(request.session_hash)
        return gr.update(interactive=False)

    view.stop.click(stop, None, view.stop, api_name="arena_stop", **UNLIMITED)

    def new_round(request: gr.Request):
        try:
            arena.new_round(request.session_hash)
        except PlaygroundError as exc:
            raise refusal(exc.message) from None
        state = arena.session(request.session_hash)
        return [*([] for _ in view.slots), *_round_updates(view, state, "New round: the next prompt draws new models.")]

    view.new_round.click(new_round, None, [*(s.chat for s in view.slots), *view.round_outputs()], api_name="arena_new_round",
                         **UNLIMITED)  # fmt: skip
    outputs = view.leaderboard_outputs()
    demo.load(lambda: _leaderboard(leaderboard, export_dir), None, outputs, api_name="arena_leaderboard", **UNLIMITED)
    view.refresh.click(lambda: _leaderboard(leaderboard, export_dir), None, outputs, api_visibility="private", **UNLIMITED)

    def free(request: gr.Request) -> None:
        arena.free(request.session_hash)

    demo.unload(free)


def _leaderboard(leaderboard: Leaderboard, export_dir: Path) -> list:
    frame = leaderboard.frame()
    if frame.empty:
        return [leaderboard_view(frame), None, gr.update(interactive=False), gr.update(interactive=False)]
    votes_file = leaderboard.write_votes_csv(export_dir / "arena-votes.csv")
    table_file = leaderboard.write_table_csv(export_dir / "arena-leaderboard.csv", frame)
    return [
        leaderboard_view(frame),
        quality_plot(frame),
        gr.update(value=str(votes_file), interactive=True),
        gr.update(value=str(table_file), interactive=True),
    ]
