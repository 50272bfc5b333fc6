"""The run log: durable rows, documented columns, safe CSV."""

import sqlite3
import subprocess
import sys

from playground.metrics import MeteredRun, RunLabels
from playground.records import COLUMNS
from playground.store import RunStore
from tests.fakes import record_with

DOCUMENTED_COLUMNS = (
    "run_id batch_id session_id turn pane backend model mode repeat warmup load_level started_at ended_at status error_type "
    "error_message http_status partial ttft_s ttfc_s e2e_s tpot_s itl_p50_s itl_p95_s decode_tps e2e_tps "
    "input_tokens output_tokens reasoning_tokens token_source token_note content_chunks stalls server_load_s "
    "server_prompt_eval_s server_eval_s server_total_s server_queue_s server_ttft_s queue_s retries retry_wait_s cold_start "
    "cost_usd "
    "finish_reason prompt_hash params_json ignored_params prompt response_text reasoning_text"
).split()


def test_columns_are_the_documented_ones_in_order():
    assert list(COLUMNS) == DOCUMENTED_COLUMNS


def test_rows_survive_a_process_restart(tmp_path):
    path = tmp_path / "runs.sqlite"
    writer = (
        "import sys; from playground.store import RunStore; from tests.fakes import record_with;"
        "store = RunStore(sys.argv[1]); [store.add(record_with(run_id=f'r{i}', prompt='明月几时有')) for i in range(3)]"
    )
    subprocess.run([sys.executable, "-c", writer, str(path)], check=True)
    store = RunStore(path)
    rows = store.rows()
    assert [r["run_id"] for r in rows] == ["r0", "r1", "r2"]
    assert rows[0]["prompt"] == "明月几时有" and rows[0]["warmup"] is False
    assert store.path.exists()
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_rows_filter_by_session(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record_with(run_id="a", session_id="s1"))
    store.add(record_with(run_id="b", session_id="s2"))
    assert [r["run_id"] for r in store.rows("s2")] == ["b"]
    assert store.count() == 2


def test_metered_records_go_straight_into_the_store(tmp_path, make_pane):
    from playground.testing.loopback import OpenAIServer, Script

    store = RunStore(tmp_path / "runs.sqlite")
    with OpenAIServer({"m": Script()}) as server:
        pane = make_pane(name="p", backend="openai", model="m", base_url=server.url + "/v1")
        store.add(MeteredRun(pane.backend, pane.build_request("hi"), RunLabels("b", "s", "p")).run())
    (row,) = store.rows()
    assert row["status"] == "ok" and row["output_tokens"] == 20


def test_a_log_from_the_first_schema_gains_the_new_columns_and_keeps_its_rows(tmp_path):
    from playground.store import MIGRATIONS

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(f"BEGIN;\n{MIGRATIONS[0]}\nPRAGMA user_version=1;\nCOMMIT;")
    old.execute("INSERT INTO runs (run_id, batch_id, session_id, status, prompt) VALUES ('old', 'b', 's', 'ok', 'hi')")
    old.commit()
    old.close()
    store = RunStore(path)
    store.add(record_with(run_id="new", http_status=429, server_queue_s=0.5))
    rows = {row["run_id"]: row for row in store.rows()}
    assert rows["old"]["prompt"] == "hi" and rows["old"]["http_status"] is None
    assert (rows["new"]["http_status"], rows["new"]["server_queue_s"]) == (429, 0.5)


def test_processes_opening_an_old_log_at_once_migrate_it_once(tmp_path):
    import threading

    from playground.store import MIGRATIONS

    path = tmp_path / "old.sqlite"
    old = sqlite3.connect(path)
    old.executescript(f"BEGIN;\n{MIGRATIONS[0]}\nPRAGMA user_version=1;\nCOMMIT;")
    old.close()
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            RunStore(path).close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert sqlite3.connect(path).execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_timeline_is_kept_with_its_run_and_survives_reopening(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    store.add(record_with(run_id="a"), [0.1, 0.1205, 0.5])
    store.add(record_with(run_id="b"))
    store.close()
    reopened = RunStore(path)
    assert reopened.timelines(["a", "b", "missing"]) == {"a": [0.1, 0.1205, 0.5]}


def test_a_run_and_its_timeline_land_together_or_not_at_all(tmp_path):
    store = RunStore(tmp_path / "runs.sqlite")
    store.add(record_with(run_id="a"), [0.1])
    try:
        store.add(record_with(run_id="b"), [0.2])
        store.add(record_with(run_id="a"), [0.3])  # duplicate run id: the whole write fails
    except sqlite3.IntegrityError:
        pass
    assert [r["run_id"] for r in store.rows()] == ["a", "b"]
    assert store.timelines(["a", "b"]) == {"a": [0.1], "b": [0.2]}


def test_one_vote_per_round(tmp_path):
    import pytest

    from playground.errors import InputError
    from playground.records import VoteRecord

    store = RunStore(tmp_path / "runs.sqlite")
    vote = VoteRecord("v1", "batch1", "s", "r1,r2", "a,b", "a", "2026-11-23T10:00:00+00:00")
    store.add_vote(vote)
    with pytest.raises(InputError, match="already has a vote"):
        store.add_vote(VoteRecord("v2", "batch1", "s", "r1,r2", "a,b", "tie", "2026-11-23T10:01:00+00:00"))
    assert [v["winner"] for v in store.votes()] == ["a"]


def test_an_old_log_is_migrated_to_the_current_schema(tmp_path):
    from playground.store import MIGRATIONS

    path = tmp_path / "runs.sqlite"
    with sqlite3.connect(path) as connection:
        connection.executescript(MIGRATIONS[0] + "PRAGMA user_version=1;")
    store = RunStore(path)
    store.add(record_with(run_id="new", stalls=2, load_level=4), [0.1])
    row = store.rows()[0]
    assert row["stalls"] == 2 and row["load_level"] == 4
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)


def test_a_runs_request_is_kept_with_it_and_read_back(tmp_path):
    from playground.backends.base import ChatRequest, GenerationParams, Message

    store = RunStore(tmp_path / "runs.sqlite")
    request = ChatRequest(
        messages=(Message("system", "Be brief."), Message("user", "明月几时有"), Message("assistant", "把酒问青天"),
                  Message("user", "next")),
        params=GenerationParams(temperature=0.3, max_tokens=12, seed=4, thinking="off"),
    )  # fmt: skip
    store.add(record_with(run_id="with"), (), request)
    store.add(record_with(run_id="without"))
    found = store.requests(["with", "without"])
    assert list(found) == ["with"]
    assert found["with"] == (request.messages, request.params)
    with sqlite3.connect(store.path) as connection:
        assert connection.execute("PRAGMA user_version").fetchone()[0] == 4
