"""Bad input: empty and huge prompts are refused with a message; any script round-trips to CSV."""

from __future__ import annotations

from gradio_client import Client

from playground.tables import read_runs_csv
from playground.testing.loopback import OpenAIServer, Script
from tests.conftest import history_of
from tests.reliability.conftest import record_figure

MIXED = "🌙 明月几时有？ שלום עולם مرحبا بالعالم — «καλημέρα» 👩🏽‍💻"


def test_empty_and_huge_prompts_are_refused_and_the_page_keeps_working(serve_app):
    with OpenAIServer({"m": Script()}) as server:
        app = serve_app([{"name": "a", "backend": "openai", "model": "m", "base_url": server.url + "/v1"}])
        client = Client(app.url, verbose=False)
        empty = app.refusal(client, "   ")
        huge = app.refusal(client, "x" * (1024 * 1024))
        assert app.refusal(client, "still here?") == ""
        after = history_of(client, "/pane_0")
    record_figure("bad_input", "empty prompt", {"message": empty})
    record_figure("bad_input", "1 MB prompt", {"message": huge})
    assert "The prompt is empty" in empty
    assert "1,048,576 characters" in huge and "at most 200,000" in huge
    assert any("tok0" in str(m["content"]) for m in after)
    assert app.store.count() == 1


def test_emoji_right_to_left_and_cjk_round_trip_through_the_csv(serve_app):
    with OpenAIServer({"m": Script(tokens=("🌙", " שלום", " 明月", " مرحبا"))}) as server:
        app = serve_app([{"name": "a", "backend": "openai", "model": "m", "base_url": server.url + "/v1"}])
        client = Client(app.url, verbose=False)
        client.predict(MIXED, False, *app.settings_values(), api_name="/send")
        client.predict(api_name="/pane_0")
        session_csv = client.predict(api_name="/results")[3]["value"]
    frame = read_runs_csv(session_csv)
    record_figure("bad_input", "mixed scripts", {"round_trip": frame["prompt"][0] == MIXED})
    assert frame["prompt"][0] == MIXED
    assert frame["response_text"][0] == "🌙 שלום 明月 مرحبا"
