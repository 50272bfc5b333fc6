"""The run log: durable rows, documented columns, versioned schema; the same suite on SQLite and PostgreSQL."""

import re
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from playground.errors import InputError
from playground.metrics import MeteredRun, RunLabels
from playground.records import COLUMNS, VoteRecord
from playground.store import SCHEMA_VERSION, RunStore, StoreError, parse_store_location
from playground.store.migrations import stored_version, upgrade
from playground.store.run_store import create_store_engine
from playground.testing.loopback import free_port
from tests.fakes import record_with
from tests.legacy_logs import sqlite_log_at

DOCUMENTED_COLUMNS = (
    "run_id batch_id session_id turn pane backend model mode repeat warmup load_level started_at ended_at status error_type "
    "error_message http_status partial ttft_s ttfc_s e2e_s tpot_s itl_p50_s itl_p95_s decode_tps e2e_tps "
    "input_tokens output_tokens reasoning_tokens token_source token_note content_chunks stalls server_load_s "
    "server_prompt_eval_s server_eval_s server_total_s server_queue_s server_ttft_s queue_s retries retry_wait_s cold_start "
    "cost_usd "
    "finish_reason prompt_hash params_json ignored_params prompt response_text reasoning_text"
).split()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.server)])
def location(request: pytest.FixtureRequest, tmp_path: Path) -> str | Path:
    """Where the log lives: an SQLite file, or a new database on the session's real PostgreSQL."""
    if request.param == "sqlite":
        return tmp_path / "runs.sqlite"
    return request.getfixturevalue("postgres_url")


def _engine(location: str | Path) -> Engine:
    return create_store_engine(parse_store_location(location))


def _version(location: str | Path) -> int:
    engine = _engine(location)
    with engine.connect() as connection:
        version = stored_version(connection)
    engine.dispose()
    return version


def _old_log(location: str | Path, version: int) -> None:
    """A log left at `version`: on SQLite the file exactly as that release wrote it."""
    if isinstance(location, Path):
        with sqlite3.connect(location) as connection:
            connection.executescript(sqlite_log_at(version))
        connection.close()
        return
    engine = _engine(location)
    upgrade(engine, target=version)
    engine.dispose()


def _sql(location: str | Path, statement: str) -> None:
    engine = _engine(location)
    with engine.begin() as connection:
        connection.execute(text(statement))
    engine.dispose()


def test_columns_are_the_documented_ones_in_order():
    assert list(COLUMNS) == DOCUMENTED_COLUMNS


def test_rows_survive_a_process_restart(location):
    writer = (
        "import sys; from playground.store import RunStore; from tests.fakes import record_with;"
        "store = RunStore(sys.argv[1]); [store.add(record_with(run_id=f'r{i}', prompt='明月几时有')) for i in range(3)]"
    )
    subprocess.run([sys.executable, "-c", writer, str(location)], check=True)
    store = RunStore(location)
    rows = store.rows()
    assert [r["run_id"] for r in rows] == ["r0", "r1", "r2"]
    assert rows[0]["prompt"] == "明月几时有" and rows[0]["warmup"] is False and rows[0]["partial"] is False
    assert (type(rows[0]["turn"]), type(rows[0]["ttft_s"])) == (int, float)


def test_an_sqlite_log_is_in_wal_mode_and_whole(tmp_path):
    path = tmp_path / "runs.sqlite"
    store = RunStore(path)
    store.add(record_with(run_id="a"), [0.1])
    assert store.path == path and store.location == str(path)
    with sqlite3.connect(path) as connection:
        assert connection.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    connection.close()
    engine = _engine(path)  # the store's own engine factory: every pooled connection is set up alike
    with engine.connect() as connection:
        settings = [connection.exec_driver_sql(f"PRAGMA {name}").scalar_one() for name in ("synchronous", "busy_timeout")]
    engine.dispose()
    assert settings == [1, 5000]  # synchronous=NORMAL: a committed row survives the process dying


def test_rows_filter_by_session(location):
    store = RunStore(location)
    store.add(record_with(run_id="a", session_id="s1"))
    store.add(record_with(run_id="b", session_id="s2"))
    assert [r["run_id"] for r in store.rows("s2")] == ["b"]
    assert [r["run_id"] for r in store.rows()] == ["a", "b"]
    assert store.count() == 2


def test_rows_come_in_start_order_then_in_the_order_written(location):
    store = RunStore(location)
    late, early = "2026-01-01T00:00:02.000000+00:00", "2026-01-01T00:00:01.000000+00:00"
    for run_id in ("z", "m", "a"):
        store.add(record_with(run_id=run_id, started_at=late))
    store.add(record_with(run_id="first", started_at=early))
    assert [r["run_id"] for r in store.rows()] == ["first", "z", "m", "a"]


def test_metered_records_go_straight_into_the_store(location, make_pane):
    from playground.testing.loopback import OpenAIServer, Script

    store = RunStore(location)
    with OpenAIServer({"m": Script()}) as server:
        pane = make_pane(name="p", backend="openai", model="m", base_url=server.url + "/v1")
        store.add(MeteredRun(pane.backend, pane.build_request("hi"), RunLabels("b", "s", "p")).run())
    (row,) = store.rows()
    assert row["status"] == "ok" and row["output_tokens"] == 20


def test_a_log_from_the_first_schema_gains_the_new_columns_and_keeps_its_rows(location):
    _old_log(location, 1)
    _sql(location, "INSERT INTO runs (run_id, batch_id, session_id, status, prompt) VALUES ('old', 'b', 's', 'ok', 'hi')")
    store = RunStore(location)
    store.add(record_with(run_id="new", http_status=429, server_queue_s=0.5))
    rows = {row["run_id"]: row for row in store.rows()}
    assert rows["old"]["prompt"] == "hi" and rows["old"]["http_status"] is None and rows["old"]["warmup"] is False
    assert (rows["new"]["http_status"], rows["new"]["server_queue_s"]) == (429, 0.5)


def test_processes_opening_an_old_log_at_once_migrate_it_once(location):
    _old_log(location, 1)
    errors: list[BaseException] = []

    def open_store() -> None:
        try:
            RunStore(location).close()
        except BaseException as exc:  # noqa: BLE001 - collected for the assertion
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert errors == []
    assert _version(location) == SCHEMA_VERSION


@pytest.mark.slow  # four interpreter starts
def test_processes_opening_a_new_log_at_once_create_it_once(location):
    opener = "import sys; from playground.store import RunStore; RunStore(sys.argv[1]).close()"
    command = [sys.executable, "-c", opener, str(location)]
    openers = [subprocess.Popen(command, stderr=subprocess.PIPE, text=True) for _ in range(4)]
    failures = [process.communicate(timeout=120)[1] for process in openers if process.wait(timeout=120) != 0]
    assert failures == []
    assert _version(location) == SCHEMA_VERSION
    store = RunStore(location)
    store.add(record_with(run_id="a"), [0.1])
    assert store.count() == 1 and store.timelines(["a"]) == {"a": [0.1]}


def test_an_old_log_is_migrated_to_the_current_schema(location):
    _old_log(location, 1)
    store = RunStore(location)
    store.add(record_with(run_id="new", stalls=2, load_level=4), [0.1])
    row = store.rows()[0]
    assert row["stalls"] == 2 and row["load_level"] == 4
    assert store.timelines(["new"]) == {"new": [0.1]}
    assert _version(location) == SCHEMA_VERSION


def test_a_log_as_the_last_sqlite_release_wrote_it_opens_and_upgrades(tmp_path):
    path = tmp_path / "runs.sqlite"
    _old_log(path, 3)
    _sql(path, "INSERT INTO runs (run_id, status, warmup, partial, cold_start, turn) VALUES ('old', 'ok', 1, 0, 1, 2)")
    store = RunStore(path)
    store.add(record_with(run_id="new", warmup=True), [0.2])
    rows = {row["run_id"]: row for row in store.rows()}
    old = rows["old"]
    assert (old["warmup"], old["partial"], old["cold_start"], old["turn"]) == (True, False, True, 2)
    assert rows["new"]["warmup"] is True and store.timelines(["new"]) == {"new": [0.2]}
    assert _version(path) == SCHEMA_VERSION
    assert store.requests(["old", "new"]) == {}


def test_a_timeline_is_kept_with_its_run_and_survives_reopening(location):
    store = RunStore(location)
    store.add(record_with(run_id="a"), [0.1, 0.1205, 0.5])
    store.add(record_with(run_id="b"))
    store.close()
    reopened = RunStore(location)
    assert reopened.timelines(["a", "b", "missing"]) == {"a": [0.1, 0.1205, 0.5]}


def test_a_run_and_its_timeline_land_together_or_not_at_all(location):
    store = RunStore(location)
    store.add(record_with(run_id="a"), [0.1])
    store.add(record_with(run_id="b"), [0.2])
    with pytest.raises(IntegrityError):
        store.add(record_with(run_id="a"), [0.3])  # duplicate run id: the whole write fails
    assert [r["run_id"] for r in store.rows()] == ["a", "b"]
    assert store.timelines(["a", "b"]) == {"a": [0.1], "b": [0.2]}


def test_one_vote_per_round(location):
    store = RunStore(location)
    store.add_vote(VoteRecord("v1", "batch1", "s", "r1,r2", "a,b", "a", "2026-11-23T10:00:00+00:00"))
    with pytest.raises(InputError, match="already has a vote"):
        store.add_vote(VoteRecord("v2", "batch1", "s", "r1,r2", "a,b", "tie", "2026-11-23T10:01:00+00:00"))
    store.add_vote(VoteRecord("v3", "batch2", "s", "r3,r4", "a,b", "b", "2026-11-23T10:00:00+00:00"))
    assert [(v["vote_id"], v["winner"]) for v in store.votes()] == [("v1", "a"), ("v3", "b")]


def test_text_with_a_nul_character_is_kept(location):
    store = RunStore(location)
    store.add(record_with(run_id="a", response_text="before\x00after"))
    kept = store.rows()[0]["response_text"]
    # SQLite keeps it as it is; PostgreSQL text cannot hold NUL, so it becomes U+FFFD rather than losing the run.
    assert kept in ("before\x00after", "before\ufffdafter")
    assert kept == "before\x00after" or not isinstance(location, Path)


def test_a_log_to_read_must_exist_and_closing_a_log_removes_its_wal_file(tmp_path):
    path = tmp_path / "runs.sqlite"
    with pytest.raises(StoreError, match=re.escape(f"no run log at {path}: name one with --store FILE.")):
        RunStore.existing(path)
    assert not path.exists()
    with RunStore(path) as store:
        store.add(record_with(run_id="a"))
        assert Path(f"{path}-wal").exists()
    assert not Path(f"{path}-wal").exists() and not Path(f"{path}-shm").exists()
    with RunStore.existing(path) as store:
        assert store.count() == 1


def test_an_unreachable_server_is_a_clear_error_without_the_password():
    url = f"postgresql+psycopg://ada:s3cret-pw@127.0.0.1:{free_port()}/runs"
    with pytest.raises(StoreError) as raised:
        RunStore(url)
    message = str(raised.value)
    assert message.startswith(f"Cannot open the run log postgresql+psycopg://ada:***@127.0.0.1:{url.split(':')[3]}")
    assert "s3cret-pw" not in message and "Traceback" not in message and "[SQL" not in message


def test_a_file_that_is_not_a_run_log_is_a_clear_error(tmp_path):
    path = tmp_path / "notes.sqlite"
    path.write_text("not a database, just notes\n" * 100)
    with pytest.raises(StoreError, match=re.escape(f"Cannot open the run log {path}: file is not a database")):
        RunStore(path)
    assert path.read_text().startswith("not a database")


def test_a_runs_request_is_kept_with_it_and_read_back(location):
    from playground.backends.base import ChatRequest, GenerationParams, Message

    store = RunStore(location)
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
