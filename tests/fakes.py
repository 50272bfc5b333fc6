"""Hand-made records for table and store tests."""

from __future__ import annotations

from typing import Any

from playground.records import RunRecord

_DEFAULTS: dict[str, Any] = dict(
    run_id="r",
    batch_id="b",
    session_id="s",
    turn=1,
    pane="p",
    backend="openai",
    model="m",
    mode="stream",
    repeat=0,
    warmup=False,
    load_level=None,
    started_at="2026-01-01T00:00:00.000000+00:00",
    ended_at="2026-01-01T00:00:01.000000+00:00",
    status="ok",
    error_type=None,
    error_message=None,
    http_status=None,
    partial=False,
    ttft_s=0.1,
    ttfc_s=0.05,
    e2e_s=1.0,
    tpot_s=0.01,
    itl_p50_s=0.01,
    itl_p95_s=0.02,
    decode_tps=100.0,
    e2e_tps=90.0,
    input_tokens=5,
    output_tokens=91,
    reasoning_tokens=None,
    token_source="usage",
    token_note=None,
    content_chunks=91,
    stalls=0,
    server_load_s=None,
    server_prompt_eval_s=None,
    server_eval_s=None,
    server_total_s=None,
    server_queue_s=None,
    server_ttft_s=None,
    queue_s=0.0,
    retries=0,
    retry_wait_s=None,
    cold_start=False,
    cost_usd=None,
    finish_reason="stop",
    prompt_hash="0" * 64,
    params_json="{}",
    ignored_params="",
    prompt="hi",
    response_text="hello",
    reasoning_text="",
)


def record_with(**overrides: Any) -> RunRecord:
    return RunRecord(**(_DEFAULTS | overrides))
