"""The page's Look closer tab: replay a logged batch, compare two sides with confidence, sweep a pane's load.

Everything runs through the controller's runner and run store (playground.replay, playground.stats,
playground.sweep); this module only lays out the tab and turns its inputs into those calls.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterator, Sequence
from typing import Any

import gradio as gr
import pandas as pd

from playground.backends.base import MODES
from playground.errors import PlaygroundError
from playground.replay import REPLAY_COLUMNS, recent_batches, replay, replay_view
from playground.stats import COMPARED_METRICS, PAIRED_COLUMNS, Side, compare_sides, comparisons_view
from playground.sweep import SWEEP_COLUMNS, Sweep, SweepPlan, parse_levels, sweep_plot, sweep_table
from playground.tables import counted, runs_frame
from playground.ui.controller import Controller, refusal

SCOPES = ("this session", "whole log")
PANE_DEFAULT_MODE = "pane's own"
SWEEP_PROMPT = "Write a short paragraph about the sea."
# Seconds a sweep's page event may wait for news from the sweep beyond the plan's own deadlines.
SWEEP_SLACK_S = 60.0


class LookCloser:
    """The tab's handlers over one controller; running sweeps are kept per page session so Stop finds them."""

    def __init__(self, controller: Controller) -> None:
        self.controller = controller
        self._lock = threading.Lock()
        self._sweeps: dict[str, Sweep] = {}

    @property
    def pane_names(self) -> list[str]:
        return [pane.name for pane in self.controller.panes]

    def _store(self):
        return self.controller.results.store

    # ---- replay ---------------------------------------------------------------------------

    def batches(self) -> list[tuple[str, str]]:
        return recent_batches(self._store())

    def replay(self, batch_id: str | None, pane_names: Sequence[str] | None, repeat: float | None) -> pd.DataFrame:
        if not batch_id:
            raise refusal("Pick a batch to replay (the list shows the newest of the whole log).")
        try:
            pairs = replay(
                self._store(), self.controller.runner, self.controller.panes, batch_id, list(pane_names or []), int(repeat or 1)
            )
        except PlaygroundError as exc:
            raise refusal(exc.message) from None
        return replay_view(pairs)

    # ---- paired comparison ----------------------------------------------------------------

    def _runs(self, scope: str, session_id: str) -> pd.DataFrame:
        return runs_frame(self._store().rows(session_id if scope == SCOPES[0] else None))

    def sides(self, scope: str, session_id: str) -> list[tuple[str, str]]:
        """(label, value) of every pane × mode with runs in the scope, and every pane in any mode."""
        runs = self._runs(scope, session_id)
        choices: list[tuple[str, str]] = []
        for pane in dict.fromkeys(runs["pane"]):
            choices.append((f"{pane} (any mode)", f"{pane}\t"))
            for mode in sorted(set(runs.loc[runs["pane"] == pane, "mode"])):
                choices.append((f"{pane} ({mode})", f"{pane}\t{mode}"))
        return choices

    def compare(self, scope: str, a: str | None, b: str | None, session_id: str) -> pd.DataFrame:
        if not a or not b:
            raise refusal("Pick two sides to compare (run some turns first, or look at the whole log).")
        if a == b:
            raise refusal("Pick two different sides: a pane against another, or one pane's stream against its non-stream.")
        runs = self._runs(scope, session_id)
        side_a, side_b = _side(a), _side(b)
        return comparisons_view([compare_sides(runs, side_a, side_b, metric) for metric in COMPARED_METRICS])

    # ---- load sweep -------------------------------------------------------------------------

    def sweep(
        self, pane_name: str | None, levels: str, requests: float | None, mode: str, deadline_s: float | None, prompt: str,
        session_id: str,
    ) -> Iterator[tuple[pd.DataFrame, Any, str]]:  # fmt: skip
        """Run a sweep, yielding its table, plot and a status line after each level."""
        sweep = self._start_sweep(pane_name, levels, requests, mode, deadline_s, prompt, session_id)
        news: queue.Queue = queue.Queue()
        records: list = []
        worker = threading.Thread(target=self._drive, args=(sweep, news), name="sweep", daemon=True)
        worker.start()
        wait_s = len(sweep.plan.levels) * sweep.plan.level_deadline_s + SWEEP_SLACK_S
        try:
            while True:
                try:
                    level, level_records = news.get(timeout=wait_s)
                except queue.Empty:
                    sweep.stop()
                    yield self._sweep_view(records, "The sweep stopped: no news within its deadlines.")
                    return
                if level is None:
                    break
                records += level_records
                yield self._sweep_view(records, f"Concurrency {level}: {counted(len(level_records), 'run')} logged.")
            yield self._sweep_view(records, _sweep_ending(sweep.stopped, len(records)))
        finally:
            with self._lock:
                self._sweeps.pop(session_id, None)

    def _start_sweep(self, pane_name, levels, requests, mode, deadline_s, prompt, session_id) -> Sweep:
        panes = {pane.name: pane for pane in self.controller.panes}
        if pane_name not in panes:
            raise refusal("Pick a pane to sweep.")
        try:
            plan = SweepPlan(
                levels=parse_levels(levels or ""), requests=int(requests or 0), prompt=(prompt or "").strip() or SWEEP_PROMPT,
                mode=None if mode == PANE_DEFAULT_MODE else mode, level_deadline_s=float(deadline_s or 0),
            )  # fmt: skip
        except PlaygroundError as exc:
            raise refusal(exc.message) from None
        sweep = Sweep(panes[pane_name], self.controller.runner, plan)
        with self._lock:
            if session_id in self._sweeps:
                raise refusal("A sweep is already running on this page: wait for it or press Stop sweep.")
            self._sweeps[session_id] = sweep
        return sweep

    @staticmethod
    def _drive(sweep: Sweep, news: queue.Queue) -> None:
        try:
            sweep.run(lambda level, records: news.put((level, records)))
        finally:
            news.put((None, []))

    @staticmethod
    def _sweep_view(records: list, status: str) -> tuple[pd.DataFrame, Any, str]:
        table = sweep_table(runs_frame(r.as_row() for r in records))
        return table, sweep_plot(table), status

    def stop_sweep(self, session_id: str) -> None:
        with self._lock:
            sweep = self._sweeps.get(session_id)
        if sweep is not None:
            sweep.stop()


def _side(value: str) -> Side:
    pane, _, mode = value.partition("\t")
    return Side(pane, mode or None)


def build_look_closer_tab(demo: gr.Blocks, controller: Controller) -> None:
    """The tab's layout and events (registered in playground.ui.app.PAGE_TABS)."""
    look = LookCloser(controller)
    refresh = gr.Button("Refresh the lists of batches and sides", size="sm", elem_id="look-closer-refresh")
    _replay_section(demo, look, refresh)
    _paired_section(demo, look, refresh)
    _sweep_section(look)


def _replay_section(demo: gr.Blocks, look: LookCloser, refresh: gr.Button) -> None:
    # Choices are (label, value) pairs, set per page as it loads (gradio.app/docs/gradio/dropdown); the
    # handler checks the value itself, so a batch logged since is taken too (allow_custom_value).
    with gr.Accordion("Replay a logged batch", open=True):
        with gr.Row():
            batch = gr.Dropdown(
                label="Batch (newest first, whole log)", choices=[], scale=4, allow_custom_value=True, elem_id="replay-batch"
            )
            targets = gr.Dropdown(
                label="Send to panes (empty: the same panes)", choices=look.pane_names, multiselect=True, scale=2,
                elem_id="replay-panes",
            )  # fmt: skip
            repeat = gr.Number(label="Repeat", value=1, minimum=1, maximum=20, precision=0, scale=1, elem_id="replay-repeat")
        run_replay = gr.Button("Replay", variant="primary", elem_id="replay")
        table = gr.Dataframe(
            pd.DataFrame(columns=REPLAY_COLUMNS), label="Old beside new", interactive=False, elem_id="replay-table"
        )

    def batch_choices():
        choices = look.batches()
        return gr.update(choices=choices, value=choices[0][1] if choices else None)

    def do_replay(batch_id, names, times):
        return look.replay(batch_id, names, times), gr.update(choices=look.batches())

    demo.load(batch_choices, None, batch, api_name="replay_batches", concurrency_limit=None)
    refresh.click(batch_choices, None, batch, api_visibility="private", concurrency_limit=None)
    run_replay.click(do_replay, [batch, targets, repeat], [table, batch], api_name="replay", concurrency_limit=None)


def _paired_section(demo: gr.Blocks, look: LookCloser, refresh: gr.Button) -> None:
    with gr.Accordion("Paired comparison (95 % bootstrap interval of the median difference)", open=True):
        with gr.Row():
            scope = gr.Radio(list(SCOPES), value=SCOPES[0], label="Runs of", elem_id="paired-scope")
            side_a = gr.Dropdown(label="A", choices=[], allow_custom_value=True, elem_id="paired-a")
            side_b = gr.Dropdown(label="B", choices=[], allow_custom_value=True, elem_id="paired-b")
            run_paired = gr.Button("Compare", variant="primary", elem_id="paired")
        table = gr.Dataframe(
            pd.DataFrame(columns=PAIRED_COLUMNS), label="A − B per metric", interactive=False, elem_id="paired-table"
        )

    def side_choices(request: gr.Request, chosen_scope: str):
        choices = look.sides(chosen_scope, request.session_hash)
        first, second = (choices[1][1], choices[2][1]) if len(choices) > 2 else (None, None)
        return gr.update(choices=choices, value=first), gr.update(choices=choices, value=second)

    def do_compare(request: gr.Request, chosen_scope, a, b):
        return look.compare(chosen_scope, a, b, request.session_hash)

    unlimited = {"concurrency_limit": None}
    demo.load(side_choices, scope, [side_a, side_b], api_name="paired_sides", **unlimited)
    scope.change(side_choices, scope, [side_a, side_b], api_visibility="private", **unlimited)
    refresh.click(side_choices, scope, [side_a, side_b], api_visibility="private", **unlimited)
    run_paired.click(do_compare, [scope, side_a, side_b], table, api_name="paired", **unlimited)


def _sweep_section(look: LookCloser) -> None:
    with gr.Accordion("Load sweep", open=False):
        with gr.Row():
            pane = gr.Dropdown(label="Pane", choices=look.pane_names, elem_id="sweep-pane")
            levels = gr.Textbox(label="Concurrency levels", value="1,2,4,8", elem_id="sweep-levels")
            requests = gr.Number(label="Requests per level", value=16, minimum=1, precision=0, elem_id="sweep-requests")
            mode = gr.Dropdown(label="Mode", choices=[PANE_DEFAULT_MODE, *MODES], value=PANE_DEFAULT_MODE, elem_id="sweep-mode")
            deadline = gr.Number(label="Seconds per level (then cancelled)", value=120, minimum=1, elem_id="sweep-deadline")
        prompt = gr.Textbox(label="Prompt", value=SWEEP_PROMPT, elem_id="sweep-prompt")
        with gr.Row():
            run_sweep = gr.Button("Run sweep", variant="primary", elem_id="sweep")
            stop_sweep = gr.Button("Stop sweep", variant="stop", elem_id="sweep-stop")
        status = gr.Markdown("", elem_id="sweep-status")
        table = gr.Dataframe(
            pd.DataFrame(columns=SWEEP_COLUMNS), label="Per concurrency level", interactive=False, elem_id="sweep-table"
        )
        figure = gr.Plot(label="Latency and throughput against concurrency", elem_id="sweep-plot")

    def do_sweep(request: gr.Request, *values):
        yield from look.sweep(*values, session_id=request.session_hash)

    def do_stop(request: gr.Request) -> None:
        look.stop_sweep(request.session_hash)

    # One sweep at a time, whoever starts it: two sweeps would load each other's servers.
    run_sweep.click(
        do_sweep, [pane, levels, requests, mode, deadline, prompt], [table, figure, status], api_name="sweep", concurrency_limit=1
    )
    stop_sweep.click(do_stop, None, None, api_name="sweep_stop", concurrency_limit=None)


def _sweep_ending(stopped: bool, logged: int) -> str:
    if not stopped:
        done = "Sweep finished."
    elif logged:
        done = "Stopped: runs in flight were logged as cancelled."
    else:
        done = "Stopped before any request was sent."
    return f"{done} {counted(logged, 'run')} logged (load_level column)."
