"""What the page shows for a run: chat messages, the metrics badge, headers. Pure functions.

Everything shown comes from a run snapshot or a finished `RunRecord`: the page displays
the metrics wrapper's numbers and never times anything itself.
"""

from __future__ import annotations

from collections.abc import Sequence

from playground.records import RunRecord
from playground.runner import Snapshot

THINKING_TITLE = "Thinking"
WAITING_TITLE = "Waiting for the complete answer (non-streaming)…"


def user_message(prompt: str) -> dict:
    return {"role": "user", "content": prompt}


def _thinking(reasoning: str, done: bool) -> dict:
    return {
        "role": "assistant",
        "content": reasoning,
        "metadata": {"title": THINKING_TITLE, "status": "done" if done else "pending"},
    }


# A run waiting before its answer: for a retry after a rate limit, or for the panes to be prepared.
NOTICE_TITLE = "⏳ Waiting"


def live_messages(snapshot: Snapshot, streaming: bool) -> list[dict]:
    """Messages for a run still in flight."""
    messages = [_thinking(snapshot.reasoning, done=False)] if snapshot.reasoning else []
    if snapshot.notice:
        # A wait the person should see (a rate limit before a retry), instead of a silent pane.
        notice = {"title": NOTICE_TITLE, "status": "pending"}
        messages.append({"role": "assistant", "content": snapshot.notice, "metadata": notice})
    if not streaming:
        messages.append({"role": "assistant", "content": "", "metadata": {"title": WAITING_TITLE, "status": "pending"}})
    elif snapshot.text:
        messages.append({"role": "assistant", "content": snapshot.text})
    return messages


def final_messages(record: RunRecord, label_mode: bool = False, with_badge: bool = True) -> list[dict]:
    """Messages for a finished run: reasoning, answer, what went wrong, and the metrics badge
    (left out while a blind arena round hides the timings)."""
    messages = [_thinking(record.reasoning_text, done=True)] if record.reasoning_text else []
    if record.response_text:
        messages.append({"role": "assistant", "content": record.response_text})
    if record.status == "error":
        partial = " (the answer above is partial)" if record.partial else ""
        messages.append({"role": "assistant", "content": f"⚠️ {record.error_message}{partial}"})
    elif record.status == "cancelled":
        messages.append(
            {"role": "assistant", "content": "⏹ Stopped." + (" The answer above is partial." if record.partial else "")}
        )
    elif not record.response_text:
        messages.append({"role": "assistant", "content": "(empty answer)"})
    if with_badge:
        messages.append({"role": "assistant", "content": f"<sub>{badge(record, label_mode)}</sub>"})
    return messages


def turn_messages(prompt: str, records: Sequence[RunRecord], label_mode: bool) -> list[dict]:
    """A finished turn of one pane: the prompt, each run's messages, and the paired difference."""
    shown = [user_message(prompt)]
    for record in records:
        shown += final_messages(record, label_mode)
    difference = paired_difference(records)
    if difference:
        shown.append({"role": "assistant", "content": f"<sub>{difference}</sub>"})
    return shown


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value * 1000:.0f} ms" if value < 1 else f"{value:.2f} s"


def badge(record: RunRecord, label_mode: bool = False) -> str:
    """One line: TTFT, E2E, output tokens and their source, tokens/s."""
    parts = [f"TTFT {_seconds(record.ttft_s)}", f"E2E {_seconds(record.e2e_s)}"]
    if record.output_tokens is not None:
        parts.append(f"{record.output_tokens} tokens ({record.token_source})")
    speed = record.decode_tps if record.decode_tps is not None else record.e2e_tps
    if speed is not None:
        parts.append(f"{speed:.0f} tok/s")
    if record.queue_s and record.queue_s >= 0.01:
        parts.append(f"queued {_seconds(record.queue_s)}")
    if label_mode:
        parts.insert(0, record.mode)
    return " · ".join(parts)


def paired_difference(records: Sequence[RunRecord]) -> str | None:
    """Non-stream minus stream TTFT and E2E, when the pane answered in both modes."""
    by_mode = {r.mode: r for r in records if r.status == "ok"}
    stream, whole = by_mode.get("stream"), by_mode.get("non-stream")
    if stream is None or whole is None or None in (stream.ttft_s, whole.ttft_s, stream.e2e_s, whole.e2e_s):
        return None
    ttft = whole.ttft_s - stream.ttft_s
    e2e = whole.e2e_s - stream.e2e_s
    return f"non-stream − stream: ΔTTFT {ttft * 1000:+.0f} ms · ΔE2E {e2e * 1000:+.0f} ms"


def header(
    name: str, backend: str, model: str, mode: str, problem: str | None, details: str = "", preparing: str = ""
) -> str:
    """The pane's title line and its state: unavailable (why), still preparing (what it does), or ready."""
    if problem:
        icon, status = "🔴", f"unavailable: {problem}"
    elif preparing:
        icon, status = "⏳", f"preparing: {preparing}"
    else:
        icon, status = "🟢", "ready" + (f" · {details}" if details else "")
    return f"**{name}** · {backend} · `{model}` · {mode}  \n{icon} {status}"
