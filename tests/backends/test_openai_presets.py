"""Each preset sends only what its server reads, under the server's own names."""

import pytest

from playground.backends.base import ChatRequest, GenerationParams, Message
from playground.backends.openai_presets import PRESETS, wire_request


def _wire(preset: str, model: str = "m", stream: bool = True, **params):
    request = ChatRequest(messages=(Message("user", "hi"),), params=GenerationParams(**params), stream=stream)
    return wire_request(PRESETS[preset], model, request)


def test_openai_sends_max_completion_tokens_and_drops_sampling_for_reasoning_models():
    chat = _wire("openai", "gpt-4o-mini", max_tokens=64, temperature=0.5)
    reasoning = _wire("openai", "o3-mini", max_tokens=64, temperature=0.5, top_p=0.9)
    assert chat.body == {"max_completion_tokens": 64, "temperature": 0.5} and chat.ignored == ()
    assert reasoning.body == {"max_completion_tokens": 64}
    assert set(reasoning.ignored) == {"temperature", "top_p"}


def test_openai_thinking_levels_become_reasoning_effort_and_off_needs_a_model_that_has_none():
    assert _wire("openai", "gpt-5", thinking="low").extra_body == {"reasoning_effort": "low"}
    off_new = _wire("openai", "gpt-5.1", thinking="off", temperature=0.2)
    off_old = _wire("openai", "gpt-5", thinking="off")
    assert off_new.extra_body == {"reasoning_effort": "none"} and off_new.body == {"temperature": 0.2}
    assert off_old.ignored == ("thinking",) and off_old.extra_body == {}


def test_deepseek_thinking_switch_effort_and_what_thinking_mode_ignores():
    off = _wire("deepseek", "deepseek-flash", thinking="off", temperature=0.7, seed=3)
    high = _wire("deepseek", "deepseek-v4-pro", thinking="medium", temperature=0.7)
    assert off.extra_body == {"thinking": {"type": "disabled"}} and off.body == {"temperature": 0.7}
    assert off.ignored == ("seed",)  # not in DeepSeek's API
    assert high.extra_body == {"thinking": {"type": "enabled"}, "reasoning_effort": "high"}
    assert high.ignored == ("temperature",)  # no effect in thinking mode


@pytest.mark.parametrize("preset", ["dashscope", "dashscope-intl"])
def test_dashscope_thinking_is_stream_only_and_off_is_sent_for_non_stream(preset):
    assert _wire(preset, stream=True, thinking="on").extra_body == {"enable_thinking": True}
    assert _wire(preset, stream=True).extra_body == {}
    assert _wire(preset, stream=False).extra_body == {"enable_thinking": False}
    refused = _wire(preset, stream=False, thinking="on")
    assert refused.ignored == ("thinking",) and refused.extra_body == {}


def test_vllm_thinking_goes_through_the_chat_template_and_extras_in_extra_body():
    wire = _wire("vllm", thinking="off", top_k=5, min_p=0.1, repetition_penalty=1.1)
    assert wire.extra_body == {
        "top_k": 5,
        "min_p": 0.1,
        "repetition_penalty": 1.1,
        "chat_template_kwargs": {"enable_thinking": False},
    }


def test_llamacpp_reads_repeat_penalty_not_repetition_penalty():
    wire = _wire("llamacpp", repetition_penalty=1.2, top_k=7, min_p=0.05, seed=1, thinking="on")
    assert wire.extra_body == {"repeat_penalty": 1.2, "top_k": 7, "min_p": 0.05}
    assert wire.body == {"seed": 1}
    assert wire.ignored == ("thinking",)


def test_a_server_that_reads_no_extras_gets_none_and_says_so():
    wire = _wire("transformers-serve", top_k=5, repetition_penalty=1.1, min_p=0.1, max_tokens=8)
    assert wire.body == {"max_tokens": 8} and wire.extra_body == {}
    assert set(wire.ignored) == {"top_k", "repetition_penalty", "min_p"}


def test_the_playgrounds_own_server_reads_the_extras_and_the_thinking_switch_under_vllms_names():
    wire = _wire("playground", top_k=5, repetition_penalty=1.1, min_p=0.1, max_tokens=8, seed=2, thinking="off")
    assert PRESETS["playground"].base_url == "http://127.0.0.1:8000/v1" and PRESETS["playground"].api_key_env is None
    assert wire.body == {"max_tokens": 8, "seed": 2} and wire.ignored == ()
    assert wire.extra_body == {
        "top_k": 5,
        "repetition_penalty": 1.1,
        "min_p": 0.1,
        "chat_template_kwargs": {"enable_thinking": False},
    }


def test_a_chat_model_gets_no_reasoning_effort_and_the_setting_is_reported_ignored():
    wire = _wire("openai", "gpt-4o", thinking="low")
    assert wire.extra_body == {} and wire.ignored == ("thinking",)


def test_extra_params_keep_the_servers_own_name_for_a_parameter():
    from playground.backends.openai_compatible import OpenAIOptions

    endpoint = OpenAIOptions(preset="llamacpp", extra_params=["top_k", "repetition_penalty"]).resolved()
    request = ChatRequest(messages=(Message("user", "hi"),), params=GenerationParams(repetition_penalty=1.2, min_p=0.1))
    wire = wire_request(endpoint, "m", request)
    assert wire.extra_body == {"repeat_penalty": 1.2} and wire.ignored == ("min_p",)


def test_a_refused_field_is_named_by_the_pane_setting_behind_it():
    from playground.backends.openai_presets import pane_name_of

    assert pane_name_of(PRESETS["llamacpp"], "repeat_penalty") == "repetition_penalty"
    assert pane_name_of(PRESETS["openai"], "max_completion_tokens") == "max_tokens"
    assert pane_name_of(PRESETS["dashscope"], "enable_thinking") == "thinking"
