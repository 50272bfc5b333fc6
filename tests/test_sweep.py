"""Load sweep: queueing shows where a server runs out of slots; deadlines and Stop end levels cleanly."""

import threading
import time

import pytest

from playground.errors import InputError
from playground.preparation import Preparation
from playground.runner import FanOutRunner
from playground.store import RunStore
from playground.sweep import Sweep, SweepPlan, failed_for_good, parse_levels, sweep_plot, sweep_table
from playground.tables import runs_frame
from playground.testing.loopback import OpenAIServer, Script, free_port
from tests.fakes import record_with
from tests.support import held_until, wait_until

SLOTS = 2
# One request holds a slot for about 50 ms + 9 × 5 ms.
SERVICE = Script(tokens=tuple(f"t{i} " for i in range(10)), first_token_delay_s=0.05, gap_s=0.005)


@pytest.mark.slow  # four levels of real requests, about 3 s
def test_ttft_rises_past_the_servers_slots_as_queueing_predicts(make_pane, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with OpenAIServer({"m": SERVICE}, max_concurrent=SLOTS) as server:
        pane = make_pane(name="p", backend="openai", model="m", base_url=server.url + "/v1")
        plan = SweepPlan(levels=(1, 2, 4, 8), requests=8, prompt="hi", mode="stream")
        records = Sweep(pane, FanOutRunner(store), plan).run()
    assert len(records) == 32 and {r.status for r in records} == {"ok"}
    table = sweep_table(runs_frame(store.rows())).set_index("concurrency")
    ttft = table["ttft_p50_s"]
    # Up to the server's slots nothing waits; past them a burst of c requests waits for c/k − 1
    # earlier ones per slot, so the median TTFT grows several-fold (about 4× at c = 8 here).
    assert ttft[2] < 1.5 * ttft[1]
    assert ttft[4] > 1.5 * ttft[2]
    assert ttft[8] > 2.5 * ttft[2] and ttft[8] > ttft[4]
    assert (table["requests"] == 8).all() and (table["error_rate"] == 0).all()
    # More in flight than slots adds no throughput: at most a little above the level of k.
    assert table.at[8, "output_tok_per_s"] < 1.5 * table.at[2, "output_tok_per_s"]
    assert sorted({r["load_level"] for r in store.rows()}) == [1, 2, 4, 8]
    assert sweep_plot(table.reset_index()) is not None


@pytest.mark.slow  # waits out a deadline and the cancel grace
def test_a_level_past_its_deadline_cancels_its_runs_in_flight_and_logs_them(make_pane, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with OpenAIServer({"m": Script(first_token_delay_s=0.01, stall_after=1, stall_s=30)}) as server:
        pane = make_pane(name="p", backend="openai", model="m", base_url=server.url + "/v1")
        plan = SweepPlan(levels=(3,), requests=10, prompt="hi", level_deadline_s=0.5)
        records = Sweep(pane, FanOutRunner(store), plan).run()
        sent = len(server.requests)
    assert sent == 3 and len(records) == 3
    rows = store.rows()
    assert [r["status"] for r in rows] == ["cancelled"] * 3 and {r["load_level"] for r in rows} == {3}
    table = sweep_table(runs_frame(rows))
    assert table.iloc[0]["cancelled"] == 3 and table.iloc[0]["ok"] == 0


def test_stop_ends_the_sweep_sends_nothing_more_and_logs_runs_in_flight_as_cancelled(make_pane, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    with OpenAIServer({"m": Script(first_token_delay_s=0.01, stall_after=1, stall_s=30)}) as server:
        pane = make_pane(name="p", backend="openai", model="m", base_url=server.url + "/v1")
        sweep = Sweep(pane, FanOutRunner(store), SweepPlan(levels=(2, 4), requests=50, prompt="hi"))
        finished = []
        thread = threading.Thread(target=lambda: finished.append(sweep.run()), daemon=True)
        thread.start()
        wait_until(lambda: len(server.requests) == 2, what="two requests in flight")
        sweep.stop()
        thread.join(10)
        assert not thread.is_alive()
        sent = len(server.requests)
    assert sent == 2 and len(finished[0]) == 2
    assert [r["status"] for r in store.rows()] == ["cancelled", "cancelled"]


def test_ctrl_c_while_a_level_starts_still_stops_and_logs_the_runs_it_sent(make_pane, tmp_path, monkeypatch):
    store = RunStore(tmp_path / "runs.sqlite")
    start = threading.Thread.start

    def start_then_interrupted(thread: threading.Thread) -> None:
        start(thread)
        if thread.name == "sweep-2-1":
            # As if Ctrl-C came while the level's last worker was starting, its request already sent.
            wait_until(lambda: len(server.requests) == 2, what="two requests in flight")
            raise KeyboardInterrupt

    with OpenAIServer({"m": Script(first_token_delay_s=0.01, stall_after=1, stall_s=30)}) as server:
        pane = make_pane(name="p", backend="openai", model="m", base_url=server.url + "/v1")
        sweep = Sweep(pane, FanOutRunner(store), SweepPlan(levels=(2,), requests=50, prompt="hi"))
        monkeypatch.setattr(threading.Thread, "start", start_then_interrupted)
        with pytest.raises(KeyboardInterrupt):
            sweep.run()
        monkeypatch.undo()
        sent = len(server.requests)
    assert sweep.stopped and sent == 2
    assert [r["status"] for r in store.rows()] == ["cancelled", "cancelled"]


def test_plans_and_levels_are_checked_with_clear_messages():
    assert parse_levels("1, 2,4,8") == (1, 2, 4, 8)
    with pytest.raises(InputError, match="whole numbers"):
        parse_levels("1,two")
    with pytest.raises(InputError, match="from 1 to"):
        SweepPlan(levels=(0, 2), requests=4, prompt="hi")
    with pytest.raises(InputError, match="requests per level"):
        SweepPlan(levels=(1,), requests=0, prompt="hi")


def test_a_level_whose_first_wave_cannot_connect_sends_no_more(make_pane, tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    pane = make_pane(name="p", backend="openai", model="m", base_url=f"http://127.0.0.1:{free_port()}/v1", max_retries=0)
    plan = SweepPlan(levels=(2,), requests=12, prompt="hi")
    records = Sweep(pane, FanOutRunner(store), plan).run()
    # One worker may have started a second run before the other's failure was in.
    assert 2 <= len(records) <= 3 and {r.error_type for r in records} == {"unreachable"}


def test_a_level_has_failed_for_good_only_when_every_run_failed_in_a_way_more_requests_cannot_fix():
    unreachable = record_with(status="error", error_type="unreachable")
    assert failed_for_good([unreachable, record_with(status="error", error_type="missing_key")])
    assert not failed_for_good([unreachable, record_with()])  # one run answered
    assert not failed_for_good([unreachable, record_with(status="error", error_type="rate_limit")])  # load may be the cause
    assert not failed_for_good([record_with(status="cancelled", error_message="stopped by the user")])
    assert not failed_for_good([])


def _level(level: int, status: str) -> list:
    failed = {"error_type": "timeout", "ttft_s": None, "e2e_s": None} if status == "error" else {}
    return [record_with(run_id=f"{level}-{i}", load_level=level, status=status, **failed) for i in range(3)]


def test_the_plot_spans_every_level_swept_and_is_not_drawn_without_a_successful_run():
    table = sweep_table(runs_frame(r.as_row() for r in _level(1, "ok") + _level(2, "ok") + _level(16, "error")))
    figure = sweep_plot(table)
    assert all(axes.get_xlim()[1] >= 16 for axes in figure.axes)  # the level where every run failed is on the axis
    assert sweep_plot(sweep_table(runs_frame(r.as_row() for r in _level(1, "error") + _level(2, "error")))) is None


def test_a_sweep_stopped_while_the_page_prepares_its_panes_ends_without_runs(make_pane, tmp_path):
    release, prepared = threading.Event(), []
    pane = held_until(make_pane(name="slow", backend="openai", model="m", base_url="http://127.0.0.1:9/v1"), release, prepared)
    with RunStore(tmp_path / "runs.sqlite") as store:
        runner = FanOutRunner(store, preparation=Preparation([pane]).start())
        sweep = Sweep(pane, runner, SweepPlan(levels=(1, 2), requests=2, prompt="hi", level_deadline_s=30))
        outcome: list = []
        worker = threading.Thread(target=lambda: outcome.append(sweep.run()), daemon=True)
        worker.start()
        time.sleep(0.2)
        assert worker.is_alive(), "the sweep should wait for the pane being prepared"
        sweep.stop()
        worker.join(10)
        stopped_while_preparing = not worker.is_alive() and not prepared
        release.set()
        logged = store.rows()
    assert stopped_while_preparing, "Stop did not end the wait for the panes"
    assert outcome == [[]] and logged == []
