"""The openai backend against a real llama.cpp server (llama-cpp-python's) serving the tiny model as GGUF."""

import pytest

from playground.metrics import MeteredRun, RunLabels
from tests.backends.conftest import LLAMACPP_MODEL

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
    assert "maximum context length is 1024 tokens" in record.error_message
