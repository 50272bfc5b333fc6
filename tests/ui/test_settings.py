import gradio as gr
import pytest

from playground.backends.base import GenerationParams
from playground.errors import InputError
from playground.ui.settings import PARAM_FIELDS, SETTING_FIELDS, UNSET, build_controls, parse_settings, setting_values


def _controls(make_pane, **params):
    pane = make_pane(name="a", backend="openai", model="m", base_url="http://127.0.0.1:9/v1", params=params)
    with gr.Blocks():
        return build_controls(pane, 0)


def test_every_generation_parameter_has_a_control_in_the_models_field_order(make_pane):
    shown = [c.elem_id.removeprefix("pane-0-") for c in _controls(make_pane).inputs()]
    assert shown == ["model", *GenerationParams.model_fields, "system", "stream"]
    assert {"min_p", "thinking"} <= set(shown)


def test_unset_parameters_look_unset(make_pane):
    controls = _controls(make_pane, temperature=0.7)
    numbers = {name: controls.components[name] for name in PARAM_FIELDS if name != "thinking"}
    assert all(isinstance(c, gr.Number) and c.placeholder == UNSET for c in numbers.values())
    assert {name: c.value for name, c in numbers.items() if c.value is not None} == {"temperature": 0.7}
    thinking = controls.components["thinking"]
    assert isinstance(thinking, gr.Dropdown) and thinking.value == UNSET
    assert [value for _label, value in thinking.choices] == [UNSET, "off", "on", "low", "medium", "high"]


def test_configured_values_show_and_integers_stay_integers(make_pane):
    controls = _controls(make_pane, top_k=20, seed=1, thinking="low")
    assert (controls.components["top_k"].precision, controls.components["min_p"].precision) == (0, None)
    assert (controls.components["top_k"].value, controls.components["thinking"].value) == (20, "low")


def test_settings_round_trip_and_unset_values_stay_unset():
    params = GenerationParams(top_k=40, repetition_penalty=1.05, min_p=0.05, thinking="high")
    values = setting_values("m", params, "be brief", stream=False)
    assert values[SETTING_FIELDS.index("seed")] is None and values[SETTING_FIELDS.index("thinking")] == "high"
    settings = parse_settings("a", values)
    assert (settings.model, settings.params, settings.system, settings.mode) == ("m", params, "be brief", "non-stream")
    unset = setting_values("m", GenerationParams(), None, stream=True)
    unset[SETTING_FIELDS.index("top_k")] = 40.0  # a number box sends floats
    assert parse_settings("a", unset).params == GenerationParams(top_k=40)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [("min_p", 1.5, "a: min_p: Input should be less than or equal to 1"), ("thinking", "max", "a: thinking: Input should be")],
)
def test_bad_values_are_refused_naming_the_pane_and_the_field(field, value, message):
    values = setting_values("m", GenerationParams(), None, stream=True)
    values[SETTING_FIELDS.index(field)] = value
    with pytest.raises(InputError, match=message):
        parse_settings("a", values)
