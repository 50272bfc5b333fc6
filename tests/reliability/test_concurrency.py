"""Twenty sessions at once through gradio_client: nothing crosses sessions, no row is lost."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import pytest
from gradio_client import Client

from playground.testing.loopback import OllamaServer, OpenAIServer, Script
from tests.conftest import chat_texts, history_of
from tests.reliability.conftest import record_figure

pytestmark = pytest.mark.slow

SESSIONS = 20


def test_twenty_sessions_send_at_once_and_keep_to_themselves(serve_app):
    scripts = {"m": Script(first_token_delay_s=0.05, gap_s=0.01)}
    with OpenAIServer(scripts) as openai_server, OllamaServer(scripts) as ollama:
        app = serve_app([
            {"name": "cloud", "backend": "openai", "model": "m", "base_url": openai_server.url + "/v1"},
            {"name": "ollama", "backend": "ollama", "model": "m", "host": ollama.url},
        ])  # fmt: skip

        def session(number: int) -> tuple[int, list[list[str]], list]:
            client = Client(app.url, verbose=False)
            prompt = f"question from session {number}"
            client.predict(prompt, False, *app.settings_values(), api_name="/send")
            chats = [chat_texts(history_of(client, f"/pane_{i}")) for i in range(2)]
            table = client.predict(api_name="/results")[0]["data"]
            return number, chats, table

        with ThreadPoolExecutor(SESSIONS) as pool:
            outcomes = list(pool.map(session, range(SESSIONS)))
        requests = [r["messages"][-1]["content"] for r in openai_server.requests + ollama.requests if "messages" in r]

    crossed = 0
    for number, chats, table in outcomes:
        for chat in chats:
            prompts = [t for t in chat if t.startswith("question from session")]
            crossed += prompts != [f"question from session {number}"]
        crossed += len(table) != 2
    rows = app.store.rows()
    lost = 2 * SESSIONS - len(rows)
    record_figure("concurrency", "20 sessions", {"rows_expected": 2 * SESSIONS, "rows_lost": lost, "crossings": crossed})
    assert crossed == 0
    assert lost == 0 and {r["status"] for r in rows} == {"ok"}
    assert len({r["session_id"] for r in rows}) == SESSIONS
    assert sorted(requests) == sorted(f"question from session {n}" for n in range(SESSIONS) for _ in range(2))
