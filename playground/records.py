"""One row per run: the fields, in the documented CSV column order (see README, "Run log columns")."""

from __future__ import annotations

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
    started_at: str
    ended_at: str
    status: Status
    error_type: str | None
    error_message: str | None
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
    server_load_s: float | None
    server_prompt_eval_s: float | None
    server_eval_s: float | None
    server_total_s: float | None
    queue_s: float | None
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


COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(RunRecord))
BOOL_COLUMNS = frozenset({"warmup", "partial", "cold_start"})
INT_COLUMNS = frozenset({"turn", "repeat", "input_tokens", "output_tokens", "reasoning_tokens", "content_chunks"})
FLOAT_COLUMNS = frozenset(f.name for f in fields(RunRecord) if f.type in ("float | None", "float"))
