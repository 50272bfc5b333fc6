"""One row per run: the fields, in the documented CSV column order (see README, "Run log columns")."""

from __future__ import annotations

import typing
from dataclasses import asdict, dataclass, fields
from typing import Any, Literal

Status = Literal["ok", "error", "cancelled"]


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    batch_id: str
    session_id: str
    turn: int
    pane: str
    backend: str
    model: str
    mode: str
    repeat: int
    warmup: bool
    load_level: int | None
    started_at: str
    ended_at: str
    status: Status
    error_type: str | None
    error_message: str | None
    http_status: int | None
    partial: bool
    ttft_s: float | None
    ttfc_s: float | None
    e2e_s: float | None
    tpot_s: float | None
    itl_p50_s: float | None
    itl_p95_s: float | None
    decode_tps: float | None
    e2e_tps: float | None
    input_tokens: int | None
    output_tokens: int | None
    reasoning_tokens: int | None
    token_source: str | None
    token_note: str | None
    content_chunks: int
    stalls: int | None
    server_load_s: float | None
    server_prompt_eval_s: float | None
    server_eval_s: float | None
    server_total_s: float | None
    server_queue_s: float | None
    server_ttft_s: float | None
    queue_s: float | None
    retries: int
    retry_wait_s: float | None
    cold_start: bool
    cost_usd: float | None
    finish_reason: str | None
    prompt_hash: str
    params_json: str
    ignored_params: str
    prompt: str
    response_text: str
    reasoning_text: str

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class VoteRecord:
    """One arena vote: which of a round's runs was judged best ("tie" and "both_bad" name no run)."""

    vote_id: str
    batch_id: str
    session_id: str
    run_ids: str  # comma-separated, in the order the panes were shown (Model A, Model B, …)
    panes: str  # comma-separated pane names, same order
    winner: str  # a pane name from `panes`, "tie" or "both_bad"
    voted_at: str  # UTC ISO-8601

    def as_row(self) -> dict[str, Any]:
        return asdict(self)


ColumnKind = Literal["bool", "int", "float", "text"]


@dataclass(frozen=True)
class Column:
    """How one column is stored, typed in pandas and written to CSV: all from `RunRecord`'s type hints.

    The run log's SQL type for each kind is `playground.store.schema.SQL_TYPES`.
    """

    name: str
    kind: ColumnKind
    nullable: bool

    @property
    def pandas_dtype(self) -> str:
        return {"bool": "boolean", "int": "Int64", "float": "float64", "text": "object"}[self.kind]


_KINDS: dict[type, ColumnKind] = {bool: "bool", int: "int", float: "float", str: "text"}


def _column(name: str, hint: Any) -> Column:
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    nullable = type(None) in typing.get_args(hint)
    base = args[0] if nullable else hint
    if typing.get_origin(base) is Literal:
        base = type(typing.get_args(base)[0])
    return Column(name, _KINDS[base], nullable)


SCHEMA: dict[str, Column] = {name: _column(name, hint) for name, hint in typing.get_type_hints(RunRecord).items()}
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(RunRecord))
BOOL_COLUMNS = frozenset(c.name for c in SCHEMA.values() if c.kind == "bool")
INT_COLUMNS = frozenset(c.name for c in SCHEMA.values() if c.kind == "int")
FLOAT_COLUMNS = frozenset(c.name for c in SCHEMA.values() if c.kind == "float")
TEXT_COLUMNS = frozenset(c.name for c in SCHEMA.values() if c.kind == "text")
VOTE_COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(VoteRecord))
