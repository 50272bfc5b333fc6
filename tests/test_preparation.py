"""Panes prepared in the background: runs wait for their own pane, unmeasured, and Stop ends the wait."""

from __future__ import annotations

import threading
import time

from playground.preparation import Preparation
from playground.runner import FanOutRunner, PaneJob
from playground.store import RunStore
from playground.testing.loopback import OpenAIServer, Script
from tests.support import held_until, wait_until


def test_every_pane_is_prepared_then_the_callback_runs_once(make_pane, monkeypatch):
    pane = make_pane(name="a", backend="openai", model="m", base_url="http://127.0.0.1:9/v1")
    broken = make_pane(name="b", backend="openai", model="m", base_url="http://127.0.0.1:9/v1")
    monkeypatch.setattr(broken.backend, "prepare", lambda: 1 / 0)
    after: list[bool] = []
    preparation = Preparation([pane, broken], after=lambda: after.append(True))
    assert preparation.doing(pane) == "opening the client" and not preparation.is_ready("a")
    assert preparation.wait_all(30)  # starts it too
    # A pane whose preparation failed counts as ready: its run reports why.
    assert preparation.is_ready("a") and preparation.is_ready("b") and preparation.doing(broken) == ""
    assert after == [True]
    assert preparation.is_ready("a name no configured pane has")


def test_a_run_waits_for_its_pane_outside_its_measured_time(make_pane):
    release, prepared = threading.Event(), []
    with OpenAIServer({"m": Script(gap_s=0.001)}) as server:
        pane = held_until(make_pane(name="slow", backend="openai", model="m", base_url=server.url + "/v1"), release, prepared)
        runner = FanOutRunner(None, preparation=Preparation([pane]).start())
        started = time.perf_counter()
        batch = runner.start([PaneJob(pane, pane.build_request("hi"))])
        (handle,) = batch.handles
        wait_until(lambda: handle.snapshot().notice, what="the waiting notice")
        assert handle.snapshot().notice.startswith("Preparing the panes (slow: opening the client)")
        time.sleep(0.3)
        release.set()
        (record,) = batch.wait(30)
        waited = time.perf_counter() - started
    assert record.status == "ok" and prepared == ["slow"]
    assert handle.snapshot().notice == ""
    # The 0.3 s spent waiting for the pane is not the run's: its clock started once the pane was ready.
    assert record.e2e_s < waited - 0.25, f"run measured {record.e2e_s:.3f} s of a {waited:.3f} s wait and run"


def test_stop_while_a_pane_is_prepared_logs_the_run_cancelled(make_pane, tmp_path):
    release, prepared = threading.Event(), []
    pane = held_until(make_pane(name="slow", backend="openai", model="m", base_url="http://127.0.0.1:9/v1"), release, prepared)
    with RunStore(tmp_path / "runs.sqlite") as store:
        runner = FanOutRunner(store, preparation=Preparation([pane]).start())
        batch = runner.start([PaneJob(pane, pane.build_request("hi"))])
        wait_until(lambda: batch.handles[0].snapshot().notice, what="the waiting notice")
        batch.cancel()
        (record,) = batch.wait(30)
        logged = store.rows()
        release.set()
    assert record.status == "cancelled"
    assert [row["status"] for row in logged] == ["cancelled"]


def test_panes_without_weights_are_prepared_first(make_pane, monkeypatch):
    order: list[str] = []
    panes = [make_pane(name=n, backend="openai", model="m", base_url="http://127.0.0.1:9/v1") for n in ("w", "x")]
    for pane in panes:
        monkeypatch.setattr(pane.backend, "prepare", lambda name=pane.name: order.append(name))
    monkeypatch.setattr(panes[0].backend, "loads_weights", True, raising=False)  # as a local model's pane
    Preparation(panes).run()
    assert order == ["x", "w"]


def test_a_ready_pane_waits_while_another_is_prepared_so_no_run_is_measured_during_a_load(make_pane):
    release, prepared = threading.Event(), []
    with OpenAIServer({"m": Script(gap_s=0.001)}) as server:
        quick = make_pane(name="quick", backend="openai", model="m", base_url=server.url + "/v1")
        slow = held_until(make_pane(name="slow", backend="openai", model="m", base_url=server.url + "/v1"), release, prepared)
        preparation = Preparation([quick, slow]).start()
        wait_until(lambda: preparation.is_ready("quick"), what="the quick pane prepared")
        batch = FanOutRunner(None, preparation=preparation).start([PaneJob(quick, quick.build_request("hi"))])
        (handle,) = batch.handles
        wait_until(lambda: handle.snapshot().notice, what="the waiting notice")
        assert "slow: opening the client" in handle.snapshot().notice
        assert handle.wait(0.3) is None  # still waiting: its own pane is ready, another is not
        release.set()
        (record,) = batch.wait(30)
    assert record.status == "ok"


def test_a_run_stopped_before_it_began_does_not_use_up_the_panes_warm_up(make_pane):
    release, prepared = threading.Event(), []
    with OpenAIServer({"m": Script(gap_s=0.001)}) as server:
        pane = held_until(make_pane(name="p", backend="openai", model="m", base_url=server.url + "/v1"), release, prepared)
        runner = FanOutRunner(None, preparation=Preparation([pane]).start())
        stopped = runner.start([PaneJob(pane, pane.build_request("hi"))])
        wait_until(lambda: stopped.handles[0].snapshot().notice, what="the waiting notice")
        stopped.cancel()
        (cancelled,) = stopped.wait(30)
        release.set()
        first, second = (runner.run([PaneJob(pane, pane.build_request("hi"))])[0] for _ in range(2))
    assert cancelled.status == "cancelled" and not cancelled.warmup
    assert (first.warmup, second.warmup) == (True, False)
