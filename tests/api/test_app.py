"""The served API through the real `openai` client, serving the tiny transformers model on 127.0.0.1."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import httpx
import openai
import pytest

from playground.api.app import ApiSettings
from playground.backends.base import GenerationParams
from playground.backends.transformers_local import _hidden_ids
from playground.config import parse_config
from playground.metrics import MeteredRun, RunLabels
from playground.panes import build_pane
from playground.runner import FanOutRunner, PaneJob
from playground.testing.loopback import OpenAIServer, Script
from tests.api.conftest import MAX_TOKENS
from tests.support import DecodeSteps, FigureFile, wait_until

FIGURES = FigureFile(Path(__file__).resolve().parents[2] / "test-artifacts" / "api" / "figures.json")
CONVERSATION = [
    {"role": "system", "content": "Answer in one line."},
    {"role": "user", "content": "明月几时有"},
    {"role": "assistant", "content": "把酒问青天"},
    {"role": "user", "content": [{"type": "text", "text": "hello "}, {"type": "text", "text": "world"}]},
]


def _greedy_ids(served, messages: list[dict[str, str]], max_tokens: int) -> tuple[list[int], str]:
    """What plain `generate` gives for the same conversation: the reference the API must match."""
    import torch

    loaded, _ = served.pane.backend._load()
    prompt = loaded.tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    inputs = loaded.tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
    with loaded.lock, torch.inference_mode():
        output = loaded.model.generate(**inputs, max_new_tokens=max_tokens, do_sample=False)
    ids = output[0, inputs["input_ids"].shape[1] :].tolist()
    hidden = _hidden_ids(loaded.tokenizer)
    return ids, loaded.tokenizer.decode([i for i in ids if i not in hidden])


def _flat(messages: list[dict]) -> list[dict[str, str]]:
    def text(content: str | list[dict]) -> str:
        return content if isinstance(content, str) else "".join(part["text"] for part in content)

    return [{"role": m["role"], "content": text(m["content"])} for m in messages]


def test_non_stream_answer_matches_generate_and_is_logged_as_an_api_run(serve):
    served = serve()
    completion = served.client().chat.completions.create(model="local", messages=CONVERSATION, max_completion_tokens=9)
    ids, text = _greedy_ids(served, _flat(CONVERSATION), 9)
    choice = completion.choices[0]
    assert completion.object == "chat.completion" and completion.model == "local"
    assert choice.message.role == "assistant" and choice.message.content == text != ""
    assert choice.finish_reason == "length"
    assert completion.usage.completion_tokens == len(ids) == 9
    [run] = served.api_runs()
    assert (run["status"], run["mode"], run["turn"], run["output_tokens"]) == ("ok", "non-stream", 2, 9)
    assert run["token_source"] == "tokenizer" and run["input_tokens"] == completion.usage.prompt_tokens
    assert json.loads(run["params_json"])["max_new_tokens"] == 9
    assert run["prompt"] == "hello world" and run["response_text"] == text


def test_stream_sends_chunks_then_a_usage_chunk_and_done(serve):
    served = serve()
    stream = served.client().chat.completions.create(
        model="local", messages=CONVERSATION, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    ids, _ = _greedy_ids(served, _flat(CONVERSATION), MAX_TOKENS)
    [run] = served.api_runs()
    content = [c for c in chunks if c.choices]
    assert content[0].choices[0].delta.role == "assistant"
    # The text is the served run's (where a random model's stray bytes fall depends on how tokens were batched).
    assert "".join(c.choices[0].delta.content or "" for c in content) == run["response_text"] != ""
    assert [c.choices[0].finish_reason for c in content][-1] == "length"
    assert all(c.usage is None for c in content)
    last = chunks[-1]
    assert last.choices == [] and last.usage.completion_tokens == len(ids) == MAX_TOKENS
    assert len({c.id for c in chunks}) == 1 and all(c.object == "chat.completion.chunk" for c in chunks)
    assert (run["status"], run["mode"], run["output_tokens"]) == ("ok", "stream", MAX_TOKENS)
    assert run["ttft_s"] < run["e2e_s"]


def test_the_raw_stream_ends_with_done_and_request_params_reach_the_model(serve):
    served = serve()
    body = {"model": served.pane.backend.model, "messages": [{"role": "user", "content": "hi"}], "stream": True,
            "temperature": 0.7, "top_p": 0.9, "top_k": 5, "repetition_penalty": 1.1, "seed": 3, "max_tokens": 4}  # fmt: skip
    with httpx.stream("POST", f"{served.server.base_url}/chat/completions", json=body, timeout=60) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = [line for line in response.iter_lines() if line]
    assert events[-1] == "data: [DONE]" and all(e.startswith("data: ") for e in events)
    assert "usage" not in json.loads(events[-2].removeprefix("data: "))  # no include_usage: no usage field
    [run] = served.api_runs()
    sent = json.loads(run["params_json"])
    assert sent == {
        "do_sample": True,
        "max_new_tokens": 4,
        "repetition_penalty": 1.1,
        "temperature": 0.7,
        "top_k": 5,
        "top_p": 0.9,
    }


@pytest.mark.slow
def test_a_client_that_disconnects_mid_stream_stops_generation(serve):
    served = serve()
    with DecodeSteps(served.pane.backend) as steps:
        stream = served.client().chat.completions.create(
            model="local", messages=[{"role": "user", "content": "go on"}], stream=True, max_tokens=100_000
        )
        received = 0
        for chunk in stream:
            received += bool(chunk.choices and chunk.choices[0].delta.content)
            if received >= 5:
                break
        stream.close()
        steps_at_close = steps.count
        wait_until(lambda: served.api_runs(), timeout_s=30, what="the cut run to be logged")
        [run] = served.api_runs()
        steps_at_log = steps.count
        FIGURES.record(("disconnect", "decode_steps_after_the_client_closed"), steps_at_log - steps_at_close)
        assert run["status"] == "cancelled" and run["error_type"] == "cancelled" and run["partial"]
        # Generation has stopped: no decode step after the run was logged, over many steps' time.
        step_s = run["e2e_s"] / max(run["content_chunks"], 1)
        time.sleep(max(20 * step_s, 0.2))
        assert steps.count == steps_at_log < 100_000


@pytest.mark.slow
def test_a_non_stream_client_that_gives_up_stops_its_run(serve):
    served = serve()
    body = {"model": "local", "messages": [{"role": "user", "content": "go on"}], "max_tokens": 100_000}
    with DecodeSteps(served.pane.backend) as steps:
        with pytest.raises(httpx.ReadTimeout):
            httpx.post(f"{served.server.base_url}/chat/completions", json=body, timeout=httpx.Timeout(10, read=1.0))
        wait_until(lambda: served.api_runs(), timeout_s=30, what="the abandoned run to be logged")
        [run] = served.api_runs()
        steps_at_log = steps.count
        assert (run["status"], run["mode"]) == ("cancelled", "non-stream")
        time.sleep(0.3)
        assert steps.count == steps_at_log < 100_000


def test_a_wrong_or_missing_key_is_refused_with_401(serve, monkeypatch):
    served = serve(ApiSettings(api_key="right-key-123"))
    with pytest.raises(openai.AuthenticationError) as refused:
        served.client(api_key="wrong-key-456").chat.completions.create(model="local", messages=CONVERSATION)
    assert refused.value.status_code == 401 and refused.value.code == "invalid_api_key"
    assert "wrong-key-456" not in str(refused.value.body)
    assert httpx.get(f"{served.server.base_url}/models", timeout=10).status_code == 401
    models = served.client(api_key="right-key-123").models.list()
    assert [m.id for m in models.data] == ["local"]
    assert served.api_runs() == []


def test_an_unknown_model_is_404_and_the_pane_or_its_model_id_are_accepted(serve):
    served = serve()
    client = served.client()
    with pytest.raises(openai.NotFoundError) as missing:
        client.chat.completions.create(model="gpt-4o", messages=CONVERSATION)
    assert missing.value.code == "model_not_found" and missing.value.param == "model"
    by_id = client.chat.completions.create(model=served.pane.backend.model, messages=CONVERSATION, max_tokens=2)
    assert by_id.model == "local" and by_id.usage.completion_tokens == 2


@pytest.mark.parametrize(
    ("change", "param"),
    [
        ({"messages": []}, "messages"),
        ({"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "yes"}]}, "messages"),
        ({"temperature": 5}, "temperature"),
        ({"n": 2}, "n"),
        ({"messages": "hi"}, "messages"),
        ({"messages": [{"role": "user", "content": "   "}]}, "messages"),
    ],
)
def test_bad_requests_are_400_in_openais_error_shape(serve, change, param):
    served = serve()
    body = {"model": "local", "messages": [{"role": "user", "content": "hi"}]} | change
    response = httpx.post(f"{served.server.base_url}/chat/completions", json=body, timeout=10)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
    assert error["param"] == param and error["message"]
    assert served.api_runs() == []


@pytest.mark.slow
def test_requests_beyond_the_queue_are_503(serve):
    served = serve(ApiSettings(max_queue=1))
    client = served.client()
    endless = {"model": "local", "messages": [{"role": "user", "content": "go"}], "stream": True, "max_tokens": 100_000}
    running = client.chat.completions.create(**endless)
    next(iter(running))
    waiting: list = []
    waiter = threading.Thread(target=lambda: waiting.append(client.chat.completions.create(**endless)))
    waiter.start()
    # The second request holds the last slot while it waits for the model's lock.
    wait_until(lambda: served.server.app.state.admission.held == 2, timeout_s=10, what="the second request to be queued")
    with pytest.raises(openai.InternalServerError) as busy:
        client.chat.completions.create(model="local", messages=[{"role": "user", "content": "hi"}])
    assert busy.value.status_code == 503 and busy.value.code == "queue_full"
    assert busy.value.response.headers["retry-after"] == "1"
    running.close()
    waiter.join(30)
    waiting[0].close()
    wait_until(lambda: len(served.api_runs()) == 2, timeout_s=30, what="both cut runs to be logged")
    assert {r["status"] for r in served.api_runs()} == {"cancelled"}
    assert served.client().chat.completions.create(model="local", messages=CONVERSATION, max_tokens=2).choices


def test_a_playground_pane_with_the_playground_preset_runs_against_the_endpoint(serve):
    served = serve()
    settings = {"name": "via-api", "backend": "openai", "preset": "playground", "model": "local"}
    settings |= {"base_url": served.server.base_url, "params": {"temperature": 0, "max_tokens": 6}}
    config = parse_config({"panes": [settings]})
    pane = build_pane(config.panes[0], config, served.context)
    modes = ("stream", "non-stream")
    records = FanOutRunner(None).run([PaneJob(pane, pane.build_request("明月几时有", mode=mode)) for mode in modes])
    served_runs = {run["mode"]: run for run in served.api_runs()}
    for record in records:
        assert record.status == "ok", record.error_message
        assert (record.token_source, record.output_tokens) == ("usage", 6)
        # What the client got is what the served run logged (a random model's stray bytes included).
        assert record.response_text == served_runs[record.mode]["response_text"] != ""
    # The same request straight to the served pane (whose own system prompt applies, as the client sends none).
    params = GenerationParams(temperature=0, max_tokens=6)
    request = served.pane.build_request("明月几时有", mode="non-stream", params=params)
    direct = MeteredRun(served.pane.backend, request, RunLabels("b", "direct", "local")).run()
    assert records[1].response_text == direct.response_text
    assert {r["mode"] for r in served.api_runs()} == {"stream", "non-stream"}


def test_health_and_models(serve):
    served = serve()
    health = httpx.get(f"http://127.0.0.1:{served.server.port}/health", timeout=10)
    assert health.status_code == 200 and health.json()["pane"] == "local"
    assert [m.id for m in served.client().models.list().data] == ["local"]
    missing = httpx.get(f"{served.server.base_url}/nothing", timeout=10)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_backend_failures_get_their_own_status_in_openais_shape(serve, tmp_path):
    missing = serve(model=str(tmp_path / "no-such-model"))
    with pytest.raises(openai.InternalServerError) as failed:
        missing.client().chat.completions.create(model="local", messages=CONVERSATION)
    assert failed.value.status_code == 500 and failed.value.code == "model_not_found"
    assert "does not exist" in failed.value.message
    [run] = missing.api_runs()
    assert (run["status"], run["error_type"]) == ("error", "model_not_found")


@pytest.mark.parametrize(("upstream", "expected"), [(429, 429), (503, 503), (500, 502), (401, 502)])
def test_an_upstream_error_is_passed_on_as_the_clients_status_it_means(serve, upstream, expected):
    with OpenAIServer({"m": Script(status=upstream)}) as upstream_server:
        served = serve(backend="openai", model="m", base_url=upstream_server.url + "/v1", max_retries=0, torch_threads=None)
        with pytest.raises(openai.APIStatusError) as failed:
            served.client().chat.completions.create(model="local", messages=CONVERSATION, stream=True)
    assert failed.value.status_code == expected
    assert failed.value.body["type"] == ("rate_limit_error" if expected == 429 else "server_error")


def test_a_body_that_is_not_json_is_400(serve):
    served = serve()
    response = httpx.post(f"{served.server.base_url}/chat/completions", content=b"{not json", timeout=10,
                          headers={"content-type": "application/json"})  # fmt: skip
    assert response.status_code == 400 and response.json()["error"]["message"] == "the request body is not valid JSON."
