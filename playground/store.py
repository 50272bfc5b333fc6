"""The run log: an SQLite file (stdlib), WAL mode, one row per finished run.

Rows are written in their own committed transaction as each run ends, so a crash loses
nothing that had already ended. Safe to share between threads.
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

from playground.records import BOOL_COLUMNS, COLUMNS, SCHEMA, RunRecord

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


# Each entry upgrades the schema by one version; never edit a shipped one, append instead.
MIGRATIONS: tuple[str, ...] = (_migration_v1(), _columns_added_in(2))


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

    def add(self, record: RunRecord) -> None:
        row = record.as_row()
        placeholders = ", ".join("?" for _ in COLUMNS)
        values = [int(row[c]) if c in BOOL_COLUMNS else row[c] for c in COLUMNS]
        with self._lock:
            self._connection.execute(f"INSERT INTO runs ({', '.join(COLUMNS)}) VALUES ({placeholders})", values)

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
