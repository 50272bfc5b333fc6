"""The openai backend against a real llama.cpp server (llama-cpp-python's) serving the tiny model as GGUF."""

import pytest

from playground.metrics import MeteredRun, RunLabels
from tests.backends.conftest import LLAMACPP_MODEL
from tests.support import connections_opened

pytestmark = pytest.mark.server
PROMPT = "明月几时有"
# llama-cpp-python's chatml format always opens with a system turn, empty when the chat has
# none: "<|im_start|>system\n<|im_end|>\n<|im_start|>user\n明月几时有<|im_end|>\n<|im_start|>assistant\n".
PROMPT_TOKENS = 27


def _pane(make_pane, url: str, mode: str = "stream", model: str = LLAMACPP_MODEL, **params):
    return make_pane(name="llama", backend="openai", base_url=url, model=model, mode=mode, params={"max_tokens": 12, **params})


def _run(pane, prompt: str = PROMPT):
    return MeteredRun(pane.backend, pane.build_request(prompt), RunLabels("b", "test", pane.name)).run()


def test_non_stream_counts_are_the_servers_usage(llamacpp_server, make_pane):
    record = _run(_pane(make_pane, llamacpp_server, mode="non-stream"))
    assert record.status == "ok", record.error_message
    assert record.response_text
    assert record.token_source == "usage"
    # The GGUF never ends early and never stops mid-character: exactly max_tokens, by the server's count.
    assert (record.output_tokens, record.input_tokens) == (12, PROMPT_TOKENS)
    assert record.ttft_s == record.e2e_s


def test_stream_answers_one_chunk_per_token(llamacpp_server, make_pane):
    record = _run(_pane(make_pane, llamacpp_server))
    assert record.status == "ok", record.error_message
    assert record.response_text
    # Every token of the exported model is whole text, so the server sends each in its own chunk.
    assert record.content_chunks == 12
    assert record.ttft_s < record.e2e_s


def test_streamed_runs_share_one_connection(llamacpp_server, make_pane, monkeypatch):
    # sse-starlette ends the chunked body after `[DONE]`; reading that tail keeps the connection.
    opened = connections_opened(monkeypatch, llamacpp_server)
    pane = _pane(make_pane, llamacpp_server, max_tokens=4)
    records = [_run(pane) for _ in range(3)]
    assert [r.status for r in records] == ["ok"] * 3, records[-1].error_message
    assert len(opened) == 1


def test_seed_reaches_the_server(llamacpp_server, make_pane):
    pane = _pane(make_pane, llamacpp_server, mode="non-stream", seed=7, temperature=1.0)
    first, second = _run(pane), _run(pane)
    other = _run(_pane(make_pane, llamacpp_server, mode="non-stream", seed=8, temperature=1.0))
    assert first.response_text == second.response_text != other.response_text


def test_any_model_name_is_answered_by_the_loaded_model(llamacpp_server, make_pane):
    # The server falls back to its one model for unknown names (llama_cpp/server/model.py:40-41).
    record = _run(_pane(make_pane, llamacpp_server, mode="non-stream", model="no-such-model"))
    assert record.status == "ok", record.error_message
    assert record.output_tokens == 12


def test_a_prompt_longer_than_the_context_is_a_clear_error(llamacpp_server, make_pane):
    record = _run(_pane(make_pane, llamacpp_server, mode="non-stream"), prompt="the moon " * 600)
    assert (record.status, record.error_type) == ("error", "bad_request")
    assert "maximum context length is 1024 tokens" in record.error_message and "shorten it" in record.error_message


def _preset_pane(make_pane, url: str, mode: str = "stream", **params):
    settings = {"max_tokens": 12, **params}
    return make_pane(name="llama", backend="openai", preset="llamacpp", base_url=url, model=LLAMACPP_MODEL, mode=mode,
                     params=settings)  # fmt: skip


# Many distinct words, so that a penalty on tokens already seen changes greedy choices within 40 tokens.
VARIED = " ".join(("the a model token stream answer moon bright when fast slow side pane latency measure first last time "
                   "prompt reply panel local cloud server ").split() * 2)  # fmt: skip


def test_the_llamacpp_preset_sends_repeat_penalty_which_the_server_reads(llamacpp_server, make_pane):
    def greedy(preset: str = "custom", **settings):
        params = {"max_tokens": 40, "temperature": 0, **settings.pop("params", {})}
        pane = make_pane(name="llama", backend="openai", preset=preset, base_url=llamacpp_server, model=LLAMACPP_MODEL,
                         mode="non-stream", params=params, **settings)  # fmt: skip
        record = _run(pane, VARIED)
        assert record.status == "ok", record.error_message
        return record

    default = greedy().response_text
    penalised = greedy("llamacpp", params={"repetition_penalty": 1.0})
    # The old way: sent under its OpenAI-world name `repetition_penalty`, which llama.cpp never reads.
    misnamed = greedy(extra_params=["repetition_penalty"], params={"repetition_penalty": 1.0})
    assert penalised.ignored_params == "" and '"repeat_penalty": 1.0' in penalised.params_json
    assert penalised.response_text != default  # the server read it (its own default is 1.1)
    assert misnamed.response_text == default  # under the wrong name it changed nothing


def test_sampling_extras_go_through_and_nothing_is_claimed_that_the_server_does_not_read(llamacpp_server, make_pane):
    record = _run(_preset_pane(make_pane, llamacpp_server, mode="non-stream", top_k=5, min_p=0.1, seed=3, thinking="on"))
    assert record.status == "ok", record.error_message
    assert record.ignored_params == "thinking"
    assert all(f'"{name}"' in record.params_json for name in ("top_k", "min_p", "seed"))


def test_a_stream_without_usage_is_counted_with_the_servers_own_tokenizer(llamacpp_server, make_pane):
    record = _run(_preset_pane(make_pane, llamacpp_server, max_tokens=40))
    assert record.status == "ok", record.error_message
    assert record.token_source == "estimate" and "/extras/tokenize" in record.token_note
    # Re-tokenizing text is not the generated ids, but it is close: within a fifth of the true 40.
    assert abs(record.output_tokens - 40) <= 8


def test_a_stream_the_server_interrupts_is_recorded_as_truncated(llamacpp_server, make_pane):
    # The server (interrupt_requests on) ends an older stream with [DONE] and no finish_reason
    # when a newer request arrives (llama_cpp/server/app.py).
    from playground.runner import FanOutRunner, PaneJob

    older = _preset_pane(make_pane, llamacpp_server, max_tokens=600)
    newer = _preset_pane(make_pane, llamacpp_server, max_tokens=4)
    runner = FanOutRunner(None)
    batch = runner.start([PaneJob(older, older.build_request(PROMPT))])
    for snapshot in batch.handles[0].snapshots(min_interval_s=0.01):
        if snapshot.done or len(snapshot.text) > 5:
            break
    interrupting = runner.run([PaneJob(newer, newer.build_request(PROMPT))])
    (record,) = batch.wait(timeout=120)
    assert interrupting[0].status == "ok"
    assert (record.status, record.error_type, record.partial) == ("error", "truncated", True)
    assert "ended the stream early" in record.error_message
