"""The ollama backend: the real `ollama` client against a loopback server speaking /api/chat NDJSON."""

import pytest

from playground.backends.ollama_native import parse_host
from playground.metrics import MeteredRun, RunLabels
from playground.testing.loopback import OllamaServer, Script


def _run(pane, **kwargs):
    return MeteredRun(pane.backend, pane.build_request("明月几时有", **kwargs), RunLabels("b", "test", pane.name)).run()


@pytest.mark.parametrize("mode", ["stream", "non-stream"])
def test_answer_counts_and_server_timings(make_pane, mode):
    with OllamaServer({"qwen2.5:0.5b": Script(gap_s=0.002)}) as server:
        pane = make_pane(
            name="o",
            backend="ollama",
            model="qwen2.5:0.5b",
            host=server.url,
            mode=mode,
            keep_alive="1m",
            params={"max_tokens": 64, "repetition_penalty": 1.1, "temperature": 0.2, "seed": 3},
        )
        record = _run(pane)
        sent = server.requests[0]
    assert record.status == "ok", record.error_message
    assert record.response_text == "".join(f"tok{i} " for i in range(20))
    assert (record.token_source, record.input_tokens, record.output_tokens) == ("ollama", 7, 20)
    assert record.server_total_s is not None and 0 < record.server_total_s <= record.e2e_s
    assert record.server_load_s == pytest.approx(0.001)
    assert record.cold_start is False  # a 1 ms load is a model already in memory
    assert sent["options"] == {"num_predict": 64, "repeat_penalty": 1.1, "temperature": 0.2, "seed": 3}
    assert sent["keep_alive"] == "1m"
    assert sent["stream"] is (mode == "stream")


def test_thinking_field_and_think_tags_become_reasoning(make_pane):
    scripts = {"thinker": Script(reasoning=("hmm ",), tokens=("yes",)), "r1": Script(tokens=("<thi", "nk>why</think>", "so"))}
    with OllamaServer(scripts) as server:
        thinker = _run(make_pane(name="a", backend="ollama", model="thinker", host=server.url))
        r1 = _run(make_pane(name="b", backend="ollama", model="r1", host=server.url))
    assert (thinker.response_text, thinker.reasoning_text) == ("yes", "hmm ")
    assert (r1.response_text, r1.reasoning_text) == ("so", "why")


def test_unknown_model_says_how_to_pull_it(make_pane):
    with OllamaServer({}) as server:
        record = _run(make_pane(name="o", backend="ollama", model="llama9", host=server.url))
    assert record.error_type == "model_not_found"
    assert "ollama pull llama9" in record.error_message


@pytest.mark.parametrize("mode", ["stream", "non-stream"])
def test_unreachable_server_is_a_clear_error(make_pane, mode):
    with OllamaServer({}) as server:
        url = server.url
    record = _run(make_pane(name="o", backend="ollama", model="m", host=url, mode=mode))
    assert record.error_type == "unreachable"
    assert record.error_message == f"Ollama not reachable at {url} — is `ollama serve` running?"


def test_host_comes_from_ollama_host_when_not_configured(make_pane, monkeypatch):
    monkeypatch.setenv("OLLAMA_HOST", "127.0.0.1:9")
    assert make_pane(name="o", backend="ollama", model="m").backend.host == "http://127.0.0.1:9"


def test_list_models_reads_api_tags(make_pane):
    with OllamaServer({"b:1": Script(), "a:2": Script()}) as server:
        assert make_pane(name="o", backend="ollama", model="a:2", host=server.url).backend.list_models() == ["a:2", "b:1"]


def test_a_long_server_reported_load_marks_a_cold_start(make_pane):
    with OllamaServer({"m": Script(server_load_s=2.5)}) as server:
        record = _run(make_pane(name="o", backend="ollama", model="m", host=server.url))
    assert record.cold_start is True and record.server_load_s == pytest.approx(2.5)


@pytest.mark.parametrize(("fault", "error_type"), [({"malformed_after": 3}, "malformed"), ({"drop_after": 3}, "connection_lost")])
def test_a_broken_stream_ends_in_a_clear_error_and_keeps_the_partial_text(make_pane, fault, error_type):
    with OllamaServer({"m": Script(**fault)}) as server:
        record = _run(make_pane(name="o", backend="ollama", model="m", host=server.url))
    assert (record.status, record.error_type) == ("error", error_type)
    assert record.partial and record.response_text == "tok0 tok1 tok2 "


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "http://127.0.0.1:11434"),
        ("myserver", "http://myserver:11434"),
        ("0.0.0.0", "http://127.0.0.1:11434"),
        (":8080", "http://127.0.0.1:8080"),
        ("myserver:9000", "http://myserver:9000"),
        ("http://myserver", "http://myserver:80"),
        ("https://myserver", "https://myserver:443"),
        ("https://myserver:1234/ollama/", "https://myserver:1234/ollama"),
        ("[::1]", "http://[::1]:11434"),
    ],
)
def test_ollama_host_is_read_as_ollama_reads_it(value, expected):
    assert parse_host(value) == expected


def test_ollama_host_from_the_environment_without_a_scheme(make_pane, monkeypatch):
    with OllamaServer({"m": Script()}) as server:
        monkeypatch.setenv("OLLAMA_HOST", f"127.0.0.1:{server.port}")
        record = _run(make_pane(name="o", backend="ollama", model="m"))
    assert record.status == "ok", record.error_message


def test_an_error_line_inside_the_stream_says_the_server_failed(make_pane):
    with OllamaServer({"m": Script(stream_error_after=2, stream_error="llama runner process has terminated")}) as server:
        record = _run(make_pane(name="o", backend="ollama", model="m", host=server.url))
    assert (record.error_type, record.partial) == ("generation_failed", True)
    assert "failed while generating: llama runner process has terminated" in record.error_message
    assert "-1" not in record.error_message


def test_a_stream_that_stops_before_its_final_object_is_truncated(make_pane):
    with OllamaServer({"m": Script(finish_reason=None)}) as server:
        record = _run(make_pane(name="o", backend="ollama", model="m", host=server.url))
    assert (record.error_type, record.partial) == ("truncated", True)


@pytest.mark.parametrize(
    ("status", "body", "model", "error_type", "words"),
    [
        (503, {"error": "server busy, please try again.  maximum pending requests exceeded"}, "m", "server", "busy"),
        (401, {"error": "unauthorized", "signin_url": "https://ollama.com/connect?name=x"}, "gpt-oss:120b-cloud", "auth",
         "ollama signin"),
        (401, {"error": "unauthorized"}, "m", "auth", "proxy"),
    ],
)
def test_ollama_status_answers_as_ollama_sends_them(make_pane, status, body, model, error_type, words):
    with OllamaServer({model: Script(status=status, error_body=body)}) as server:
        record = _run(make_pane(name="o", backend="ollama", model=model, host=server.url))
    assert (record.error_type, record.http_status) == (error_type, status)
    assert words in record.error_message


def test_thinking_levels_and_num_ctx_are_sent_as_ollama_reads_them(make_pane):
    with OllamaServer({"m": Script()}) as server:
        pane = make_pane(name="o", backend="ollama", model="m", host=server.url, num_ctx=8192, think=True)
        _run(pane)
        _run(pane, params=pane.config.params.model_copy(update={"thinking": "high"}))
        _run(pane, params=pane.config.params.model_copy(update={"thinking": "off"}))
        sent = server.requests
    assert sent[0]["think"] is True and sent[0]["options"]["num_ctx"] == 8192
    assert [s["think"] for s in sent[1:]] == ["high", False]


def test_reasoning_that_runs_out_of_budget_is_its_own_outcome(make_pane):
    with OllamaServer({"m": Script(reasoning=("hmm ",) * 4, tokens=(), finish_reason="length")}) as server:
        record = _run(make_pane(name="o", backend="ollama", model="m", host=server.url))
    assert (record.error_type, record.finish_reason) == ("reasoning_only", "length")


def test_details_say_whether_the_model_is_loaded_and_its_context(make_pane):
    with OllamaServer({"m": Script(), "cold": Script()}, loaded=["m"]) as server:
        warm = make_pane(name="o", backend="ollama", model="m", host=server.url).backend.details()
        cold = make_pane(name="c", backend="ollama", model="cold", host=server.url).backend.details()
        url = server.url
    assert warm == "loaded · context 4,096 of 32,768"
    assert cold == "not loaded: the first run pays for loading it · model context 32,768"
    assert make_pane(name="g", backend="ollama", model="m", host=url).backend.details() == ""


def test_a_non_stream_answer_after_a_lone_closing_tag_stays_the_answer(make_pane):
    with OllamaServer({"m": Script(tokens=("I should think. ", "</think>", "The answer is 4."))}) as server:
        record = _run(make_pane(name="o", backend="ollama", model="m", host=server.url, mode="non-stream"))
    assert (record.status, record.response_text, record.reasoning_text) == ("ok", "The answer is 4.", "I should think. ")


def test_an_ollama_host_with_another_scheme_is_a_config_error():
    from playground.errors import ConfigError

    with pytest.raises(ConfigError, match="scheme must be http or https"):
        parse_host("tcp://myserver")
    assert parse_host("HTTP://myserver") == "http://myserver:80"
