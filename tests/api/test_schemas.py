"""The request schema: what a client may set, and how it lands on the pane's own settings."""

import pytest
from pydantic import ValidationError

from playground.api.schemas import ChatCompletionChunk, ChatCompletionRequest, ChunkChoice, Delta
from playground.backends.base import GenerationParams, Message

PANE_PARAMS = GenerationParams(temperature=0.7, top_k=20, max_tokens=256, seed=1)


def _request(**fields) -> ChatCompletionRequest:
    return ChatCompletionRequest.model_validate({"model": "m", "messages": [{"role": "user", "content": "hi"}]} | fields)


def test_fields_the_request_sets_replace_the_panes_and_the_rest_are_kept():
    params = _request(temperature=0, top_p=0.5, repetition_penalty=1.2, min_p=0.1).params_over(PANE_PARAMS)
    expected = {"temperature": 0, "top_p": 0.5, "top_k": 20, "max_tokens": 256, "seed": 1, "repetition_penalty": 1.2}
    assert params == GenerationParams(**expected, min_p=0.1)
    assert _request().params_over(PANE_PARAMS) == PANE_PARAMS


def test_max_completion_tokens_wins_over_the_deprecated_max_tokens():
    assert _request(max_tokens=10, max_completion_tokens=20).params_over(PANE_PARAMS).max_tokens == 20
    assert _request(max_tokens=10).params_over(PANE_PARAMS).max_tokens == 10


@pytest.mark.parametrize(("enable", "thinking"), [(True, "on"), (False, "off"), (None, None)])
def test_the_template_thinking_switch_becomes_the_panes_thinking(enable, thinking):
    kwargs = {} if enable is None else {"enable_thinking": enable}
    assert _request(chat_template_kwargs=kwargs).params_over(GenerationParams()).thinking == thinking


def test_system_and_developer_messages_make_the_system_prompt_and_the_last_user_message_is_the_prompt():
    request = _request(
        messages=[
            {"role": "developer", "content": "Be brief."},
            {"role": "user", "content": "one"},
            {"role": "assistant", "content": [{"type": "text", "text": "two"}]},
            {"role": "system", "content": "No lists."},
            {"role": "user", "content": "three"},
        ]
    )
    system, history, prompt = request.conversation()
    assert system == "Be brief.\n\nNo lists."
    assert history == [Message("user", "one"), Message("assistant", "two")] and prompt == "three"
    assert _request().conversation() == (None, [], "hi")


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"messages": []}, "at least 1"),
        ({"messages": [{"role": "system", "content": "x"}]}, "must have the role user"),
        ({"messages": [{"role": "tool", "content": "x"}]}, "role"),
        ({"n": 3}, "n: only one choice"),
        ({"stop": ["\n"]}, "stop sequences"),
        ({"top_p": 0}, "greater than 0"),
        ({"max_completion_tokens": 0}, "greater than or equal to 1"),
    ],
)
def test_requests_that_cannot_be_honoured_are_refused_by_name(fields, words):
    with pytest.raises(ValidationError, match=words):
        _request(**fields)


def test_a_delta_names_only_what_it_carries():
    chunk = ChatCompletionChunk(id="c", created=1, model="m", choices=[ChunkChoice(delta=Delta(content="x"))])
    assert chunk.model_dump()["choices"][0]["delta"] == {"content": "x"}
    assert ChunkChoice(delta=Delta(), finish_reason="stop").model_dump()["delta"] == {}
