"""The openai backend: the real `openai` client against `transformers serve` and a scripted loopback server."""

import pytest

from playground.errors import ConfigError
from playground.metrics import MeteredRun, RunLabels
from playground.runner import FanOutRunner, PaneJob
from playground.testing.loopback import OpenAIServer, Script
from tests.support import connections_opened, wait_until


def _run(pane, prompt: str = "明月几时有", **kwargs):
    return MeteredRun(pane.backend, pane.build_request(prompt, **kwargs), RunLabels("b", "test", pane.name)).run()


@pytest.mark.server
@pytest.mark.parametrize("mode", ["stream", "non-stream"])
def test_transformers_serve_answers_and_counts_match_server_usage(transformers_server, tiny_model_dir, make_pane, mode):
    pane = make_pane(
        name="serve",
        backend="openai",
        preset="transformers-serve",
        base_url=transformers_server,
        model=str(tiny_model_dir),
        mode=mode,
        params={"max_tokens": 12, "top_k": 5},
    )
    record = _run(pane)
    assert record.status == "ok", record.error_message
    assert record.response_text
    assert record.token_source == "usage"
    assert record.output_tokens == 12  # the tiny model never ends early: the server's own count
    assert record.input_tokens and record.input_tokens > 5
    # transformers serve refuses top_k (422): the preset records it as ignored instead of sending it.
    assert record.ignored_params == "top_k"
    if mode == "stream":
        assert record.content_chunks > 1 and record.ttft_s < record.e2e_s
    else:
        assert record.ttft_s == record.e2e_s


@pytest.mark.server
def test_transformers_serve_streamed_runs_share_one_connection(transformers_server, tiny_model_dir, make_pane, monkeypatch):
    # However a real server (uvicorn) ends its stream, three streamed runs open one connection.
    opened = connections_opened(monkeypatch, transformers_server)
    pane = make_pane(name="serve", backend="openai", preset="transformers-serve", base_url=transformers_server,
                     model=str(tiny_model_dir), params={"max_tokens": 4})  # fmt: skip
    records = [_run(pane) for _ in range(3)]
    assert [r.status for r in records] == ["ok"] * 3, records[-1].error_message
    assert len(opened) == 1


@pytest.mark.server
def test_transformers_serve_unknown_model_is_a_clear_error(transformers_server, make_pane):
    pane = make_pane(name="x", backend="openai", base_url=transformers_server, model="no-such-model")
    record = _run(pane)
    assert record.status == "error"
    assert record.error_type == "bad_request"
    assert "no-such-model" in record.error_message


@pytest.mark.parametrize("usage", ["separate", "last-chunk"])
def test_usage_is_taken_wherever_it_arrives(make_pane, usage):
    with OpenAIServer({"m": Script(usage=usage)}) as server:
        record = _run(make_pane(name="p", backend="openai", base_url=server.url + "/v1", model="m"))
        assert server.requests[0]["stream_options"] == {"include_usage": True}
    assert (record.token_source, record.output_tokens, record.input_tokens) == ("usage", 20, 7)


def test_no_usage_falls_back_to_a_marked_estimate(make_pane):
    with OpenAIServer({"m": Script(usage="none")}) as server:
        record = _run(make_pane(name="p", backend="openai", base_url=server.url + "/v1", model="m"))
    assert record.token_source == "estimate"
    assert "estimated" in record.token_note


@pytest.mark.parametrize("mode", ["stream", "non-stream"])
def test_reasoning_content_is_kept_apart_and_counted(make_pane, mode):
    script = Script(reasoning=("think ", "more "), tokens=("ok",))
    with OpenAIServer({"r": script}) as server:
        record = _run(make_pane(name="p", backend="openai", base_url=server.url + "/v1", model="r", mode=mode))
    assert (record.response_text, record.reasoning_text) == ("ok", "think more ")
    assert record.reasoning_tokens is not None and record.reasoning_tokens > 0


def test_extra_params_go_in_extra_body_only_when_the_preset_accepts_them(make_pane):
    with OpenAIServer({"m": Script()}) as server:
        vllm = make_pane(
            name="v",
            backend="openai",
            preset="vllm",
            base_url=server.url + "/v1",
            model="m",
            params={"top_k": 20, "repetition_penalty": 1.1, "temperature": 0.5},
        )
        plain = make_pane(name="c", backend="openai", base_url=server.url + "/v1", model="m", params={"top_k": 20})
        vllm_record, plain_record = _run(vllm), _run(plain)
        sent_vllm, sent_plain = server.requests
    assert sent_vllm["top_k"] == 20 and sent_vllm["repetition_penalty"] == 1.1 and sent_vllm["temperature"] == 0.5
    assert vllm_record.ignored_params == ""
    assert "top_k" not in sent_plain
    assert plain_record.ignored_params == "top_k"


@pytest.mark.parametrize(
    ("status", "error_type", "words"),
    [(401, "auth", "401 from"), (403, "auth", "403 from"), (429, "rate_limit", "retry after 7 s"), (500, "server", "500 from")],
)
def test_http_errors_become_specific_messages(make_pane, monkeypatch, status, error_type, words):
    monkeypatch.setenv("LOOPBACK_KEY", "sk-test-abcdefghijklmnop")
    script = Script(status=status, headers={"retry-after": "7"} if status == 429 else {})
    with OpenAIServer({"m": script}) as server:
        pane = make_pane(
            name="p", backend="openai", base_url=server.url + "/v1", model="m", api_key_env="LOOPBACK_KEY", max_retries=0
        )
        record = _run(pane)
    assert record.status == "error"
    assert record.error_type == error_type
    assert words in record.error_message
    assert "LOOPBACK_KEY" in record.error_message or status not in (401,)
    assert "sk-test" not in record.error_message


def test_unknown_model_and_unreachable_server(make_pane):
    with OpenAIServer({"m": Script()}) as server:
        missing = _run(make_pane(name="p", backend="openai", base_url=server.url + "/v1", model="nope"))
        url = server.url
    refused = _run(make_pane(name="q", backend="openai", base_url=url + "/v1", model="m", max_retries=0))
    assert missing.error_type == "model_not_found" and "'nope'" in missing.error_message
    assert refused.error_type == "unreachable" and "cannot reach 127.0.0.1" in refused.error_message


def test_missing_key_is_reported_per_pane(make_pane, monkeypatch):
    monkeypatch.delenv("DEEPSEEK_API_KEY", raising=False)
    record = _run(make_pane(name="d", backend="openai", preset="deepseek", model="deepseek-chat"))
    assert record.error_type == "missing_key"
    assert "DEEPSEEK_API_KEY is not set" in record.error_message


def test_bad_base_url_is_a_config_error(make_pane):
    with pytest.raises(ConfigError, match=r"panes\[0\]\.base_url"):
        make_pane(name="p", backend="openai", base_url="ftp://x", model="m")


@pytest.mark.parametrize(("fault", "error_type"), [({"malformed_after": 3}, "malformed"), ({"drop_after": 3}, "connection_lost")])
def test_a_broken_stream_ends_in_a_clear_error_and_keeps_the_partial_text(make_pane, fault, error_type):
    with OpenAIServer({"m": Script(**fault)}) as server:
        record = _run(make_pane(name="p", backend="openai", base_url=server.url + "/v1", model="m", max_retries=0))
    assert (record.status, record.error_type) == ("error", error_type)
    assert record.partial and record.response_text == "tok0 tok1 tok2 "
    assert "Traceback" not in record.error_message


def _loopback_run(make_pane, script: Script, mode: str = "stream", **pane):
    with OpenAIServer({"m": script}) as server:
        settings = {"name": "p", "backend": "openai", "base_url": server.url + "/v1", "model": "m", "max_retries": 0}
        record = _run(make_pane(**(settings | {"mode": mode} | pane)))
        return record, server.requests


def test_a_stream_the_server_ends_without_a_finish_reason_is_truncated_not_ok(make_pane):
    # llama.cpp's server ends an interrupted stream with [DONE] and no finish_reason.
    record, _ = _loopback_run(make_pane, Script(finish_reason=None, usage="none"))
    assert (record.status, record.error_type, record.partial) == ("error", "truncated", True)
    assert "ended the stream early" in record.error_message
    assert record.response_text == "".join(f"tok{i} " for i in range(20))


def test_an_empty_truncated_stream_blames_the_server_not_the_model(make_pane):
    record, _ = _loopback_run(make_pane, Script(tokens=(), finish_reason=None, usage="none"))
    assert record.error_type == "truncated" and "model" not in record.error_message.split("—")[0]


def test_a_stream_with_a_finish_reason_but_no_done_marker_and_keepalive_comments_is_ok(make_pane):
    record, _ = _loopback_run(make_pane, Script(done_marker=False, keepalive_comments=True))
    assert record.status == "ok", record.error_message
    assert record.output_tokens == 20 and record.content_chunks == 20


def test_an_error_inside_the_stream_reports_the_servers_message(make_pane):
    # vLLM: `data: {"error": {...}}` then `data: [DONE]` on a 200 response.
    record, _ = _loopback_run(make_pane, Script(stream_error_after=3, stream_error="CUDA out of memory"))
    assert (record.error_type, record.partial) == ("generation_failed", True)
    assert "failed while generating: CUDA out of memory" in record.error_message
    assert record.response_text == "tok0 tok1 tok2 "


@pytest.mark.parametrize("mode", ["stream", "non-stream"])
def test_vllm_reasoning_field_is_read(make_pane, mode):
    script = Script(reasoning=("weigh ", "it "), tokens=("yes",), reasoning_field="reasoning")
    record, _ = _loopback_run(make_pane, script, mode=mode, preset="vllm")
    assert (record.response_text, record.reasoning_text) == ("yes", "weigh it ")


@pytest.mark.parametrize("mode", ["stream", "non-stream"])
def test_a_lone_closing_think_tag_from_the_server_splits_reasoning_out(make_pane, mode):
    record, _ = _loopback_run(make_pane, Script(tokens=("plan ", "more</th", "ink>", "Answer.")), mode=mode)
    assert (record.reasoning_text, record.response_text) == ("plan more", "Answer.")
    assert record.status == "ok"


def test_reasoning_that_uses_the_whole_budget_is_its_own_outcome(make_pane):
    script = Script(reasoning=("think ",) * 5, tokens=(), finish_reason="length")
    record, _ = _loopback_run(make_pane, script, params={"max_tokens": 5})
    assert (record.status, record.error_type) == ("error", "reasoning_only")
    assert "raise max_tokens or turn thinking off" in record.error_message
    assert record.reasoning_text == "think " * 5 and record.partial


@pytest.mark.parametrize("mode", ["stream", "non-stream"])
def test_llamacpp_timings_fill_the_server_columns(make_pane, mode):
    script = Script(first_token_delay_s=0.05, gap_s=0.002, timings=True)
    record, sent = _loopback_run(make_pane, script, mode=mode, preset="llamacpp", params={"repetition_penalty": 1.3})
    assert record.status == "ok", record.error_message
    assert record.server_prompt_eval_s == pytest.approx(0.05, abs=0.01)
    assert 0 < record.server_total_s <= record.e2e_s
    assert sent[0]["repeat_penalty"] == 1.3 and "repetition_penalty" not in sent[0]


def test_a_base_url_without_v1_is_a_path_problem_not_a_missing_model(make_pane):
    with OpenAIServer({"m": Script()}) as server:
        record = _run(make_pane(name="p", backend="openai", base_url=server.url, model="m", max_retries=0))
    assert (record.error_type, record.http_status) == ("bad_url", 404)
    assert "/v1" in record.error_message


def test_deepseek_retired_model_name_says_which_names_are_current(make_pane, monkeypatch):
    monkeypatch.setenv("DEEPSEEK_API_KEY", "sk-test-abcdefghijklmnop")
    body = {
        "error": {"message": "Model Not Exist", "type": "invalid_request_error", "param": None, "code": "invalid_request_error"}
    }
    record, _ = _loopback_run(make_pane, Script(status=400, error_body=body), preset="deepseek", model="m")
    assert (record.error_type, record.http_status) == ("model_not_found", 400)
    assert "deepseek-flash" in record.error_message


def test_a_refused_parameter_names_the_parameter_and_the_fix(make_pane):
    body = {
        "error": {
            "message": "Unsupported parameter: 'max_tokens' is not supported with this model. "
            "Use 'max_completion_tokens' instead.",
            "type": "invalid_request_error",
            "param": "max_tokens",
            "code": "unsupported_parameter",
        }
    }
    record, _ = _loopback_run(make_pane, Script(status=400, error_body=body), params={"max_tokens": 9})
    assert record.error_type == "unsupported_param"
    assert "'max_tokens'" in record.error_message and "Fix:" in record.error_message


def test_dashscope_401_mentions_the_region(make_pane, monkeypatch):
    monkeypatch.setenv("DASHSCOPE_API_KEY", "sk-test-abcdefghijklmnop")
    body = {"error": {"message": "Incorrect API key provided.", "type": "invalid_request_error", "code": "invalid_api_key"}}
    record, _ = _loopback_run(make_pane, Script(status=401, error_body=body), preset="dashscope-intl")
    assert record.error_type == "auth" and "region" in record.error_message and "DASHSCOPE_API_KEY" in record.error_message
    assert "sk-test" not in record.error_message


@pytest.mark.parametrize("headers", [{"retry-after-ms": "7000"}, {"retry-after": "7"}])
def test_retry_after_in_milliseconds_or_seconds(make_pane, headers):
    record, _ = _loopback_run(make_pane, Script(status=429, headers=headers))
    assert (record.error_type, record.http_status) == ("rate_limit", 429)
    assert "retry after 7 s" in record.error_message


def test_streaming_estimate_counts_at_least_one_token_per_chunk(make_pane):
    # Random-weight or code-like text has far more tokens than characters / 4.
    tokens = tuple("ab" for _ in range(30))
    record, _ = _loopback_run(make_pane, Script(tokens=tokens, usage="none"))
    assert (record.token_source, record.output_tokens) == ("estimate", 30)
    assert "one token per streamed chunk" in record.token_note


@pytest.mark.parametrize("mode", ["stream", "non-stream"])
def test_vllm_metrics_give_the_servers_view_of_one_run(make_pane, mode):
    script = Script(first_token_delay_s=0.08, gap_s=0.002)
    record, _ = _loopback_run(make_pane, script, mode=mode, preset="vllm")
    assert record.status == "ok", record.error_message
    assert record.server_ttft_s == pytest.approx(0.08) and record.server_queue_s == pytest.approx(0.002)
    assert record.server_prompt_eval_s == pytest.approx(0.08) and record.server_eval_s == pytest.approx(0.038)
    # The client's view includes the network and the client itself: never less than the server's.
    assert 0 < record.server_total_s <= record.e2e_s


def test_server_metrics_are_not_claimed_when_other_requests_finished_meanwhile(make_pane):
    with OpenAIServer({"m": Script(first_token_delay_s=1.0)}) as server:
        url = server.url + "/v1"
        pane = make_pane(name="p", backend="openai", preset="vllm", base_url=url, model="m", mode="non-stream")
        other = make_pane(name="q", backend="openai", preset="custom", base_url=url, model="m", mode="non-stream")
        runner = FanOutRunner(None)
        # The other request is in flight before this run's first scrape and ends before this run does.
        earlier = runner.start([PaneJob(other, other.build_request("hi"))])
        wait_until(lambda: len(server.requests) == 1, what="the other request")
        (record,) = runner.run([PaneJob(pane, pane.build_request("hi"))])
        (finished_meanwhile,) = earlier.wait(timeout=30)
    assert finished_meanwhile.status == "ok"
    assert record.status == "ok" and record.server_ttft_s is None and record.server_total_s is None


class _NoMetricsServer(OpenAIServer):
    def routes(self):
        return {k: v for k, v in super().routes().items() if k != "/metrics"}


def test_a_server_without_metrics_leaves_the_columns_empty(make_pane):
    with _NoMetricsServer({"m": Script()}) as server:
        pane = make_pane(name="p", backend="openai", base_url=server.url + "/v1", model="m", server_metrics=True)
        record = _run(pane)
    assert record.status == "ok" and record.server_total_s is None and record.server_ttft_s is None


def test_without_usage_llamacpp_answers_are_counted_by_the_servers_tokenizer(make_pane):
    record, _ = _loopback_run(make_pane, Script(usage="none"), preset="llamacpp")
    assert (record.token_source, record.output_tokens) == ("estimate", 20)
    assert "re-tokenized by the server's /tokenize" in record.token_note


def test_without_usage_a_local_model_folder_is_counted_by_its_tokenizer_json(make_pane, tiny_model_dir):
    from tokenizers import Tokenizer

    script = Script(tokens=("moon bright ", "when fast ", "明月几时有"), usage="none")
    with OpenAIServer({str(tiny_model_dir): script}) as server:
        pane = make_pane(name="p", backend="openai", base_url=server.url + "/v1", model=str(tiny_model_dir))
        record = _run(pane)
    expected = len(Tokenizer.from_file(str(tiny_model_dir / "tokenizer.json")).encode("".join(script.tokens)).ids)
    assert (record.token_source, record.output_tokens) == ("estimate", expected)
    assert "tokenizer.json" in record.token_note


def test_a_password_in_base_url_never_reaches_a_message(make_pane):
    record = _run(make_pane(name="p", backend="openai", base_url="http://proxyuser:s3cretPass@127.0.0.1:9/v1", model="m",
                            max_retries=0))  # fmt: skip
    assert record.error_type == "unreachable"
    assert "s3cretPass" not in record.error_message and "proxyuser" not in record.error_message


def test_a_model_name_no_tokenizer_can_be_found_for_still_gives_a_record(make_pane):
    # An OpenRouter-style name is not a valid hub id: looking for its tokenizer must not lose the run.
    with OpenAIServer({"qwen/qwen3-8b:free": Script(usage="none")}) as server:
        record = _run(make_pane(name="p", backend="openai", base_url=server.url + "/v1", model="qwen/qwen3-8b:free"))
    assert record.status == "ok" and record.token_source == "estimate"
