"""The run log: an SQLite file (stdlib), WAL mode, one row per finished run.

Rows are written in their own committed transaction as each run ends, so a crash loses
nothing that had already ended. Safe to share between threads. Beside the runs: each run's
token timeline (`run_timelines`, chunk arrival offsets in ms as a JSON array, keyed by run id),
the arena's votes (`votes`, one per round) and each run's request (`run_requests`: the messages
and generation parameters it was given, so a batch can be replayed exactly).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from playground.backends.base import ChatRequest, GenerationParams, Message
from playground.errors import InputError
from playground.records import BOOL_COLUMNS, COLUMNS, SCHEMA, VOTE_COLUMNS, RunRecord, VoteRecord

APP_NAME = "llm-playground"


def default_store_path() -> Path:
    from platformdirs import user_data_dir

    return Path(user_data_dir(APP_NAME, appauthor=False)) / "runs.sqlite"


# Columns added after the first schema, with the schema version that added each.
_ADDED_COLUMNS: dict[str, int] = {
    "http_status": 2,
    "server_queue_s": 2,
    "server_ttft_s": 2,
    "retries": 2,
    "retry_wait_s": 2,
    "load_level": 3,
    "stalls": 3,
}
_TYPES = {name: column.sql_type for name, column in SCHEMA.items()}


def _migration_v1() -> str:
    columns = ",\n  ".join(
        f"{name} {sql_type}" + (" PRIMARY KEY" if name == "run_id" else "")
        for name, sql_type in _TYPES.items()
        if name not in _ADDED_COLUMNS
    )
    return (
        f"CREATE TABLE runs (\n  {columns}\n);\n"
        "CREATE INDEX runs_session ON runs(session_id);\n"
        "CREATE INDEX runs_batch ON runs(batch_id);\n"
    )


def _columns_added_in(version: int) -> str:
    return "".join(f"ALTER TABLE runs ADD COLUMN {name} {_TYPES[name]};\n" for name, v in _ADDED_COLUMNS.items() if v == version)


_TIMELINES_AND_VOTES = """CREATE TABLE run_timelines (
  run_id TEXT PRIMARY KEY,
  offsets_ms TEXT NOT NULL
);
CREATE TABLE votes (
  vote_id TEXT PRIMARY KEY,
  batch_id TEXT NOT NULL UNIQUE,
  session_id TEXT NOT NULL,
  run_ids TEXT NOT NULL,
  panes TEXT NOT NULL,
  winner TEXT NOT NULL,
  voted_at TEXT NOT NULL
);
"""

_REQUESTS = """CREATE TABLE run_requests (
  run_id TEXT PRIMARY KEY,
  messages_json TEXT NOT NULL,
  params_json TEXT NOT NULL
);
"""

# Each entry upgrades the schema by one version; never edit a shipped one, append instead.
MIGRATIONS: tuple[str, ...] = (
    _migration_v1(),
    _columns_added_in(2),
    _columns_added_in(3) + _TIMELINES_AND_VOTES,
    _REQUESTS,
)


class RunStore:
    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._connection = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self._connection.execute("PRAGMA journal_mode=WAL")
        self._connection.execute("PRAGMA synchronous=NORMAL")
        self._connection.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    def _migrate(self) -> None:
        with self._lock:
            # The write lock first, then the version: two processes opening an old log at once
            # must not both apply the same migration.
            self._connection.execute("BEGIN IMMEDIATE")
            try:
                version = self._connection.execute("PRAGMA user_version").fetchone()[0]
                for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
                    for statement in filter(str.strip, script.split(";\n")):
                        self._connection.execute(statement)
                    self._connection.execute(f"PRAGMA user_version={number}")
                self._connection.execute("COMMIT")
            except BaseException:
                self._connection.execute("ROLLBACK")
                raise

    def add(self, record: RunRecord, chunk_offsets_s: Sequence[float] = (), request: ChatRequest | None = None) -> None:
        """Write a run and, when it streamed content, its timeline, and its request, in one transaction."""
        row = record.as_row()
        placeholders = ", ".join("?" for _ in COLUMNS)
        values = [int(row[c]) if c in BOOL_COLUMNS else row[c] for c in COLUMNS]
        with self._lock, self._transaction():
            self._connection.execute(f"INSERT INTO runs ({', '.join(COLUMNS)}) VALUES ({placeholders})", values)
            if chunk_offsets_s:
                offsets_ms = json.dumps([round(offset * 1000, 3) for offset in chunk_offsets_s])
                self._connection.execute(
                    "INSERT INTO run_timelines (run_id, offsets_ms) VALUES (?, ?)", (record.run_id, offsets_ms)
                )
            if request is not None:
                messages = json.dumps([m.as_dict() for m in request.messages], ensure_ascii=False)
                self._connection.execute(
                    "INSERT INTO run_requests (run_id, messages_json, params_json) VALUES (?, ?, ?)",
                    (record.run_id, messages, request.params.model_dump_json()),
                )

    def requests(self, run_ids: Sequence[str]) -> dict[str, tuple[tuple[Message, ...], GenerationParams]]:
        """The messages and generation parameters each run was given, for the runs that have them."""
        if not run_ids:
            return {}
        marks = ", ".join("?" for _ in run_ids)
        with self._lock:
            found = self._connection.execute(
                f"SELECT run_id, messages_json, params_json FROM run_requests WHERE run_id IN ({marks})", tuple(run_ids)
            ).fetchall()
        return {
            run_id: (tuple(Message(**m) for m in json.loads(messages)), GenerationParams.model_validate_json(params))
            for run_id, messages, params in found
        }

    def timelines(self, run_ids: Sequence[str]) -> dict[str, list[float]]:
        """Chunk arrival offsets in seconds after send, for the runs that have them."""
        if not run_ids:
            return {}
        marks = ", ".join("?" for _ in run_ids)
        with self._lock:
            found = self._connection.execute(
                f"SELECT run_id, offsets_ms FROM run_timelines WHERE run_id IN ({marks})", tuple(run_ids)
            ).fetchall()
        return {run_id: [ms / 1000 for ms in json.loads(offsets)] for run_id, offsets in found}

    def add_vote(self, vote: VoteRecord) -> None:
        """Store one vote; a round (batch) takes one vote only."""
        row = vote.as_row()
        marks = ", ".join("?" for _ in VOTE_COLUMNS)
        try:
            with self._lock:
                self._connection.execute(
                    f"INSERT INTO votes ({', '.join(VOTE_COLUMNS)}) VALUES ({marks})", [row[c] for c in VOTE_COLUMNS]
                )
        except sqlite3.IntegrityError:
            raise InputError("This round already has a vote: start a new round to vote again.") from None

    def votes(self) -> list[dict[str, Any]]:
        with self._lock:
            found = self._connection.execute(
                f"SELECT {', '.join(VOTE_COLUMNS)} FROM votes ORDER BY voted_at, rowid"
            ).fetchall()
        return [dict(zip(VOTE_COLUMNS, values, strict=True)) for values in found]

    def _transaction(self) -> _Transaction:
        return _Transaction(self._connection)

    def rows(self, session_id: str | None = None) -> list[dict[str, Any]]:
        query = f"SELECT {', '.join(COLUMNS)} FROM runs"
        args: tuple[Any, ...] = ()
        if session_id is not None:
            query += " WHERE session_id = ?"
            args = (session_id,)
        query += " ORDER BY started_at, rowid"
        with self._lock:
            cursor = self._connection.execute(query, args)
            result = [dict(zip(COLUMNS, values, strict=True)) for values in cursor.fetchall()]
        for row in result:
            for column in BOOL_COLUMNS:
                row[column] = bool(row[column])
        return result

    def count(self) -> int:
        with self._lock:
            return self._connection.execute("SELECT COUNT(*) FROM runs").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._connection.close()


class _Transaction:
    """BEGIN … COMMIT on an autocommit connection; ROLLBACK when the block raises."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def __enter__(self) -> None:
        self._connection.execute("BEGIN")

    def __exit__(self, kind: object, error: object, traceback: object) -> None:
        self._connection.execute("COMMIT" if kind is None else "ROLLBACK")
