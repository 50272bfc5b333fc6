"""The page's endpoints through gradio_client (the browser tests cover what only a browser does)."""

import json
import urllib.request

from gradio_client import Client

from playground.backends.base import GenerationParams
from playground.records import COLUMNS
from playground.tables import read_runs_csv
from playground.testing.loopback import OllamaServer, OpenAIServer, Script
from playground.ui.results import TABLE_HEADERS
from playground.ui.settings import COPYABLE_FIELDS, SETTING_FIELDS, setting_values
from tests.conftest import chat_texts, history_of


def _turn(client: Client, app, prompt: str, both: bool = False, values: list | None = None) -> list[list[dict]]:
    client.predict(prompt, both, *(values or app.settings_values()), api_name="/send")
    return [history_of(client, f"/pane_{i}") for i in range(len(app.config.panes))]


def test_panes_answer_keep_their_own_history_and_log_every_run(serve_app):
    with (
        OpenAIServer({"m": Script(tokens=("hello ", "there"))}) as openai_server,
        OllamaServer({"q": Script(tokens=("hi",))}) as ollama,
    ):
        app = serve_app([
            {"name": "cloud", "backend": "openai", "model": "m", "base_url": openai_server.url + "/v1", "system": "be brief"},
            {"name": "ollama", "backend": "ollama", "model": "q", "host": ollama.url, "mode": "non-stream"},
        ])  # fmt: skip
        client = Client(app.url, verbose=False)
        first = _turn(client, app, "明月几时有")
        second = _turn(client, app, "and then?")
        second_request = openai_server.requests[-1]["messages"]
    assert chat_texts(first[0])[:2] == ["明月几时有", "hello there"]
    assert "TTFT" in chat_texts(first[0])[2]
    assert chat_texts(first[1])[1] == "hi"
    assert [m["content"] for m in second_request] == ["be brief", "明月几时有", "hello there", "and then?"]
    assert len(second[0]) == 2 * len(first[0])
    rows = app.store.rows()
    assert len(rows) == 4 and {r["status"] for r in rows} == {"ok"}
    assert sorted(r["turn"] for r in rows if r["pane"] == "cloud") == [1, 2]
    assert {r["mode"] for r in rows if r["pane"] == "ollama"} == {"non-stream"}


def test_results_give_table_summary_and_session_csv_and_the_whole_log_csv_is_written_on_demand(serve_app):
    with OpenAIServer({"m": Script()}) as server:
        app = serve_app([{"name": "a", "backend": "openai", "model": "m", "base_url": server.url + "/v1"}])
        client = Client(app.url, verbose=False)
        _turn(client, app, "one")
        table, summary, _plot, session_csv, all_csv = client.predict(api_name="/results")
        other = Client(app.url, verbose=False)
        _turn(other, app, "two")
        whole_log = client.predict(api_name="/csv_all")
    assert table["headers"] == TABLE_HEADERS and len(table["data"]) == 1
    assert summary["data"][0][:4] == ["a", "stream", 1, 0]
    assert session_csv["interactive"] is True
    frame = read_runs_csv(session_csv["value"])
    assert list(frame.columns) == list(COLUMNS) and len(frame) == 1
    # The whole log is not written at every turn's end, only when its button asks for it.
    assert all_csv == {"interactive": True, "__type__": "update"}
    everyone = read_runs_csv(whole_log)
    assert list(everyone.columns) == list(COLUMNS) and sorted(everyone["prompt"]) == ["one", "two"]


def test_a_new_session_can_download_the_whole_log_when_it_holds_runs(serve_app):
    with OpenAIServer({"m": Script()}) as server:
        app = serve_app([{"name": "a", "backend": "openai", "model": "m", "base_url": server.url + "/v1"}])
        first_look = Client(app.url, verbose=False).predict(api_name="/results")
        _turn(Client(app.url, verbose=False), app, "one")
        newcomer = Client(app.url, verbose=False).predict(api_name="/results")
    assert (first_look[3]["interactive"], first_look[4]["interactive"]) == (False, False)
    assert (newcomer[3]["interactive"], newcomer[4]["interactive"]) == (False, True)


def test_run_both_modes_alternates_and_shows_the_paired_difference(serve_app):
    with OpenAIServer({"m": Script(first_token_delay_s=0.05, gap_s=0.01)}) as server:
        app = serve_app([{"name": "a", "backend": "openai", "model": "m", "base_url": server.url + "/v1"}])
        client = Client(app.url, verbose=False)
        first = _turn(client, app, "one", both=True)
        _turn(client, app, "two", both=True)
    texts = chat_texts(first[0])
    assert any(t.startswith("<sub>stream · TTFT") for t in texts) and any(t.startswith("<sub>non-stream · TTFT") for t in texts)
    assert any("non-stream − stream: ΔTTFT +" in t for t in texts)
    rows = sorted(app.store.rows(), key=lambda r: r["started_at"])
    assert [r["mode"] for r in rows] == ["stream", "non-stream", "non-stream", "stream"]


def test_sessions_do_not_share_history_or_tables(serve_app):
    with OpenAIServer({"m": Script()}) as server:
        app = serve_app([{"name": "a", "backend": "openai", "model": "m", "base_url": server.url + "/v1"}])
        alice, bob = Client(app.url, verbose=False), Client(app.url, verbose=False)
        _turn(alice, app, "alice's question")
        bob_chat = _turn(bob, app, "bob's question")[0]
        alice_table = alice.predict(api_name="/results")[0]
    assert "alice's question" not in chat_texts(bob_chat)
    assert len(alice_table["data"]) == 1
    assert len({r["session_id"] for r in app.store.rows()}) == 2


def test_settings_changes_reach_the_backend_and_bad_values_are_refused(serve_app):
    with OpenAIServer({"m": Script(), "other": Script(tokens=("from other",))}) as server:
        app = serve_app([{"name": "a", "backend": "openai", "model": "m", "base_url": server.url + "/v1"}])
        client = Client(app.url, verbose=False)
        params = GenerationParams(temperature=0.3, top_p=0.9, max_tokens=12, seed=7, min_p=0.05, thinking="off")
        chat = _turn(client, app, "hi", values=setting_values("other", params, None, False))[0]
        sent = server.requests[-1]
        bad = setting_values("m", GenerationParams(), None, True)
        bad[SETTING_FIELDS.index("repetition_penalty")] = -1.0
        refused = app.refusal(client, "hi", bad)
    assert (sent["model"], sent["temperature"], sent["top_p"], sent["max_tokens"], sent["seed"], sent["stream"]) == (
        "other",
        0.3,
        0.9,
        12,
        7,
        False,
    )
    assert "from other" in chat_texts(chat)
    row = app.store.rows()[0]
    assert row["pane"] == "a" and row["model"] == "other"
    # This server is not known to take min_p or thinking: they are recorded as ignored, not dropped silently.
    assert "min_p" in row["ignored_params"] and "thinking" in row["ignored_params"]
    assert "a: repetition_penalty: Input should be greater than 0" in refused


def test_empty_prompt_is_refused_with_a_message_and_no_traceback(serve_app, capfd):
    with OpenAIServer({"m": Script()}) as server:
        app = serve_app([{"name": "a", "backend": "openai", "model": "m", "base_url": server.url + "/v1"}])
        client = Client(app.url, verbose=False)
        capfd.readouterr()
        message = app.refusal(client, "   ")
        printed = capfd.readouterr()
    assert "The prompt is empty" in message
    assert app.store.count() == 0
    # Gradio prints a refusal's traceback before it answers the browser, so it would be here by now.
    assert "Traceback" not in printed.err + printed.out


def test_a_single_pane_gets_its_header(serve_app):
    app = serve_app([{"name": "solo", "backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}])
    assert Client(app.url, verbose=False).predict(api_name="/headers").startswith("**solo** · openai")


def test_the_page_does_not_phone_home(serve_app, monkeypatch):
    monkeypatch.delenv("GRADIO_ANALYTICS_ENABLED", raising=False)
    app = serve_app([{"name": "a", "backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}])
    with urllib.request.urlopen(f"{app.url}/config", timeout=10) as response:
        config = json.load(response)
    assert config["analytics_enabled"] is False


def test_regenerate_replaces_the_last_turn_and_clear_forgets_everything(serve_app):
    with OpenAIServer({"m": Script(tokens=("answer",))}) as server:
        app = serve_app([{"name": "a", "backend": "openai", "model": "m", "base_url": server.url + "/v1"}])
        client = Client(app.url, verbose=False)
        _turn(client, app, "first")
        _turn(client, app, "second")
        client.predict("", False, *app.settings_values(), api_name="/regenerate")
        regenerated = history_of(client, "/regenerate_pane_0")
        regenerated_request = server.requests[-1]["messages"]
        client.predict(api_name="/clear")
        after_clear = _turn(client, app, "fresh")[0]
        fresh_request = server.requests[-1]["messages"]
    assert [t for t in chat_texts(regenerated) if t in ("first", "second")] == ["first", "second"]
    assert [m["content"] for m in regenerated_request] == ["first", "answer", "second"]
    assert [m["content"] for m in fresh_request] == ["fresh"]
    assert chat_texts(after_clear)[0] == "fresh"


def test_copy_settings_sends_one_panes_values_to_every_pane(serve_app):
    with OpenAIServer({"m": Script()}) as server:
        pane = {"backend": "openai", "model": "m", "base_url": server.url + "/v1"}
        app = serve_app([{"name": "a", **pane}, {"name": "b", **pane}, {"name": "c", **pane}])
        client = Client(app.url, verbose=False)
        params = GenerationParams(temperature=0.2, top_p=0.5, top_k=40, max_tokens=64, repetition_penalty=1.1, seed=9, min_p=0.1)
        values = setting_values("m", params, "be terse", False)[1:]
        assert len(values) == len(COPYABLE_FIELDS)
        copied = client.predict(*values, api_name="/copy_settings_1")
    assert list(copied) == values * 3


def test_the_queue_sums_up_its_events_once_per_thousand_unless_the_environment_says_otherwise(serve_app, monkeypatch):
    pane = {"name": "a", "backend": "ollama", "model": "m", "host": "http://127.0.0.1:9"}
    monkeypatch.delenv("GRADIO_ANALYTICS_CACHE_FREQUENCY", raising=False)
    assert serve_app([pane]).demo._queue.ANAYLTICS_CACHE_FREQUENCY == 1000
    monkeypatch.setenv("GRADIO_ANALYTICS_CACHE_FREQUENCY", "7")
    assert serve_app([pane]).demo._queue.ANAYLTICS_CACHE_FREQUENCY == 7


def test_every_event_of_the_page_sets_its_own_concurrency_limit(tmp_path):
    """The page does not set Gradio's default limit (a second app build at start-up), whose own default
    is one at a time: an event left to it would make visitors, or panes, wait on each other."""
    from playground.config import parse_config
    from playground.store import RunStore
    from playground.ui.app import build_app

    config = parse_config({"panes": [{"name": "o", "backend": "openai", "model": "m", "base_url": "http://127.0.0.1:9/v1"}]})
    with RunStore(tmp_path / "runs.sqlite") as store:
        demo = build_app(config, store)
    # Unload hooks (a closed tab frees its session) take no limit in Gradio's API; they return at once.
    served = [f for f in demo.fns.values() if f.fn is not None and ("unload" not in {t[1] for t in f.targets})]
    limits = {f.api_name: f.concurrency_limit for f in served}
    assert "default" not in limits.values(), limits
    assert limits["sweep"] == 1 and limits["send"] is None
