"""What a pane shows, built only from snapshots and records."""

from playground.runner import Snapshot
from playground.ui.render import NOTICE_TITLE, header, live_messages


def test_a_ready_header_carries_the_backends_details_and_a_problem_replaces_them():
    ready = header("o", "ollama", "qwen3", "stream", None, "loaded · context 4,096 of 32,768")
    down = header("o", "ollama", "qwen3", "stream", "Ollama not reachable", "ignored")
    assert ready.endswith("🟢 ready · loaded · context 4,096 of 32,768")
    assert down.endswith("🔴 unavailable: Ollama not reachable")


def test_a_pane_still_being_prepared_says_what_it_does_and_no_details_yet():
    preparing = header("local", "transformers", "tiny", "stream", None, "", preparing="loading tiny")
    assert preparing.endswith("⏳ preparing: loading tiny")
    assert "unavailable" in header("local", "transformers", "tiny", "stream", "no such folder", preparing="loading tiny")


def test_a_run_waiting_to_retry_says_so_until_its_answer_begins():
    waiting = live_messages(Snapshot("", "", notice="429 from x — rate limit. Retrying in 4 s (retry 1)."), streaming=True)
    answering = live_messages(Snapshot("Hello", ""), streaming=True)
    assert [m["metadata"]["title"] for m in waiting] == [NOTICE_TITLE]
    assert "Retrying in 4 s" in waiting[0]["content"]
    assert answering == [{"role": "assistant", "content": "Hello"}]
