"""One schema, versioned: each migration takes the run log up one version, on SQLite and PostgreSQL alike.

The version lives where each engine keeps it best: SQLite's `PRAGMA user_version` (what every log
written before PostgreSQL support holds, versions 1-3), PostgreSQL's one-row `schema_version` table.
Several processes may open an old log at once; each migrates under a write lock taken before the
version is read, so a migration runs once: SQLite's `BEGIN IMMEDIATE`, PostgreSQL's transaction-scoped
advisory lock (https://www.postgresql.org/docs/15/functions-admin.html#FUNCTIONS-ADVISORY-LOCKS).
PostgreSQL's DDL is transactional, and so is SQLite's under an explicit BEGIN: a failed step leaves
the previous version whole.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import Column, Connection, Engine, Integer, MetaData, Table, func, select
from sqlalchemy.schema import CreateTable

from playground.records import SCHEMA
from playground.store.schema import (
    ADDED_COLUMNS,
    FIRST_COLUMNS,
    SQL_TYPES,
    requests_table,
    runs_table,
    timelines_table,
    votes_table,
)

# Any fixed 64-bit key names the lock; every playground process uses this one for its run log.
MIGRATION_LOCK_KEY = 0x6C6C_6D70_6C61_7967  # "llmplayg"
# An execution option read by the SQLite engine's BEGIN hook (see run_store.py).
SQLITE_BEGIN_OPTION = "playground_sqlite_begin"

_VERSION_TABLE = Table("schema_version", MetaData(), Column("version", Integer, nullable=False))


def _is_postgresql(connection: Connection) -> bool:
    return connection.dialect.name == "postgresql"


def _create_runs(connection: Connection) -> None:
    metadata = MetaData()
    runs_table(metadata, FIRST_COLUMNS, with_sequence=_is_postgresql(connection))
    metadata.create_all(connection, checkfirst=False)


def _add_columns(version: int) -> Callable[[Connection], None]:
    def add(connection: Connection) -> None:
        quote = connection.dialect.identifier_preparer.quote
        for name, added_in in ADDED_COLUMNS.items():
            if added_in == version:
                sql_type = SQL_TYPES[SCHEMA[name].kind]().compile(dialect=connection.dialect)
                connection.exec_driver_sql(f"ALTER TABLE runs ADD COLUMN {quote(name)} {sql_type}")

    return add


def _create_timelines_and_votes(connection: Connection) -> None:
    metadata = MetaData()
    timelines_table(metadata)
    votes_table(metadata, with_sequence=_is_postgresql(connection))
    metadata.create_all(connection, checkfirst=False)


def _create_requests(connection: Connection) -> None:
    metadata = MetaData()
    requests_table(metadata)
    metadata.create_all(connection, checkfirst=False)


@dataclass(frozen=True)
class Migration:
    description: str
    steps: tuple[Callable[[Connection], None], ...]

    def apply(self, connection: Connection) -> None:
        for step in self.steps:
            step(connection)


# Entry N-1 takes a log to version N; never edit a shipped one, append instead.
MIGRATIONS: tuple[Migration, ...] = (
    Migration("runs table", (_create_runs,)),
    Migration("HTTP status, server queue and TTFT, retries", (_add_columns(2),)),
    Migration("load level, stalls; run timelines and votes", (_add_columns(3), _create_timelines_and_votes)),
    Migration("run requests (messages and parameters, for replay)", (_create_requests,)),
)
SCHEMA_VERSION = len(MIGRATIONS)


def stored_version(connection: Connection) -> int:
    """The schema version the log holds (0: a new, empty log)."""
    if not _is_postgresql(connection):
        return int(connection.exec_driver_sql("PRAGMA user_version").scalar_one())
    connection.execute(CreateTable(_VERSION_TABLE, if_not_exists=True))
    return int(connection.execute(select(func.coalesce(func.max(_VERSION_TABLE.c.version), 0))).scalar_one())


def _store_version(connection: Connection, version: int) -> None:
    if not _is_postgresql(connection):
        connection.exec_driver_sql(f"PRAGMA user_version={int(version)}")
        return
    connection.execute(_VERSION_TABLE.delete())
    connection.execute(_VERSION_TABLE.insert().values(version=version))


def upgrade(engine: Engine, target: int = SCHEMA_VERSION) -> int:
    """Bring the log to `target` (by default the current schema) under the write lock; return its version.

    A log already past `target` (written by a newer playground) is left as it is.
    """
    with engine.connect() as connection:
        connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})
        with connection.begin():
            if _is_postgresql(connection):
                connection.execute(select(func.pg_advisory_xact_lock(MIGRATION_LOCK_KEY)))
            version = stored_version(connection)
            for number in range(version + 1, target + 1):
                MIGRATIONS[number - 1].apply(connection)
            if target > version:
                _store_version(connection, target)
                version = target
    return version
