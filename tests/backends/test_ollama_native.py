"""The ollama backend: the real `ollama` client against a loopback server speaking /api/chat NDJSON."""

import pytest

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
