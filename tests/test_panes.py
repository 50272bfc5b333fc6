"""Panes: a configured backend plus the pane's own settings; requests built the same way everywhere."""

import pytest

from playground.backends.base import GenerationParams, Message
from playground.errors import InputError
from playground.panes import MAX_PROMPT_CHARS, check_prompt


def _pane(make_pane, **settings):
    return make_pane(name="p", backend="ollama", model="m", host="http://127.0.0.1:9", **settings)


@pytest.mark.parametrize(("prompt", "words"), [("", "empty"), ("  \n", "empty"), ("x" * (MAX_PROMPT_CHARS + 1), "at most")])
def test_empty_and_oversized_prompts_are_refused_with_a_message(prompt, words):
    with pytest.raises(InputError, match=words):
        check_prompt(prompt)


def test_a_request_carries_system_history_prompt_mode_and_params(make_pane):
    pane = _pane(make_pane, system="Be brief.", mode="non-stream", params={"temperature": 0.3})
    history = [Message("system", "old system"), Message("user", "q1"), Message("assistant", "a1")]
    request = pane.build_request("q2", history)
    assert [m.as_dict() for m in request.messages] == [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"},
        {"role": "user", "content": "q2"},
    ]
    assert request.mode == "non-stream" and request.params.temperature == 0.3
    overridden = pane.build_request("q", mode="stream", params=GenerationParams(seed=1), system="")
    assert overridden.mode == "stream" and overridden.params.seed == 1 and overridden.messages[0].role == "user"


def test_only_a_panes_first_run_is_its_warmup(make_pane):
    pane = _pane(make_pane)
    assert [pane.next_run_is_warmup() for _ in range(3)] == [True, False, False]
