"""The fan-out runner: panes run concurrently, failures stay in their pane, Stop cancels."""

import threading
import time

from playground.runner import FanOutRunner, PaneJob
from playground.testing.loopback import OllamaServer, OpenAIServer, Script
from tests.support import wait_until


def _delayed(seconds: float) -> Script:
    return Script(first_token_delay_s=0.1, gap_s=(seconds - 0.1) / 19)


def test_panes_of_half_1_and_2_seconds_finish_together(make_pane):
    scripts = {"one": _delayed(0.5), "two": _delayed(1.0), "four": _delayed(2.0)}
    with OpenAIServer(scripts) as openai_server, OllamaServer(scripts) as ollama_server:
        panes = [
            make_pane(name="one", backend="openai", model="one", base_url=openai_server.url + "/v1"),
            make_pane(name="two", backend="ollama", model="two", host=ollama_server.url),
            make_pane(name="four", backend="openai", model="four", base_url=openai_server.url + "/v1"),
        ]
        runner = FanOutRunner(None)
        runner.prepare(panes)
        started = time.perf_counter()
        records = runner.run([PaneJob(p, p.build_request("hi")) for p in panes])
        wall = time.perf_counter() - started
    assert [r.status for r in records] == ["ok"] * 3
    assert [r.e2e_s for r in records] == sorted(r.e2e_s for r in records)
    # Bounded by what the panes took in this same run: nearer the slowest pane than the sum of all three.
    slowest, total = max(r.e2e_s for r in records), sum(r.e2e_s for r in records)
    assert wall < slowest + (total - slowest) / 2, f"fan-out took {wall:.2f} s; slowest pane {slowest:.2f} s, sum {total:.2f} s"
    assert len({r.batch_id for r in records}) == 1


def test_a_failing_pane_does_not_stop_the_others(make_pane):
    with OpenAIServer({"ok": Script(gap_s=0.01)}) as server:
        url = server.url + "/v1"
        panes = [
            make_pane(name="good", backend="openai", model="ok", base_url=url),
            make_pane(name="missing", backend="openai", model="absent", base_url=url),
            make_pane(name="down", backend="ollama", model="m", host="http://127.0.0.1:9"),
        ]
        records = {r.pane: r for r in FanOutRunner(None).run([PaneJob(p, p.build_request("hi")) for p in panes])}
    assert records["good"].status == "ok" and records["good"].output_tokens == 20
    assert records["missing"].error_type == "model_not_found"
    assert records["down"].error_type == "unreachable"


def test_cancel_stops_a_blocked_stream_at_once_and_logs_it(make_pane, tmp_path):
    from playground.store import RunStore

    store = RunStore(tmp_path / "runs.sqlite")
    with OpenAIServer({"slow": Script(first_token_delay_s=0.05, stall_after=2, stall_s=30)}) as server:
        pane = make_pane(name="slow", backend="openai", model="slow", base_url=server.url + "/v1")
        batch = FanOutRunner(store).start([PaneJob(pane, pane.build_request("hi"))])
        handle = batch.handles[0]
        wait_until(lambda: "tok1" in handle.snapshot().text, what="the second token")
        cancelled_at = time.perf_counter()
        batch.cancel()
        (record,) = batch.wait(timeout=10)
        latency = time.perf_counter() - cancelled_at
    assert record.status == "cancelled"
    assert record.partial and record.response_text == "tok0 tok1 "
    assert latency < 1.0
    assert store.rows()[0]["status"] == "cancelled"


def test_snapshots_are_throttled_and_end_with_the_complete_text(make_pane):
    with OpenAIServer({"fast": Script(tokens=tuple(f"w{i} " for i in range(400)), gap_s=0.0005)}) as server:
        pane = make_pane(name="fast", backend="openai", model="fast", base_url=server.url + "/v1")
        batch = FanOutRunner(None).start([PaneJob(pane, pane.build_request("hi"))])
        snapshots = list(batch.handles[0].snapshots(min_interval_s=0.05))
    final = snapshots[-1]
    assert final.done and final.text == "".join(f"w{i} " for i in range(400))
    assert len(snapshots) < 400 / 4


def test_a_pane_waiting_to_retry_says_so_in_its_live_snapshot(make_pane):
    script = Script(status=429, status_times=1, headers={"retry-after": "0.3"})
    with OpenAIServer({"m": script}) as server:
        pane = make_pane(name="p", backend="openai", model="m", base_url=server.url + "/v1")
        batch = FanOutRunner(None).start([PaneJob(pane, pane.build_request("hi"))])
        snapshots = list(batch.handles[0].snapshots(min_interval_s=0.01))
    notices = [s.notice for s in snapshots if s.notice]
    assert notices and "429 from" in notices[0] and "Retrying in 0.3 s" in notices[0]
    assert snapshots[-1].record.status == "ok" and snapshots[-1].notice == ""


def test_stop_pressed_while_a_finished_run_counts_its_tokens_keeps_the_run_ok():
    import threading

    from playground.backends.base import Backend, Finish, RequestSent, TextDelta
    from playground.config import PaneConfig
    from playground.panes import Pane

    counting = threading.Event()

    class SlowCounter(Backend):
        kind = "slow-counter"

        def stream(self, request):
            yield RequestSent({})
            yield TextDelta("the whole answer")
            yield Finish("stop")

        def count_tokens(self, text):
            counting.set()
            time.sleep(1.5)  # a server's tokenize endpoint answering slowly
            return 3, "counted slowly"

    pane = Pane(PaneConfig(name="p", backend="openai", model="m"), SlowCounter("m", None))
    batch = FanOutRunner(None).start([PaneJob(pane, pane.build_request("hi"))])
    assert counting.wait(timeout=30)
    batch.cancel(grace_s=0.1)
    (record,) = batch.wait(timeout=30)
    assert (record.status, record.response_text, record.output_tokens) == ("ok", "the whole answer", 3)


class _SlowLog:
    """A run log whose writes wait until the test lets them through."""

    def __init__(self) -> None:
        self.release = threading.Event()
        self.rows = []

    def add(self, record, chunk_offsets_s=(), request=None) -> None:
        assert self.release.wait(30), "the test never released the write"
        self.rows.append(record)


def test_the_final_text_is_shown_before_the_run_log_write_ends_and_wait_returns_only_once_written(make_pane):
    log = _SlowLog()
    with OpenAIServer({"quick": Script(tokens=("a ", "b"))}) as server:
        pane = make_pane(name="quick", backend="openai", model="quick", base_url=server.url + "/v1")
        batch = FanOutRunner(log).start([PaneJob(pane, pane.build_request("hi"))])
        handle = batch.handles[0]
        final = [snapshot for snapshot in handle.snapshots(0)][-1]
        assert final.done and final.text == "a b" and final.record.status == "ok"
        assert handle.wait(timeout=0.2) is None and log.rows == []
        log.release.set()
        assert handle.wait(timeout=30) is final.record and log.rows == [final.record]
