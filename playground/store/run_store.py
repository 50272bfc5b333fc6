"""The run log: one row per finished run, on SQLite (embedded, WAL) or PostgreSQL (shared by a team).

Each run is written in its own committed transaction as it ends, together with its token timeline,
so a crash loses nothing that had already ended. Safe to share between threads, and between
processes: SQLite serialises writers with `BEGIN IMMEDIATE` and a busy timeout; PostgreSQL takes
concurrent writers as they come (run ids are uuid4 hex, the primary key refuses a duplicate).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, func, insert, select
from sqlalchemy.exc import DBAPIError, IntegrityError

from playground.backends.base import ChatRequest, GenerationParams, Message
from playground.errors import InputError, PlaygroundError
from playground.records import BOOL_COLUMNS, COLUMNS, RunRecord, VoteRecord
from playground.store.location import StoreTarget, parse_store_location
from playground.store.migrations import SQLITE_BEGIN_OPTION, upgrade
from playground.store.schema import REQUESTS, RUNS, TIMELINES, VOTES, insertion_order

SQLITE_BUSY_TIMEOUT_MS = 5000
POSTGRES_CONNECT_TIMEOUT_S = 10


class StoreError(PlaygroundError):
    error_type = "store"


def create_store_engine(target: StoreTarget) -> Engine:
    if target.is_sqlite:
        return _sqlite_engine(target)
    connect_args = {} if "connect_timeout" in target.url.query else {"connect_timeout": POSTGRES_CONNECT_TIMEOUT_S}
    # pre_ping: a connection the server dropped (restart, failover) is replaced before use, not failed on.
    return create_engine(target.url, pool_pre_ping=True, connect_args=connect_args)


def _sqlite_engine(target: StoreTarget) -> Engine:
    engine = create_engine(target.url)

    # SQLAlchemy emits BEGIN itself, so writes can ask for BEGIN IMMEDIATE (the write lock up front, waited
    # for under busy_timeout) and DDL runs inside the transaction:
    # https://docs.sqlalchemy.org/en/21/dialects/sqlite.html#enabling-non-legacy-sqlite-transactional-modes-with-the-sqlite3-or-aiosqlite-driver
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: object) -> None:
        dbapi_connection.isolation_level = None
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}"):
            dbapi_connection.execute(f"PRAGMA {pragma}")

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        connection.exec_driver_sql(connection.get_execution_options().get(SQLITE_BEGIN_OPTION, "BEGIN"))

    return engine


class RunStore:
    """The run log at `location`: an SQLite file path, or a database URL (see `parse_store_location`)."""

    def __init__(self, location: str | Path) -> None:
        target = parse_store_location(location)
        self.path: Path | None = target.path
        self.location = target.display
        self._is_sqlite = target.is_sqlite
        if target.path is not None:
            target.path.parent.mkdir(parents=True, exist_ok=True)
        self._engine = create_store_engine(target)
        # Threads of one process queue here rather than in SQLite's busy-wait; PostgreSQL needs no such lock.
        self._write_lock: contextlib.AbstractContextManager[Any] = (
            threading.Lock() if self._is_sqlite else contextlib.nullcontext()
        )
        try:
            upgrade(self._engine)
        except DBAPIError as exc:  # unreachable server, bad credentials, no right to create tables
            self._engine.dispose()
            raise StoreError(f"Cannot open the run log {self.location}: {_reason(exc)}") from None

    @classmethod
    def existing(cls, location: str | Path) -> RunStore:
        """The run log at `location`, to read: an SQLite file that is not there is refused, not created empty."""
        path = parse_store_location(location).path
        if path is not None and not path.exists():
            raise StoreError(f"no run log at {path}: name one with --store FILE.")
        return cls(location)

    def __enter__(self) -> RunStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _writing(self) -> Iterator[Connection]:
        with self._write_lock, self._engine.connect() as connection:
            connection.execution_options(**{SQLITE_BEGIN_OPTION: "BEGIN IMMEDIATE"})
            with connection.begin():
                yield connection

    def _stored_row(self, row: dict[str, Any]) -> dict[str, Any]:
        if self._is_sqlite:
            return row
        # PostgreSQL text cannot hold NUL; the run is kept with U+FFFD in its place rather than lost.
        return {name: value.replace("\x00", "\ufffd") if isinstance(value, str) else value for name, value in row.items()}

    def add(self, record: RunRecord, chunk_offsets_s: Sequence[float] = (), request: ChatRequest | None = None) -> None:
        """Write a run and, when it streamed content, its timeline, and its request, in one transaction."""
        with self._writing() as connection:
            connection.execute(insert(RUNS), self._stored_row(record.as_row()))
            if chunk_offsets_s:
                offsets_ms = json.dumps([round(offset * 1000, 3) for offset in chunk_offsets_s])
                connection.execute(insert(TIMELINES), {"run_id": record.run_id, "offsets_ms": offsets_ms})
            if request is not None:
                messages = json.dumps([m.as_dict() for m in request.messages], ensure_ascii=False)
                stored = {"run_id": record.run_id, "messages_json": messages, "params_json": request.params.model_dump_json()}
                connection.execute(insert(REQUESTS), self._stored_row(stored))

    def requests(self, run_ids: Sequence[str]) -> dict[str, tuple[tuple[Message, ...], GenerationParams]]:
        """The messages and generation parameters each run was given, for the runs that have them."""
        if not run_ids:
            return {}
        query = select(REQUESTS.c.run_id, REQUESTS.c.messages_json, REQUESTS.c.params_json).where(
            REQUESTS.c.run_id.in_(list(run_ids))
        )
        with self._engine.connect() as connection:
            found = connection.execute(query).all()
        return {
            run_id: (tuple(Message(**m) for m in json.loads(messages)), GenerationParams.model_validate_json(params))
            for run_id, messages, params in found
        }

    def timelines(self, run_ids: Sequence[str]) -> dict[str, list[float]]:
        """Chunk arrival offsets in seconds after send, for the runs that have them."""
        if not run_ids:
            return {}
        query = select(TIMELINES.c.run_id, TIMELINES.c.offsets_ms).where(TIMELINES.c.run_id.in_(list(run_ids)))
        with self._engine.connect() as connection:
            found = connection.execute(query).all()
        return {run_id: [ms / 1000 for ms in json.loads(offsets)] for run_id, offsets in found}

    def add_vote(self, vote: VoteRecord) -> None:
        """Store one vote; a round (batch) takes one vote only."""
        try:
            with self._writing() as connection:
                connection.execute(insert(VOTES), self._stored_row(vote.as_row()))
        except IntegrityError:
            raise InputError("This round already has a vote: start a new round to vote again.") from None

    def votes(self) -> list[dict[str, Any]]:
        query = select(*VOTES.c).order_by(VOTES.c.voted_at, insertion_order(self._engine.dialect.name))
        with self._engine.connect() as connection:
            return [dict(row._mapping) for row in connection.execute(query)]

    def rows(self, session_id: str | None = None) -> list[dict[str, Any]]:
        """Runs in the order they started (ties: the order written); one session's, or everyone's."""
        query = select(*(RUNS.c[name] for name in COLUMNS))
        if session_id is not None:
            query = query.where(RUNS.c.session_id == session_id)
        query = query.order_by(RUNS.c.started_at, insertion_order(self._engine.dialect.name))
        with self._engine.connect() as connection:
            result = [dict(row._mapping) for row in connection.execute(query)]
        for row in result:
            for column in BOOL_COLUMNS:
                row[column] = bool(row[column])
        return result

    def count(self) -> int:
        with self._engine.connect() as connection:
            return int(connection.execute(select(func.count()).select_from(RUNS)).scalar_one())

    def close(self) -> None:
        # With its last connection closed cleanly, SQLite checkpoints the WAL and removes the -wal and -shm files.
        self._engine.dispose()


def _reason(error: DBAPIError) -> str:
    """The driver's own first line (host, port, what refused), without SQLAlchemy's statement dump."""
    text = str(error.orig).strip() or type(error.orig).__name__
    return text.splitlines()[0]
