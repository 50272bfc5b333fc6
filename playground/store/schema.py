"""The run log's tables, one definition for SQLite and PostgreSQL, typed from `records.SCHEMA`."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import BigInteger, Boolean, Column, Double, Identity, Index, MetaData, Table, Text, literal_column
from sqlalchemy.sql.elements import ColumnElement
from sqlalchemy.types import TypeEngine

from playground.records import COLUMNS, SCHEMA, VOTE_COLUMNS, ColumnKind

SQL_TYPES: dict[ColumnKind, type[TypeEngine]] = {"bool": Boolean, "int": BigInteger, "float": Double, "text": Text}

# Columns added after the first schema, with the schema version that added each.
ADDED_COLUMNS: dict[str, int] = {
    "http_status": 2,
    "server_queue_s": 2,
    "server_ttft_s": 2,
    "retries": 2,
    "retry_wait_s": 2,
    "load_level": 3,
    "stalls": 3,
}
FIRST_COLUMNS: tuple[str, ...] = tuple(name for name in COLUMNS if name not in ADDED_COLUMNS)

# PostgreSQL has no rowid: an identity column keeps the order rows were written in.
SEQUENCE_COLUMN = "seq"


def run_column(name: str) -> Column:
    """Every column but the key may be NULL, as in the first schema: an old row lacks the later ones."""
    return Column(name, SQL_TYPES[SCHEMA[name].kind](), primary_key=name == "run_id")


def _sequence() -> Column:
    return Column(SEQUENCE_COLUMN, BigInteger, Identity(), nullable=False, unique=True)


def runs_table(metadata: MetaData, names: Iterable[str], with_sequence: bool = False) -> Table:
    table = Table("runs", metadata, *(run_column(name) for name in names), *([_sequence()] if with_sequence else []))
    Index("runs_session", table.c.session_id)
    Index("runs_batch", table.c.batch_id)
    return table


def timelines_table(metadata: MetaData) -> Table:
    """Chunk arrival offsets in ms after send, a JSON array, keyed by run id."""
    return Table("run_timelines", metadata, Column("run_id", Text, primary_key=True), Column("offsets_ms", Text, nullable=False))


def requests_table(metadata: MetaData) -> Table:
    """The messages and generation parameters each run was given (JSON), so a batch can be replayed exactly."""
    return Table(
        "run_requests",
        metadata,
        Column("run_id", Text, primary_key=True),
        Column("messages_json", Text, nullable=False),
        Column("params_json", Text, nullable=False),
    )


def votes_table(metadata: MetaData, with_sequence: bool = False) -> Table:
    """One arena vote per round: `batch_id` is unique."""
    columns = [
        Column(name, Text, primary_key=name == "vote_id", nullable=False, unique=name == "batch_id") for name in VOTE_COLUMNS
    ]
    return Table("votes", metadata, *columns, *([_sequence()] if with_sequence else []))


# The current schema, as the store reads and writes it (the sequence fills itself in).
CURRENT = MetaData()
RUNS = runs_table(CURRENT, COLUMNS)
TIMELINES = timelines_table(CURRENT)
VOTES = votes_table(CURRENT)
REQUESTS = requests_table(CURRENT)


def insertion_order(dialect_name: str) -> ColumnElement:
    """The order rows were written in: SQLite's rowid, PostgreSQL's identity column."""
    return literal_column("rowid" if dialect_name == "sqlite" else SEQUENCE_COLUMN)
